# METADATA
# title: rxrego shared library
# description: >-
#   The decision semantics every generated policy shares (docs/semantics.md): criterion
#   statuses, the combinators, one reader per kind of fact, date arithmetic, and the
#   assembly of the decision document.
package rxrego.lib

# --- statuses -------------------------------------------------------------------------
# A criterion is "met", "unmet" or "unknown"; "invalid" marks a fact of the wrong type or
# shape. Invalid is never met and is shown as unmet; unlike unmet, an invalid condition
# does not switch its requirement off.

failing("unmet")

failing("invalid")

# --- combinators ----------------------------------------------------------------------

all_of(statuses) := "unmet" if {
	"unmet" in statuses
} else := "invalid" if {
	"invalid" in statuses
} else := "unknown" if {
	"unknown" in statuses
} else := "met"

at_least(n, statuses) := "met" if {
	count([s | some s in statuses; s == "met"]) >= n
} else := "unknown" if {
	count([s | some s in statuses; s in {"met", "unknown"}]) >= n
} else := "invalid" if {
	"invalid" in statuses
} else := "unmet"

# any_of is at_least(1, statuses), written out: the most common combinator, and a call less.
any_of(statuses) := "met" if {
	"met" in statuses
} else := "unknown" if {
	"unknown" in statuses
} else := "invalid" if {
	"invalid" in statuses
} else := "unmet"

# when(condition, requirement): met when the condition is definitely false.
when(condition, requirement) := _when(all_of(condition), all_of(requirement))

_when("met", requirement) := requirement

_when("unmet", _) := "met"

_when("invalid", _) := "invalid"

_when("unknown", "met") := "met"

_when("unknown", requirement) := "unknown" if requirement != "met"

# --- reading facts --------------------------------------------------------------------

# fact(request, path) is {"state": "absent" | "invalid" | "present", "value": ...}: a
# missing key or null is absent; a non-object on the way to the value is invalid.
# A present value is found with one lookup; only a missing one needs the walk that tells
# "absent" from "invalid".
fact(request, path) := {"state": "present", "value": value} if {
	value := object.get(request, path, null)
	value != null
} else := {"state": "invalid"} if {
	count(path) > 1
	some i in numbers.range(1, count(path) - 1)
	parent := object.get(request, array.slice(path, 0, i), null)
	parent != null
	not is_object(parent)
} else := {"state": "absent"}

# facts(request, paths) is {name: fact(request, path) | some name, path in paths}: a present
# value (the common case) is read with one lookup and no function call.
facts(request, paths) := object.union(
	{name: {"state": "present", "value": value} |
		some name, path in paths
		value := object.get(request, path, null)
		value != null
	},
	{name: fact(request, path) | some name, path in paths; object.get(request, path, null) == null},
)

# --- dates ----------------------------------------------------------------------------

# date_parts(s) is [year, month, day] for a real calendar date YYYY-MM-DD in 1900..2199.
# Go's parser with the layout 2006-01-02 wants exactly four, two and two digits and a real
# day of the month, so one call both validates and splits.
date_parts(s) := [y, m, d] if {
	is_string(s)
	[y, m, d] := time.date(time.parse_ns("2006-01-02", s))
	y >= 1900
	y <= 2199
}

valid_date(s) if date_parts(s)

days_in_month(y, 2) := 29 if _leap(y)

days_in_month(y, 2) := 28 if not _leap(y)

days_in_month(_, m) := 30 if m in {4, 6, 9, 11}

days_in_month(_, m) := 31 if m in {1, 3, 5, 7, 8, 10, 12}

_leap(y) if {
	y % 4 == 0
	y % 100 != 0
}

_leap(y) if y % 400 == 0

# add_months("2026-11-30", 3) == "2027-02-28": calendar months, clamped to the month's end.
add_months(date, months) := sprintf("%04d-%02d-%02d", [y, m, d]) if {
	[y0, m0, d0] := date_parts(date)
	total := (((y0 * 12) + m0) - 1) + months
	y := floor(total / 12)
	m := (total % 12) + 1
	d := min([d0, days_in_month(y, m)])
}

days_between(earlier, later) := (_ns(later) - _ns(earlier)) / 86400000000000

_ns(date) := time.parse_ns("2006-01-02", date)

# age_years(birth, on): whole years from date_parts `birth` to date_parts `on`; the birthday
# counts from its own day (less one year while (month, day) of `on` is before the birthday's).
age_years(birth, on) := (on[0] - birth[0]) - to_number([on[1], on[2]] < [birth[1], birth[2]])

# --- tests: one function per kind of leaf criterion -----------------------------------
# Each takes the facts it reads (see `fact`), which a policy reads once per request, and
# returns a status for any value; none is ever undefined.

# service: date_parts of the date of service, or null when it is not a valid date.
age(birth, service, min_years, max_years) := "unknown" if {
	birth.state == "absent"
} else := _in_range(age_years(parts, service), min_years, max_years) if {
	is_array(service)
	parts := date_parts(birth.value)
	parts <= service
} else := "invalid"

# service_date(request): date_parts of the request's date of service, or null.
service_date(request) := parts if {
	parts := date_parts(request.date_of_service)
} else := null

# _in_range(x, low, high): low <= x <= high, a null bound being no bound (`x < null` never
# holds: null sorts before every number).
_in_range(x, low, high) := "unmet" if {
	x < low
} else := "met" if {
	high == null
} else := "met" if {
	x <= high
} else := "unmet"

biomarker(result, accepted) := "unknown" if {
	result.state == "absent"
} else := "unknown" if {
	result.value == "unknown"
} else := "met" if {
	result.value in {"positive", "negative"}
	result.value in accepted
} else := "unmet" if {
	result.value in {"positive", "negative"}
} else := "invalid"

# biomarkers: the statuses of the biomarkers the diagnosis names (each a `biomarker` test).
diagnosis(entries, prefixes, qualifiers, biomarkers) := all_of(array.concat(
	[_diagnoses(entries, prefixes, qualifiers)],
	biomarkers,
))

_diagnoses(entries, prefixes, qualifiers) := "unknown" if {
	entries.state == "absent"
} else := any_of([_diagnosis_entry(entry, prefixes, qualifiers) | some entry in entries.value]) if {
	is_array(entries.value)
} else := "invalid"

_diagnosis_entry(entry, prefixes, qualifiers) := all_of(array.concat(
	[_code(entry, prefixes)],
	[_qualifier(entry, name, accepted) | some name, accepted in qualifiers],
)) if {
	is_object(entry)
} else := "invalid"

_code(entry, prefixes) := "unknown" if {
	object.get(entry, "code", null) == null
} else := "met" if {
	is_string(entry.code)
	code := upper(replace(replace(entry.code, ".", ""), " ", ""))

	# The generator writes the prefixes already normalised.
	some prefix in prefixes
	startswith(code, prefix)
} else := "unmet" if {
	is_string(entry.code)
} else := "invalid"

_qualifier(entry, name, accepted) := "unknown" if {
	object.get(entry, name, null) == null
} else := "met" if {
	is_string(entry[name])
	lower(entry[name]) in accepted
} else := "unmet" if {
	is_string(entry[name])
} else := "invalid"

# value_set is {"agents": {lower-case names}, "classes": {class names}}. The well-formed
# entries of the value set are found once.
prior_therapy(entries, value_set, results, n) := "unknown" if {
	entries.state == "absent"
} else := _therapy_count(entries.value, matching, results, n) if {
	is_array(entries.value)
	matching := [e | some e in entries.value; _well_formed_therapy(e); _in_value_set(e, value_set)]
} else := "invalid"

# Distinct agents: those with a listed result count; those with none (absent or null) may.
_therapy_count(entries, matching, results, n) := "met" if {
	count({lower(e.agent) | some e in matching; e.result in results}) >= n
} else := "unknown" if {
	count({lower(e.agent) | some e in matching; object.get(e, "result", null) in (results | {null})}) >= n
} else := "invalid" if {
	some e in entries
	not _well_formed_therapy(e)
} else := "unmet"

# class and result, when present and not null, are strings.
_well_formed_therapy(entry) if {
	is_object(entry)
	is_string(entry.agent)
	type_name(object.get(entry, "class", null)) in {"null", "string"}
	type_name(object.get(entry, "result", null)) in {"null", "string"}
}

_in_value_set(entry, value_set) if lower(entry.agent) in value_set.agents

_in_value_set(entry, value_set) if entry.class in value_set.classes

concurrent_therapy_excluded(entries, value_set) := "unknown" if {
	entries.state == "absent"
} else := "unmet" if {
	is_array(entries.value)
	some entry in entries.value
	_well_formed_concurrent(entry)
	_in_value_set(entry, value_set)
} else := "met" if {
	is_array(entries.value)
	every entry in entries.value {
		_well_formed_concurrent(entry)
	}
} else := "invalid"

# A concurrent therapy has no result: only its agent and class are read.
_well_formed_concurrent(entry) if {
	is_object(entry)
	is_string(entry.agent)
	type_name(object.get(entry, "class", null)) in {"null", "string"}
}

# attestation and clinical_status: a boolean, `true` or `required` being met.
attestation(answer) := "unknown" if {
	answer.state == "absent"
} else := "met" if {
	answer.value == true
} else := "unmet" if {
	answer.value == false
} else := "invalid"

clinical_status(finding, required) := "unknown" if {
	finding.state == "absent"
} else := "met" if {
	finding.value == required
} else := "unmet" if {
	is_boolean(finding.value)
} else := "invalid"

prescriber_specialty(specialty, accepted) := "unknown" if {
	specialty.state == "absent"
} else := "met" if {
	is_string(specialty.value)
	lower(specialty.value) in accepted
} else := "unmet" if {
	is_string(specialty.value)
} else := "invalid"

# Invalid parts win over absent ones: a malformed quantity is never merely "unknown".
quantity_limit(units_fact, days_fact, max_units, per_days) := "invalid" if {
	not _usable_units(units_fact)
	units_fact.state != "absent"
} else := "invalid" if {
	not _usable_days(days_fact)
	days_fact.state != "absent"
} else := "unknown" if {
	"absent" in {units_fact.state, days_fact.state}
} else := "met" if {
	units_fact.value * per_days <= max_units * days_fact.value
} else := "unmet"

_usable_units(f) if {
	is_number(f.value)
	f.value >= 0
}

_usable_days(f) if {
	is_number(f.value)
	f.value >= 1
	f.value == floor(f.value)
}

# on: the date of service as given (the envelope made it a valid date before any policy
# runs; anything else leaves no result usable).
lab(labs, on, test) := "unknown" if {
	labs.state == "absent"
} else := _lab_results(on, test, [r |
	some r in labs.value
	is_object(r)
	is_string(r.name)
	lower(r.name) == lower(test.name)
]) if {
	is_array(labs.value)
} else := "invalid"

_lab_results(on, test, results) := "unmet" if {
	count(results) == 0
} else := all_of([_lab_compare(r, test, on) | some r in latest]) if {
	usable := [r | some r in results; _usable_lab(r, test, on)]
	count(usable) > 0
	newest := max({r.date | some r in usable})
	latest := [r | some r in usable; r.date == newest]
} else := "invalid"

_usable_lab(result, test, on) if {
	is_number(result.value)
	is_string(result.unit)
	lower(result.unit) == lower(test.unit)
	valid_date(result.date)
	is_string(on)
	result.date <= on
}

_lab_compare(result, test, on) := "met" if {
	_compare(result.value, test.comparison, test.value)
	_recent(result.date, on, test.within_days)
} else := "unmet"

_compare(x, "<", y) if x < y

_compare(x, "<=", y) if x <= y

_compare(x, ">", y) if x > y

_compare(x, ">=", y) if x >= y

_compare(x, "==", y) if x == y

_recent(_, _, null)

_recent(date, on, days) if days_between(date, on) <= days

# --- the decision ---------------------------------------------------------------------

# decide assembles a policy's decision document (docs/semantics.md, "The decision").
# request: the input (its request_type names the set); policy: the policy block;
# coverage: {"indication", "investigational"} (either null when the policy has none: a
#   failing root is then never investigational); texts: {id: the policy's wording};
# set: {"title", "duration_months"} and the set's root ({"all_of": ids}, {"any_of": ids} or
#   {"at_least": n, "of": ids}); statuses: {id: status} for the set's criteria and the
#   indication; derived: {"order": {set: ids in policy order}, "requires": {id: ids},
#   "conditions": {id: ids}, "fields": {leaf id: request fields}} (a policy's derived.rego).
decide(request, policy, coverage, texts, set, statuses, derived) := object.union_n([
	{
		"outcome": outcome,
		"reason": reason,
		"request_type": request.request_type,
		"policy": policy,
		"requirements": set.title,
		"criteria": {id: _shown[statuses[id]] | some id in order},
		"met": [id | some id in order; statuses[id] == "met"],
		"unmet": array.concat(_investigational(reason, coverage), _unmet(root, set, order, statuses, texts, derived)),
		"missing": _missing(root, set, order, statuses, texts, derived),
	},
	_approval(reason, request.date_of_service, set.duration_months),
	request_id(request),
]) if {
	order := derived.order[request.request_type]
	root := root_status(set, statuses)
	reason := _reason(root, object.get(statuses, coverage.indication, "met"))
	outcome := _outcomes[reason]
}

# root_status(set, statuses): the status of a requirement set's root (see decide).
root_status(set, statuses) := all_of([statuses[id] | some id in set.all_of]) if {
	set.all_of
} else := any_of([statuses[id] | some id in set.any_of]) if {
	set.any_of
} else := at_least(set.at_least, [statuses[id] | some id in set.of])

_root_children(set) := object.get(set, "all_of", object.get(set, "any_of", object.get(set, "of", [])))

# Unmet: criteria reachable from the root through failing criteria, never through a
# condition (a condition that does not hold is not a reason to deny). A root that is not
# failing has nothing unmet: the walk is skipped.
_unmet(root, set, order, statuses, texts, derived) := [] if {
	not root in {"unmet", "invalid"}
} else := [{"id": id, "text": texts[id]} | some id in order; id in reached] if {
	reached := graph.reachable(
		object.union(
			{id: [child | some child in object.get(derived.requires, id, []); statuses[child] in {"unmet", "invalid"}] |
				some id in order
				statuses[id] in {"unmet", "invalid"}
			},
			{"$root": [child | some child in _root_children(set); statuses[child] in {"unmet", "invalid"}]},
		),
		["$root"],
	)
}

# Missing: unknown leaves reachable from the root through criteria that are not met,
# conditions included (an unknown condition is information to ask for). A met root has
# nothing missing: the walk is skipped.
_missing(root, set, order, statuses, texts, derived) := [] if {
	root == "met"
} else := [{"id": id, "text": texts[id], "fields": derived.fields[id]} |
	some id in order
	id in reached
	statuses[id] == "unknown"
	derived.fields[id]
] if {
	reached := graph.reachable(
		object.union(
			{id: [child |
				some child in array.concat(object.get(derived.requires, id, []), object.get(derived.conditions, id, []))
				statuses[child] != "met"
			] |
				some id in order
				statuses[id] != "met"
			},
			{"$root": [child | some child in _root_children(set); statuses[child] != "met"]},
		),
		["$root"],
	)
}

# How each status is shown to callers (invalid as unmet): a lookup, cheaper than a
# function call per criterion.
_shown := {"met": "met", "unmet": "unmet", "unknown": "unknown", "invalid": "unmet"}

_outcomes := {
	"criteria_met": "approved",
	"information_missing": "pended",
	"criteria_unmet": "denied",
	"investigational": "denied",
}

# The root is met, unknown or failing (unmet or invalid); so is the indication.
_reason(root, indication) := "criteria_met" if {
	root == "met"
} else := "information_missing" if {
	root == "unknown"
} else := "investigational" if {
	indication in {"unmet", "invalid"}
} else := "criteria_unmet"

_investigational("investigational", coverage) := [{"id": "investigational", "text": coverage.investigational}]

_investigational(reason, _) := [] if reason != "investigational"

_approval("criteria_met", start, months) := {"approval": {
	"start": start,
	"end": add_months(start, months),
	"duration_months": months,
}}

_approval(reason, _, _) := {} if reason != "criteria_met"

request_id(request) := {"request_id": request.request_id} if {
	is_string(request.request_id)
} else := {}

# --- indications (docs/semantics.md, "Indications") ---------------------------------------

# indication(request, set): which of a requirement set's indications decides the request:
# {"id": id} (named by the request, or the one its diagnosis codes select), {"gate": status}
# when no indication's codes match ("unknown", "unmet" or "invalid"), or {"invalid": message}
# when the request names no indication of the set or its codes match several.
# set.indications: {id: {"heading", "diagnosis", "codes": [normalised ICD-10-CM prefixes],
# "all_of": [the indication's root: common criteria, its diagnosis, its own], "duration"}}.
indication(request, set) := {"invalid": message} if {
	named := object.get(request, "indication", null)
	named != null
	not set.indications[named]
	message := sprintf(
		"not an indication of these requirements; expected one of: %s",
		[concat(", ", sort(object.keys(set.indications)))],
	)
} else := {"id": request.indication} if {
	object.get(request, "indication", null) != null
} else := _by_diagnosis(request, sort([id | some id, ind in set.indications; _codes_match(request, ind.codes)]))

_by_diagnosis(request, found) := {"invalid": sprintf("the diagnoses match several indications (%s): name one", [concat(", ", found)])} if {
	count(found) > 1
} else := {"id": found[0]} if {
	count(found) == 1
} else := {"gate": indication_gate(object.get(request, "diagnoses", null))}

_codes_match(request, prefixes) if {
	is_array(request.diagnoses)
	some entry in request.diagnoses
	is_object(entry)
	is_string(entry.code)
	code := upper(replace(replace(entry.code, ".", ""), " ", ""))
	some prefix in prefixes
	startswith(code, prefix)
}

# indication_gate(diagnoses): the gate's status when no indication's codes match: unknown
# (no diagnoses, or an entry without a code), invalid (not a list, or a malformed entry),
# else unmet.
indication_gate(null) := "unknown"

indication_gate(diagnoses) := "invalid" if {
	diagnoses != null
	not is_array(diagnoses)
} else := "unknown" if {
	some entry in diagnoses
	is_object(entry)
	object.get(entry, "code", null) == null
} else := "invalid" if {
	some entry in diagnoses
	not _coded(entry)
} else := "unmet" if diagnoses != null

_coded(entry) if {
	is_object(entry)
	is_string(entry.code)
}

# decide_indicated assembles the decision of a policy written with indications.
# choice: indication(request, set); statuses: {id: status} of the chosen indication's
# criteria, and order: those ids in policy order; coverage: {"other_indications": {"outcome",
# "statement"?}}; derived as for decide.
decide_indicated(request, policy, coverage, texts, set, choice, statuses, order, derived) := object.union(
	{"outcome": "invalid_request", "reason": "invalid_request", "errors": [{"field": "indication", "message": choice.invalid}]},
	request_id(request),
) if {
	choice.invalid
} else := object.union_n([
	_indicated_base(request, policy, set),
	_gate_outcome(choice.gate, coverage, set),
	request_id(request),
]) if {
	choice.gate
} else := object.union_n([
	_indicated_base(request, policy, set),
	{
		"indication": {"id": choice.id, "heading": ind.heading},
		"criteria": {id: _shown[statuses[id]] | some id in order},
		"met": [id | some id in order; statuses[id] == "met"],
	},
	_indicated_outcome(all_of([statuses[id] | some id in ind.all_of]), request, ind, statuses, order, texts, derived),
	request_id(request),
]) if {
	ind := set.indications[choice.id]
}

_indicated_base(request, policy, set) := {
	"request_type": request.request_type,
	"policy": policy,
	"requirements": set.title,
	"criteria": {},
	"met": [],
	"unmet": [],
	"missing": [],
}

_headings(set) := concat("; ", [set.indications[id].heading | some id in sort(object.keys(set.indications))])

_gate_outcome("unknown", _, set) := {
	"outcome": "pended",
	"reason": "information_missing",
	"missing": [{
		"id": "indication",
		"text": sprintf("The diagnosis, to tell which of the policy's indications the request is for: %s", [_headings(set)]),
		"fields": ["diagnoses"],
	}],
}

_gate_outcome("invalid", _, set) := {
	"outcome": "denied",
	"reason": "criteria_unmet",
	"unmet": [{"id": "indication", "text": _not_listed(set)}],
}

_gate_outcome("unmet", coverage, set) := _other_indication(
	coverage.other_indications.outcome,
	object.get(coverage.other_indications, "statement", _not_listed(set)),
)

_not_listed(set) := sprintf("The diagnosis is not one of the indications the policy covers: %s.", [_headings(set)])

_other_indication("investigational", text) := {
	"outcome": "denied",
	"reason": "investigational",
	"unmet": [{"id": "investigational", "text": text}],
}

_other_indication("not_covered", text) := {
	"outcome": "denied",
	"reason": "not_covered",
	"unmet": [{"id": "other_indications", "text": text}],
}

_other_indication("pend_for_review", text) := {
	"outcome": "pended",
	"reason": "other_indication_review",
	"review": text,
}

# A failing root: denied with the failing criteria (never through a condition) and nothing
# missing. An unknown root: pended with the unknown leaves reachable through unknown
# criteria only (an answer under a met or failing criterion changes nothing).
_indicated_outcome(root, _, ind, statuses, order, texts, derived) := {
	"outcome": "denied",
	"reason": "criteria_unmet",
	"unmet": [{"id": id, "text": texts[id]} | some id in order; id in reached],
} if {
	root in {"unmet", "invalid"}
	reached := graph.reachable(
		object.union(
			{id: [child | some child in object.get(derived.requires, id, []); statuses[child] in {"unmet", "invalid"}] |
				some id in order
				statuses[id] in {"unmet", "invalid"}
			},
			{"$root": [child | some child in ind.all_of; statuses[child] in {"unmet", "invalid"}]},
		),
		["$root"],
	)
}

_indicated_outcome("unknown", _, ind, statuses, order, texts, derived) := {
	"outcome": "pended",
	"reason": "information_missing",
	"missing": [{"id": id, "text": texts[id], "fields": derived.fields[id]} |
		some id in order
		id in reached
		derived.fields[id]
	],
} if {
	reached := graph.reachable(
		object.union(
			{id: [child |
				some child in array.concat(object.get(derived.requires, id, []), object.get(derived.conditions, id, []))
				statuses[child] == "unknown"
			] |
				some id in order
				statuses[id] == "unknown"
			},
			{"$root": [child | some child in ind.all_of; statuses[child] == "unknown"]},
		),
		["$root"],
	)
}

_indicated_outcome("met", request, ind, statuses, _, _, _) := approval(_duration(ind, statuses), request)

# The duration of the first branch whose criterion is met, else the indication's.
_duration(ind, statuses) := branches[0] if {
	branches := [w.duration | some w in ind.duration_when; statuses[w.criterion] == "met"]
	count(branches) > 0
} else := ind.duration

# --- durations (docs/semantics.md, "Durations") -------------------------------------------

# approval(duration, request): the approval of a met request, or, under a lifetime cap, the
# decision the cap gives. duration: {"months": n} or {"plan_year_start": "MM-DD"}, and
# optionally "lifetime_cap_months"; the request's therapy.months_received counts against it.
approval(duration, request) := {
	"outcome": "pended",
	"reason": "information_missing",
	"missing": [{"id": "lifetime_cap", "text": _cap_text(duration), "fields": ["therapy.months_received"]}],
} if {
	duration.lifetime_cap_months
	fact(request, ["therapy", "months_received"]).state == "absent"
} else := {
	"outcome": "denied",
	"reason": "criteria_unmet",
	"unmet": [{"id": "lifetime_cap", "text": _cap_text(duration)}],
} if {
	duration.lifetime_cap_months
	not _usable_count(fact(request, ["therapy", "months_received"]))
} else := {
	"outcome": "denied",
	"reason": "lifetime_cap_reached",
	"unmet": [{"id": "lifetime_cap", "text": _cap_text(duration)}],
} if {
	request.therapy.months_received >= duration.lifetime_cap_months
} else := {
	"outcome": "approved",
	"reason": "criteria_met",
	"approval": _period(duration, request),
}

_cap_text(duration) := sprintf("Lifetime cap: at most %d months of therapy in a lifetime", [duration.lifetime_cap_months])

_usable_count(f) if {
	is_number(f.value)
	f.value >= 0
	f.value == floor(f.value)
}

# A policy that states no duration: the approval has no end date.
_period(duration, request) := {"start": request.date_of_service} if {
	count(duration) == 0
} else := object.union_n([
	{"start": start, "end": min([end, capped])},
	_period_kind(duration, start, end, capped, request),
	_capped(duration, end, capped),
]) if {
	start := request.date_of_service
	end := _end(duration, start)
	capped := _cap_end(duration, start, request)
}

_end(duration, start) := add_months(start, duration.months) if {
	duration.months
} else := plan_year_end(start, duration.plan_year_start)

# No cap: an end no approval reaches.
_cap_end(duration, start, request) := add_months(start, duration.lifetime_cap_months - request.therapy.months_received) if {
	duration.lifetime_cap_months
} else := "9999-12-31"

_period_kind(duration, _, end, capped, request) := {"duration_months": duration.lifetime_cap_months - request.therapy.months_received} if {
	duration.months
	capped < end
} else := {"duration_months": duration.months} if {
	duration.months
} else := {"plan_year_start": duration.plan_year_start}

_capped(duration, end, capped) := {"lifetime_cap_months": duration.lifetime_cap_months, "capped": true} if {
	capped < end
} else := {"lifetime_cap_months": duration.lifetime_cap_months} if {
	duration.lifetime_cap_months
} else := {}

# plan_year_end("2026-06-15", "07-01") == "2026-06-30": the last day of the plan year the
# date falls in, the plan year beginning each year on first ("MM-DD").
plan_year_end(date, first) := sprintf("%04d-%02d-%02d", time.date(time.add_date(_ns(next), 0, 0, -1))) if {
	[y, m, d] := date_parts(date)
	[fm, fd] := [to_number(part) | some part in split(first, "-")]
	next := sprintf("%04d-%02d-%02d", [_next_plan_year(y, [m, d], [fm, fd]), fm, fd])
}

_next_plan_year(y, day, first) := y + 1 if day >= first

_next_plan_year(y, day, first) := y if day < first

# product(requested, accepted): requested is the set of product ids the request's drug
# identifiers name (empty when routing named none): met when all are accepted, unmet when
# none is, otherwise unknown.
product(requested, accepted) := "unknown" if {
	count(requested) == 0
} else := "met" if {
	every p in requested {
		p in accepted
	}
} else := "unmet" if {
	every p in requested {
		not p in accepted
	}
} else := "unknown"
