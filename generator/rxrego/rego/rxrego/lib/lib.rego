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

# when(condition, requirement): a met condition applies the requirement; an unmet one
# switches it off; an invalid one never does; an unknown one does only when the requirement
# holds anyway (all_of of each list).
when(condition, requirement) := all_of(requirement) if {
	all_of(condition) == "met"
} else := "met" if {
	"unmet" in condition
} else := "invalid" if {
	"invalid" in condition
} else := "met" if {
	all_of(requirement) == "met"
} else := "unknown"

# negation(status): `not:`, three-valued: met and unmet swap; unknown stays unknown (the
# fact could go either way) and invalid stays invalid (a malformed fact is never met, so its
# negation is not met either).
negation(status) := _negated[status]

_negated := {"met": "unmet", "unmet": "met", "unknown": "unknown", "invalid": "invalid"}

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

# observed_day(s): the calendar day an observation's date names (docs/semantics.md, "Dated
# facts"): a date YYYY-MM-DD, or a date with a time (FHIR dateTime, ISO 8601:
# 2026-11-02T10:00:00Z, 2026-11-02T23:30:00-05:00, 2026-11-02T10:00), whose day is read as
# written, never shifted to another time zone; the time and offset are checked for form
# only. Undefined for anything else (a partial date, an impossible time).
observed_day(s) := s if {
	valid_date(s)
} else := substring(s, 0, 10) if {
	is_string(s)
	regex.match(_date_time, s)
	valid_date(substring(s, 0, 10))
}

# A date, "T", a time (hh:mm, seconds and their fraction optional), an optional UTC offset.
_date_time := concat("", [
	`^[0-9]{4}-[0-9]{2}-[0-9]{2}`,
	`T([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]{1,9})?)?`,
	`(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$`,
])

# birth_day(request): the patient's birth date when it is a valid date on or before the date
# of service, else "" (before every date: no fact is then before the birth).
birth_day(request) := request.patient.birth_date if {
	request.patient.birth_date <= request.date_of_service
	date_parts(request.patient.birth_date)
} else := ""

# in_life(day, on, born): a date YYYY-MM-DD neither after the date of service `on` nor before
# the birth date `born` (""). A dated fact outside that span contradicts the request.
in_life(day, on, born) if {
	day <= on
	born <= day
}

# add_months("2026-11-30", 3) == "2027-02-28": calendar months, clamped to the month's end.
# Go's AddDate normalises a date past a month's end into the next month, so the day is added
# to the first of the target month and capped at that month's last day (the first of the
# next month, less a day). Undefined for a string that is not a date YYYY-MM-DD.
add_months(date, months) := time.format([
	min([time.add_date(first, 0, 0, day - 1), time.add_date(first, 0, 1, -1)]),
	"UTC",
	"2006-01-02",
]) if {
	ns := time.parse_ns("2006-01-02", date)
	day := time.date(ns)[2]
	first := time.add_date(ns, 0, months, 1 - day)
}

days_between(earlier, later) := (_ns(later) - _ns(earlier)) / 86400000000000

_ns(date) := time.parse_ns("2006-01-02", date)

# --- tests: one function per kind of leaf criterion -----------------------------------
# Each takes the facts it reads (see `fact`), which a policy reads once per request, and
# returns a status for any value; none is ever undefined.

# service: date_parts of the date of service, or null when it is not a valid date. The age is
# in whole years, the birthday counting from its own day (born on 29 February: a year older
# on 1 March in a common year): it is at least n exactly when [birth year + n, birth month,
# birth day] <= service, as arrays compare. A null bound is no bound. Not a date, born after
# the date of service or no valid date of service (null, before every array): invalid.
age(birth, service, min_years, max_years) := "unknown" if {
	birth.state == "absent"
} else := "unmet" if {
	[y, m, d] := date_parts(birth.value)
	[y, m, d] <= service
	min_years != null
	[y + min_years, m, d] > service
} else := "met" if {
	date_parts(birth.value) <= service
	max_years == null
} else := "met" if {
	[y, m, d] := date_parts(birth.value)
	[y, m, d] <= service
	[(y + max_years) + 1, m, d] > service
} else := "unmet" if {
	date_parts(birth.value) <= service
} else := "invalid"

# service_date(request): date_parts of the request's date of service, or null (the data
# form's; a generated module writes it as a rule with a default, a call less).
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

# coded(f, accepted, codes): a fact from a closed list of codes whose code "unknown" means
# not known (a biomarker result, FHIR AdministrativeGender). Absent or "unknown" is unknown;
# one of `codes` is met when accepted, else unmet; anything else (another string, a number,
# a list) is invalid. Codes are compared exactly: "Positive" is not a code.
coded(f, accepted, codes) := "unknown" if {
	f.state == "absent"
} else := "unknown" if {
	f.value == "unknown"
} else := "met" if {
	f.value in codes
	f.value in accepted
} else := "unmet" if {
	f.value in codes
} else := "invalid"

# biomarker is coded(result, accepted, {"negative", "positive"}), written out: a call less
# for a test most policies have.
biomarker(result, accepted) := "unknown" if {
	result.state == "absent"
} else := "unknown" if {
	result.value == "unknown"
} else := "met" if {
	result.value in {"negative", "positive"}
	result.value in accepted
} else := "unmet" if {
	result.value in {"negative", "positive"}
} else := "invalid"

# _qualifier(entry, name, accepted): a diagnosis entry's qualifier (labs.rego's
# diagnosis_codes): absent or null unknown; a string met when its lower case is accepted,
# else unmet; anything else invalid.
_qualifier(entry, name, accepted) := "unknown" if {
	object.get(entry, name, null) == null
} else := "met" if {
	is_string(entry[name])
	lower(entry[name]) in accepted
} else := "unmet" if {
	is_string(entry[name])
} else := "invalid"

# value_set is {"agents": {lower-case names}, "classes": {class names}}: an entry is in it
# by its lower-case agent or by its class.
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

# A request number is compared only when plainly written (docs/semantics.md, "Numbers"):
# OPA v1.20.2 panicked comparing e.g. 1e-10000000. The text is checked; no function gets it.
_plain_number := `^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?$`

_usable_days(f) if {
	is_number(f.value)
	regex.match(_plain_number, json.marshal(f.value))
	f.value >= 1
	f.value == floor(f.value)
}

# _compare(x, op, y): x op y, op one of the comparisons a spec may write (the lab and
# body-measure tests).
_compare(x, "<", y) if x < y

_compare(x, "<=", y) if x <= y

_compare(x, ">", y) if x > y

_compare(x, ">=", y) if x >= y

_compare(x, "==", y) if x == y

# --- documentation required -------------------------------------------------------------
# (docs/semantics.md, "Documentation required")

# document_types: the closed list of a request document's `type` (rxrego.spec.model's
# DOCUMENT_TYPES; a test holds them equal).
document_types := {
	"chart_notes",
	"consultation_note",
	"genetic_test_report",
	"imaging_report",
	"lab_report",
	"letter_of_medical_necessity",
	"medication_history",
	"other",
	"pathology_report",
	"procedure_note",
}

# documented(status, documents, id, types): a leaf criterion `id` whose fact must be
# supported by a document of one of `types`: all of its test's status and its documentation.
# A met test without a supporting document is unknown (pended for documentation).
documented(status, documents, id, types) := all_of([status, documentation(documents, id, types)])

# documentation(documents, id, types): met when a well-formed entry of the request's
# `documents` has one of `types` and supports `id` (no `supports` list, or one naming it);
# unknown when none does (absent, or an empty list included); invalid when `documents` is
# not a list, or none supports it and an entry is malformed.
documentation(documents, id, types) := "unknown" if {
	documents.state == "absent"
} else := "invalid" if {
	not is_array(object.get(documents, "value", null))
} else := "met" if {
	some d in documents.value
	_document(d)
	d.type in types
	_supports(d, id)
} else := "invalid" if {
	some d in documents.value
	not _document(d)
} else := "unknown"

# A document: an object with a non-empty string id, a type of the closed list, and
# `supports`, when present and not null, a list of criterion ids.
_document(d) if {
	is_object(d)
	is_string(d.id)
	d.id != ""
	d.type in document_types
	_supports_list(object.get(d, "supports", null))
}

_supports_list(null)

_supports_list(ids) if {
	is_array(ids)
	every id in ids {
		is_string(id)
	}
}

_supports(d, _) if object.get(d, "supports", null) == null

_supports(d, id) if id in d.supports

# --- the decision ---------------------------------------------------------------------

# decide assembles a policy's decision document (docs/semantics.md, "The decision").
# request: the input (its request_type names the set); policy: the policy block;
# coverage: {"indication", "investigational"} (either null when the policy has none: a
#   failing root is then never investigational) and, when the policy says other uses are
#   not covered or pended for review, "other": {"outcome", "text"} (docs/semantics.md,
#   "Other indications"); texts: {id: the policy's wording};
# set: {"title", "duration_months"} and the set's root ({"all_of": ids}, {"any_of": ids} or
#   {"at_least": n, "of": ids}); statuses: {id: status} for the set's criteria and the
#   indication; derived: {"order": {set: ids in policy order}, "requires": {id: ids},
#   "conditions": {id: ids}, "asked": {id: its requires, conditions and negated id, in
#   that order: what a missing fact is looked for under}, "fields": {leaf id: request
#   fields}, and when the policy has
#   them "negates": {id: [the negated id]}, "documents": {leaf id: document types}, "labs"
#   and "unit_facts" (see unit_note)} (a policy's derived.rego).
# The optional parts (the approval, the review, the request id) are comprehensions over a
# condition: empty when it does not hold, and no function call. So are the lists: the unmet list only for a denial, the
# missing leaves only for a pend for missing information; an approval walks for neither.
# (Each function call, and each rule a query reads, costs an evaluation; a table written
# inline as a literal costs nothing.)
decide(request, policy, coverage, texts, set, statuses, derived) := object.union_n([
	{
		"outcome": outcome,
		"reason": reason,
		"request_type": request.request_type,
		"policy": policy,
		"requirements": set.title,
		"criteria": _criteria(statuses, order),
		"met": [id | some id in order; statuses[id] == "met"],
		"unmet": [entry |
			outcome == "denied"
			some entry in _denial_unmet(reason, coverage, set, order, statuses, texts, derived)
		],
		"missing": [entry | root == "unknown"; some entry in _missing(set, order, statuses, texts, derived, request)],
	},
	{"approval": {
		"start": request.date_of_service,
		"end": add_months(request.date_of_service, set.duration_months),
		"duration_months": set.duration_months,
	} |
		reason == "criteria_met"
	},
	{"review": coverage.other.text | reason == "other_indication_review"},
	{"request_id": request.request_id | is_string(request.request_id)},
]) if {
	order := derived.order[request.request_type]
	root := root_status(set, statuses)
	[reason, outcome] := _reason(root, object.get(statuses, coverage.indication, "met"), object.get(coverage, "other", {}))
}

# The unmet list of a denial: the policy's statement on other uses first (investigational or
# not covered), then the failing criteria: those reachable from the root through failing
# criteria, never through a condition (a condition that does not hold is not a reason to
# deny). Only failing criteria lead on: a criterion that is not failing may be reached, but
# ends the path and is not listed. With no invalid status (the common denial), each entry is
# the criterion's id and text, built in place (a call of unmet_entry per entry costs more
# than the entry). An indication's denial (coverage.rego) has no statement: its reason is
# criteria_unmet, so `coverage` is not read.
_denial_unmet(reason, coverage, set, order, statuses, texts, derived) := array.flatten([
	[{"id": "investigational", "text": coverage.investigational} | reason == "investigational"],
	[{"id": "other_indications", "text": coverage.other.text} | reason == "not_covered"],
	[{"id": id, "text": texts[id]} |
		not "invalid" in statuses
		some id in _failing_reached(set, order, statuses, derived)
	],
	[unmet_entry(id, statuses, texts, derived) |
		"invalid" in statuses
		some id in _failing_reached(set, order, statuses, derived)
	],
])

# The statuses as shown to callers, invalid as unmet; when none is invalid and the statuses
# are those of the set's criteria alone (the indication among them), they are shown as they
# are.
_criteria(statuses, order) := statuses if {
	count(statuses) == count(order)
	not "invalid" in statuses
} else := {id: object.get({"invalid": "unmet"}, s, s) | some id in order; s := statuses[id]}

# root_status(set, statuses): the status of a requirement set's root (see decide).
root_status(set, statuses) := all_of([statuses[id] | some id in set.all_of]) if {
	set.all_of
} else := any_of([statuses[id] | some id in set.any_of]) if {
	set.any_of
} else := at_least(set.at_least, [statuses[id] | some id in set.of])

_root_children(set) := object.get(set, "all_of", object.get(set, "any_of", object.get(set, "of", [])))

# The failing criteria reached from the root through failing criteria, in policy order.
_failing_reached(set, order, statuses, derived) := [id |
	some id in order
	statuses[id] in {"unmet", "invalid"}
	id in reached
] if {
	reached := graph.reachable(
		{id: object.get(derived.requires, id, []) | some id in order; statuses[id] in {"unmet", "invalid"}},
		_root_children(set),
	)
}

# unmet_entry(id, statuses, texts, derived): a listed criterion; an invalid one (a fact of
# the wrong type or shape) also names the request `fields` to correct: those read by the
# invalid leaves below it, reached through invalid criteria only (conditions and negations
# included, as a malformed condition makes its conditional invalid), sorted.
unmet_entry(id, statuses, texts, derived) := {
	"id": id,
	"text": texts[id],
	"fields": sort({field |
		some leaf in graph.reachable(
			{c: [child | some child in object.get(derived.asked, c, []); statuses[child] == "invalid"] |
				some c, s in statuses
				s == "invalid"
			},
			[id],
		)
		some field in derived.fields[leaf]
	}),
} if {
	statuses[id] == "invalid"
} else := {"id": id, "text": texts[id]}

# Missing: unknown leaves reachable from the root through unknown criteria only,
# conditions included (an unknown condition is information to ask for): an answer under a
# met criterion cannot change it, one under a failing criterion cannot make it met. Asked
# only under an unknown root (a met root or a denial has nothing missing, and no walk).
# A policy without documentation, lab or measured-fact (unit_facts) criteria asks for each
# leaf's id, text and fields, built in place.
_missing(set, order, statuses, texts, derived, request) := array.concat(
	[{"id": id, "text": texts[id], "fields": derived.fields[id]} | noted == {}; some id in reached],
	[object.union(missing_entry(id, texts, derived), unit_note(id, derived, request)) |
		noted != {}
		some id in reached
	],
) if {
	noted := object.filter(derived, ["documents", "labs", "unit_facts"])

	# The unknown leaves reached from the root through unknown criteria, in policy order.
	found := graph.reachable(
		{id: [child |
			some child in object.get(derived.asked, id, [])
			statuses[child] == "unknown"
		] |
			some id in order
			statuses[id] == "unknown"
		},
		[child | some child in _root_children(set); statuses[child] == "unknown"],
	)
	reached := [id | some id in order; statuses[id] == "unknown"; id in found; derived.fields[id]]
}

# missing_entry(id, texts, derived): a missing leaf with the request fields it reads and,
# when it requires documentation, the document types that would support it.
missing_entry(id, texts, derived) := {
	"id": id,
	"text": texts[id],
	"fields": derived.fields[id],
	"documents": derived.documents[id],
} if {
	derived.documents[id]
} else := {"id": id, "text": texts[id], "fields": derived.fields[id]}

# unit_note(id, derived, request): for a missing lab criterion (derived.labs[id]: its
# "codes", "names", "unit" and the lower-case "units" it converts from) when a result of that
# lab dated on or before the date of service has a number for its value and a unit that does
# not convert into the criterion's: {"reason": "unit_not_convertible", "unit": the
# criterion's unit}, so the result is not sent again as it was; the same for a body
# measurement or dose the criterion reads (derived.unit_facts[id]). Else {}.
unit_note(id, derived, request) := {"reason": "unit_not_convertible", "unit": lab.unit} if {
	lab := derived.labs[id]
	some r in _lab_results(object.get(request, "labs", []), lab)
	is_number(r.value)
	valid_date(r.date)
	r.date <= request.date_of_service
	not _convertible(r.unit, lab.units)
} else := {"reason": "unit_not_convertible", "unit": notes[0]} if {
	# A body measurement or dose (derived.unit_facts[id]) with a number whose unit does not
	# convert: the first such fact's unit, in the order the criterion reads them.
	notes := [f.unit |
		some f in object.get(object.get(derived, "unit_facts", {}), id, [])
		m := object.get(request, f.path, null)
		is_object(m)
		is_number(object.get(m, f.value, null))
		not _convertible(object.get(m, "unit", null), f.units)
	]
	count(notes) > 0
} else := {}

_convertible(unit, convertible) if {
	is_string(unit)
	lower(unit) in convertible
}

# [reason, outcome]: the root is met, unknown or failing (unmet or invalid); so is the
# indication. other: coverage.other, what the policy does with other uses ({} when they are
# investigational, else its outcome not_covered or pend_for_review); a malformed diagnosis
# (the indication invalid) is another use only for an investigational policy, as it always
# was: else criteria_unmet.
_reason(root, indication, other) := ["criteria_met", "approved"] if {
	root == "met"
} else := ["information_missing", "pended"] if {
	root == "unknown"
} else := ["investigational", "denied"] if {
	indication in {"unmet", "invalid"}
	object.get(other, "outcome", "investigational") == "investigational"
} else := ["not_covered", "denied"] if {
	indication == "unmet"
	other.outcome == "not_covered"
} else := ["other_indication_review", "pended"] if {
	indication == "unmet"
	other.outcome == "pend_for_review"
} else := ["criteria_unmet", "denied"]

# request_id(request): {"request_id": ...} when the request carries one the envelope accepts
# (a string of at most max_request_id_chars characters), else {}: a refused one is not echoed.
request_id(request) := {"request_id": request.request_id |
	is_string(request.request_id)
	count(request.request_id) <= max_request_id_chars
}

# The longest request_id a request may carry (rxrego.limits.MAX_REQUEST_ID_CHARS, where it is
# set; tests/test_sidecar_hardening.py holds them equal): an opaque case number.
max_request_id_chars := 128
