# METADATA
# title: FEP 5.21.100 Besponsa, written by hand
# description: >-
#   The yardstick of benchmark G1: the decision of FEP Prescription Drugs policy 5.21.100
#   (Besponsa, effective 2026-04-01) written directly in Rego from the policy document and
#   docs/semantics.md, without the generator or its library. It returns the decision document
#   the generated module returns for a request whose envelope the router has accepted
#   (bench/test_reference.py proves it over the golden record).
package bench.reference.besponsa

# --- reading the request -------------------------------------------------------------------
# A fact is absent when it or an object on the way to it is missing or null (unknown); it is
# invalid when something on the way is present but not an object. `_absent(parent, key)`
# holds for the first; a parent that is not an object makes every test below invalid.

_absent(null, _)

_absent(parent, key) if {
	is_object(parent)
	object.get(parent, key, null) == null
}

_patient := object.get(input, "patient", null)

_biomarkers := object.get(input, "biomarkers", null)

_prescriber := object.get(input, "prescriber", null)

# null stays null (absent); anything else that is not an object stays as it is (invalid)
_attestations := object.get(_prescriber, "attestations", null) if {
	is_object(_prescriber)
} else := _prescriber

_clinical := object.get(input, "clinical_status", null)

# --- dates -------------------------------------------------------------------------------------

# [y, m, d] of a real date YYYY-MM-DD in 1900..2199 (undefined otherwise).
_date(s) := [y, m, d] if {
	is_string(s)
	[y, m, d] := time.date(time.parse_ns("2006-01-02", s))
	y >= 1900
	y <= 2199
}

_service := _date(input.date_of_service)

# Whole years from birth to the date of service; the birthday counts from its own day.
_age := (_service[0] - birth[0]) - 1 if {
	birth := _date(_patient.birth_date)
	birth <= _service
	[_service[1], _service[2]] < [birth[1], birth[2]]
} else := _service[0] - birth[0] if {
	birth := _date(_patient.birth_date)
	birth <= _service
}

# A present, valid answer is looked up; only the others need `_absent` to tell unknown from
# invalid.
age_1_or_older := "met" if {
	_age >= 1
} else := "unmet" if {
	_age < 1
} else := "unknown" if {
	_absent(_patient, "birth_date")
} else := "invalid"

age_18_or_older := "met" if {
	_age >= 18
} else := "unmet" if {
	_age < 18
} else := "unknown" if {
	_absent(_patient, "birth_date")
} else := "invalid"

# --- biomarkers, attestations and clinical status (one answer each) ----------------------------

_marker := {"positive": "met", "negative": "unmet", "unknown": "unknown"}

ph_positive := _marker[_biomarkers.philadelphia_chromosome] if {
	is_string(_biomarkers.philadelphia_chromosome)
} else := "unknown" if {
	_absent(_biomarkers, "philadelphia_chromosome")
} else := "invalid"

_cd22 := _marker[_biomarkers.CD22] if {
	is_string(_biomarkers.CD22)
} else := "unknown" if {
	_absent(_biomarkers, "CD22")
} else := "invalid"

_agreed := {true: "met", false: "unmet"}

_not_found := {false: "met", true: "unmet"}

liver_tests_each_dose := _agreed[_attestations.liver_tests_each_dose] if {
	is_boolean(_attestations.liver_tests_each_dose)
} else := "unknown" if {
	_absent(_attestations, "liver_tests_each_dose")
} else := "invalid"

vod_monitoring := _agreed[_attestations.vod_monitoring] if {
	is_boolean(_attestations.vod_monitoring)
} else := "unknown" if {
	_absent(_attestations, "vod_monitoring")
} else := "invalid"

no_alkylating_hsct_conditioning := _agreed[_attestations.no_alkylating_hsct_conditioning] if {
	is_boolean(_attestations.no_alkylating_hsct_conditioning)
} else := "unknown" if {
	_absent(_attestations, "no_alkylating_hsct_conditioning")
} else := "invalid"

no_disease_progression := _not_found[_clinical.disease_progression] if {
	is_boolean(_clinical.disease_progression)
} else := "unknown" if {
	_absent(_clinical, "disease_progression")
} else := "invalid"

no_unacceptable_toxicity := _not_found[_clinical.unacceptable_toxicity] if {
	is_boolean(_clinical.unacceptable_toxicity)
} else := "unknown" if {
	_absent(_clinical, "unacceptable_toxicity")
} else := "invalid"

# --- the diagnosis: relapsed or refractory CD22-positive B-cell precursor ALL (ICD-10-CM C91.0)

_diagnoses := object.get(input, "diagnoses", null)

_code(entry) := "unknown" if {
	object.get(entry, "code", null) == null
} else := "met" if {
	startswith(upper(replace(replace(entry.code, ".", ""), " ", "")), "C910")
} else := "unmet" if {
	is_string(entry.code)
} else := "invalid"

_qualifier(entry, name, accepted) := "unknown" if {
	object.get(entry, name, null) == null
} else := "met" if {
	lower(entry[name]) in accepted
} else := "unmet" if {
	is_string(entry[name])
} else := "invalid"

_entry(entry) := "invalid" if {
	not is_object(entry)
} else := _all([
	_code(entry),
	_qualifier(entry, "lineage", {"b_cell_precursor"}),
	_qualifier(entry, "disease_status", {"relapsed", "refractory"}),
])

_disease := "unknown" if {
	_diagnoses == null
} else := _any([_entry(e) | some e in _diagnoses]) if {
	is_array(_diagnoses)
} else := "invalid"

diagnosis := _all([_disease, _cd22])

# --- prior therapies ---------------------------------------------------------------------------

_therapies := object.get(input, "prior_therapies", null)

# class and result, when given and not null, are strings.
_well_formed(t) if {
	is_object(t)
	is_string(t.agent)
	type_name(object.get(t, "class", null)) in {"null", "string"}
	type_name(object.get(t, "result", null)) in {"null", "string"}
}

_entries := [t | some t in _therapies; _well_formed(t)]

_malformed if {
	some t in _therapies
	not _well_formed(t)
}

_tkis := {"imatinib", "dasatinib", "nilotinib", "bosutinib", "ponatinib", "asciminib"}

_is_tki(t) if lower(t.agent) in _tkis

_is_tki(t) if t.class == "tyrosine_kinase_inhibitor"

# The agents that failed, and those whose result is not given (they may have failed).
_tki_failed := {lower(t.agent) | some t in _entries; _is_tki(t); t.result == "failed"}

_tki_open := {lower(t.agent) | some t in _entries; _is_tki(t); object.get(t, "result", null) == null}

_chemo_failed := {lower(t.agent) | some t in _entries; t.class == "standard_chemotherapy"; t.result == "failed"}

_chemo_open := {lower(t.agent) |
	some t in _entries
	t.class == "standard_chemotherapy"
	object.get(t, "result", null) == null
}

failed_tki := "unknown" if {
	_therapies == null
} else := "invalid" if {
	not is_array(_therapies)
} else := "met" if {
	count(_tki_failed) > 0
} else := "unknown" if {
	count(_tki_open) > 0
} else := "invalid" if {
	_malformed
} else := "unmet"

failed_standard_chemotherapy := "unknown" if {
	_therapies == null
} else := "invalid" if {
	not is_array(_therapies)
} else := "met" if {
	count(_chemo_failed) > 0
} else := "unknown" if {
	count(_chemo_open) > 0
} else := "invalid" if {
	_malformed
} else := "unmet"

# Age 18+ only: if Ph+, the patient must have failed a TKI and standard chemotherapy.
ph_positive_adult_prior_therapy := _when(
	_all([age_18_or_older, ph_positive]),
	_all([failed_tki, failed_standard_chemotherapy]),
)

no_progression_or_toxicity := _all([no_disease_progression, no_unacceptable_toxicity])

# --- three-valued logic ----------------------------------------------------------------------

_all(xs) := "unmet" if {
	"unmet" in xs
} else := "invalid" if {
	"invalid" in xs
} else := "unknown" if {
	"unknown" in xs
} else := "met"

_any(xs) := "met" if {
	"met" in xs
} else := "unknown" if {
	"unknown" in xs
} else := "invalid" if {
	"invalid" in xs
} else := "unmet"

_when("met", then) := then

_when("unmet", _) := "met"

_when("invalid", _) := "invalid"

_when("unknown", then) := "met" if {
	then == "met"
} else := "unknown"

# --- the decision ----------------------------------------------------------------------------

_texts := {
	"age_1_or_older": "Age 1 year of age or older",
	"diagnosis": "Relapsed or refractory CD22-positive B-cell precursor acute lymphoblastic leukemia (ALL)",
	"ph_positive_adult_prior_therapy": "Age 18+ only: if Philadelphia chromosome-positive (Ph+), patient must have failed treatment with at least ONE tyrosine kinase inhibitor and standard chemotherapy",
	"age_18_or_older": "Age 18+",
	"ph_positive": "Philadelphia chromosome-positive (Ph+)",
	"failed_tki": "patient must have failed treatment with at least ONE tyrosine kinase inhibitor",
	"failed_standard_chemotherapy": "patient must have failed treatment with standard chemotherapy",
	"liver_tests_each_dose": "Prescriber agrees to obtain ALT, AST, total bilirubin, and alkaline phosphatase prior to and following each dose of Besponsa",
	"vod_monitoring": "Prescriber agrees to monitor for signs and symptoms of hepatic veno-occlusive disease during treatment of Besponsa",
	"no_alkylating_hsct_conditioning": "Prescriber agrees NOT to add HSCT conditioning regimens containing alkylating agents",
	"no_progression_or_toxicity": "NO disease progression or unacceptable toxicities",
	"no_disease_progression": "NO disease progression",
	"no_unacceptable_toxicity": "NO unacceptable toxicities",
}

_fields := {
	"age_1_or_older": ["patient.birth_date"],
	"diagnosis": ["diagnoses", "biomarkers.CD22"],
	"age_18_or_older": ["patient.birth_date"],
	"ph_positive": ["biomarkers.philadelphia_chromosome"],
	"failed_tki": ["prior_therapies"],
	"failed_standard_chemotherapy": ["prior_therapies"],
	"liver_tests_each_dose": ["prescriber.attestations.liver_tests_each_dose"],
	"vod_monitoring": ["prescriber.attestations.vod_monitoring"],
	"no_alkylating_hsct_conditioning": ["prescriber.attestations.no_alkylating_hsct_conditioning"],
	"no_disease_progression": ["clinical_status.disease_progression"],
	"no_unacceptable_toxicity": ["clinical_status.unacceptable_toxicity"],
}

_initial := input.request_type == "initial"

# The statuses of the request's set, its criteria in the document's order, and its root.
_status := {
	"age_1_or_older": age_1_or_older,
	"diagnosis": diagnosis,
	"ph_positive_adult_prior_therapy": ph_positive_adult_prior_therapy,
	"age_18_or_older": age_18_or_older,
	"ph_positive": ph_positive,
	"failed_tki": failed_tki,
	"failed_standard_chemotherapy": failed_standard_chemotherapy,
	"liver_tests_each_dose": liver_tests_each_dose,
	"vod_monitoring": vod_monitoring,
	"no_alkylating_hsct_conditioning": no_alkylating_hsct_conditioning,
} if {
	_initial
} else := {
	"age_1_or_older": age_1_or_older,
	"diagnosis": diagnosis,
	"no_progression_or_toxicity": no_progression_or_toxicity,
	"no_disease_progression": no_disease_progression,
	"no_unacceptable_toxicity": no_unacceptable_toxicity,
	"liver_tests_each_dose": liver_tests_each_dose,
	"vod_monitoring": vod_monitoring,
	"no_alkylating_hsct_conditioning": no_alkylating_hsct_conditioning,
}

_order := [
	"age_1_or_older", "diagnosis", "ph_positive_adult_prior_therapy", "age_18_or_older", "ph_positive",
	"failed_tki", "failed_standard_chemotherapy", "liver_tests_each_dose", "vod_monitoring",
	"no_alkylating_hsct_conditioning",
] if {
	_initial
} else := [
	"age_1_or_older", "diagnosis", "no_progression_or_toxicity", "no_disease_progression",
	"no_unacceptable_toxicity", "liver_tests_each_dose", "vod_monitoring", "no_alkylating_hsct_conditioning",
]

_root := _all([
	age_1_or_older, diagnosis, ph_positive_adult_prior_therapy,
	liver_tests_each_dose, vod_monitoring, no_alkylating_hsct_conditioning,
]) if {
	_initial
} else := _all([
	age_1_or_older, diagnosis, no_progression_or_toxicity,
	liver_tests_each_dose, vod_monitoring, no_alkylating_hsct_conditioning,
])

# The criterion each non-root criterion hangs under; the two conditions of the Ph+ rule.
_under := {
	"failed_tki": "ph_positive_adult_prior_therapy",
	"failed_standard_chemotherapy": "ph_positive_adult_prior_therapy",
	"age_18_or_older": "ph_positive_adult_prior_therapy",
	"ph_positive": "ph_positive_adult_prior_therapy",
	"no_disease_progression": "no_progression_or_toxicity",
	"no_unacceptable_toxicity": "no_progression_or_toxicity",
}

_conditions := {"age_18_or_older", "ph_positive"}

_failing := {"unmet", "invalid"}

_reason := "criteria_met" if {
	_root == "met"
} else := "information_missing" if {
	_root == "unknown"
} else := "investigational" if {
	diagnosis in _failing
} else := "criteria_unmet"

_outcome := {
	"criteria_met": "approved",
	"information_missing": "pended",
	"criteria_unmet": "denied",
	"investigational": "denied",
}[_reason]

# Unmet: failing criteria under the failing root, not conditions, whose parent (if any) fails.
# An invalid one also names the request fields to correct.
_unmet := [object.union({"id": id, "text": _texts[id]}, _to_correct(id)) |
	some id in _order
	_status[id] in _failing
	not id in _conditions
	object.get(_status, object.get(_under, id, ""), "unmet") in _failing
] if {
	_root in _failing
} else := []

# The criteria each composite is decided from (its conditions included).
_children := {
	"ph_positive_adult_prior_therapy": ["age_18_or_older", "ph_positive", "failed_tki", "failed_standard_chemotherapy"],
	"no_progression_or_toxicity": ["no_disease_progression", "no_unacceptable_toxicity"],
}

# An invalid criterion's fields: a leaf's own; a composite's, those of its invalid children
# (every composite of 5.21.100 is one level above its leaves). A criterion not invalid: none.
_to_correct(id) := {"fields": sort(_fields[id])} if {
	_status[id] == "invalid"
	not _children[id]
} else := {"fields": sort({f | some c in _children[id]; _status[c] == "invalid"; some f in _fields[c]})} if {
	_status[id] == "invalid"
} else := {}

# Missing: a pend only (a denial asks for nothing); unknown leaves whose parent (if any) is
# unknown too, since an answer under a met or failing criterion changes nothing.
_missing := [{"id": id, "text": _texts[id], "fields": _fields[id]} |
	some id in _order
	_status[id] == "unknown"
	_fields[id]
	object.get(_status, object.get(_under, id, ""), "unknown") == "unknown"
] if {
	_root == "unknown"
} else := []

_investigational := [{
	"id": "investigational",
	"text": "Besponsa may be considered investigational for all other indications.",
}] if {
	_reason == "investigational"
} else := []

# The date of service plus calendar months, the day clamped to the end of a shorter month.
_end(months) := sprintf("%04d-%02d-%02d", [y, m, min([_service[2], _month_days(y, m)])]) if {
	total := (((_service[0] * 12) + _service[1]) + months) - 1
	y := floor(total / 12)
	m := (total % 12) + 1
}

_month_days(y, 2) := 29 if {
	y % 4 == 0
	y % 100 != 0
} else := 29 if {
	y % 400 == 0
} else := 28

_month_days(_, m) := 30 if m in {4, 6, 9, 11}

_month_days(_, m) := 31 if m in {1, 3, 5, 7, 8, 10, 12}

_title := "Prior-Approval Requirements" if _initial

else := "Prior – Approval Renewal Requirements"

_months := 3 if _initial

else := 6

_approval := {"approval": {"start": input.date_of_service, "end": _end(_months), "duration_months": _months}} if {
	_reason == "criteria_met"
} else := {}

_request_id := {"request_id": input.request_id} if {
	is_string(input.request_id)
	count(input.request_id) <= 128
} else := {}

_shown := {"met": "met", "unmet": "unmet", "unknown": "unknown", "invalid": "unmet"}

# METADATA
# entrypoint: true
decision := object.union_n([
	{
		"outcome": _outcome,
		"reason": _reason,
		"request_type": input.request_type,
		"policy": {
			"id": "fep-5.21.100",
			"number": "5.21.100",
			"title": "Besponsa",
			"effective_date": "2026-04-01",
			"version": "sha256:11e574be431d45e3",
		},
		"requirements": _title,
		"criteria": {id: _shown[s] | some id, s in _status},
		"met": [id | some id in _order; _status[id] == "met"],
		"unmet": array.concat(_investigational, _unmet),
		"missing": _missing,
	},
	_approval,
	_request_id,
])
