# rxrego shared library, coverage.rego: the coverage model every policy written with
# indications shares (docs/semantics.md):
# which indication decides a request, the decision for it or for the indication gate, the
# approval's duration (months, weeks, plan year, lifetime cap) and the product test.
package rxrego.lib

# --- indications (docs/semantics.md, "Indications") ---------------------------------------

# indication(request, set): which of a requirement set's indications decides the request:
# {"id": id} (named by the request, or the one its diagnosis codes select), {"gate": status}
# when no indication's codes match ("unknown", "unmet" or "invalid"), or {"invalid": message}
# when the request names no indication of the set or its codes match several.
# set.indications: {id: {"heading", "diagnosis", "codes": [its ICD-10-CM codes, expanded, no dots],
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

_by_diagnosis(request, found) := {"invalid": sprintf(
	"the diagnoses match several indications (%s): name one",
	[concat(", ", found)],
)} if {
	count(found) > 1
} else := {"id": found[0]} if {
	count(found) == 1
} else := {"gate": indication_gate(object.get(request, "diagnoses", null))}

# A code selects an indication as the diagnosis test reads it (icd10_code): of ICD-10-CM form
# and, without its dots, one of the indication's expanded codes.
_codes_match(request, codes) if {
	is_array(request.diagnoses)
	some entry in request.diagnoses
	is_object(entry)
	icd10_well_formed(entry.code)
	replace(upper(trim_space(entry.code)), ".", "") in codes
}

# indication_gate(diagnoses): the gate's status when no indication's codes match: unknown
# (no diagnoses, or an entry without a code), invalid (not a list, or a malformed entry: not
# an object, or a code that is not a string of ICD-10-CM form), else unmet.
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
	icd10_well_formed(entry.code)
}

# decide_indicated assembles the decision of a policy written with indications.
# choice: indication(request, set); statuses: {id: status} of the chosen indication's
# criteria, and order: those ids in policy order; coverage: {"other_indications": {"outcome",
# "statement"?}}; derived as for decide.
decide_indicated(request, policy, coverage, texts, set, choice, statuses, order, derived) := object.union(
	{
		"outcome": "invalid_request",
		"reason": "invalid_request",
		"errors": [{"field": "indication", "message": choice.invalid}],
	},
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
		"criteria": {id: object.get({"invalid": "unmet"}, s, s) | some id in order; s := statuses[id]},
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
	"unmet": [{"id": "indication", "text": _not_listed(set), "fields": ["diagnoses"]}],
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
# criteria only (an answer under a met or failing criterion changes nothing). The lists are
# the single-indication form's (decide), with the indication's criteria as the root.
_indicated_outcome(root, _, ind, statuses, order, texts, derived) := {
	"outcome": "denied",
	"reason": "criteria_unmet",
	"unmet": _denial_unmet("criteria_unmet", {}, ind, order, statuses, texts, derived),
} if {
	root in {"unmet", "invalid"}
}

_indicated_outcome("unknown", request, ind, statuses, order, texts, derived) := {
	"outcome": "pended",
	"reason": "information_missing",
	"missing": _missing(ind, order, statuses, texts, derived, request),
}

_indicated_outcome("met", request, ind, statuses, _, _, _) := approval(_duration(ind, statuses), request)

# The duration of the first branch whose criterion is met, else the indication's.
_duration(ind, statuses) := branches[0] if {
	branches := [w.duration | some w in ind.duration_when; statuses[w.criterion] == "met"]
	count(branches) > 0
} else := ind.duration

# --- durations (docs/semantics.md, "Durations") -------------------------------------------

# approval(duration, request): the approval of a met request, or, under a lifetime cap, the
# decision the cap gives. duration: {"months": n}, {"weeks": n} or {"plan_year_start": "MM-DD"}, and
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
	"unmet": [{"id": "lifetime_cap", "text": _cap_text(duration), "fields": ["therapy.months_received"]}],
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

_cap_text(duration) := sprintf(
	"Lifetime cap: at most %d months of therapy in a lifetime",
	[duration.lifetime_cap_months],
)

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
	_period_kind(duration, end, capped, request),
	_capped(duration, end, capped),
]) if {
	start := request.date_of_service
	end := _end(duration, start)
	capped := _cap_end(duration, start, request)
}

_end(duration, start) := add_months(start, duration.months) if {
	duration.months
} else := add_weeks(start, duration.weeks) if {
	duration.weeks
} else := plan_year_end(start, duration.plan_year_start)

# No cap: an end no approval reaches.
_cap_end(duration, start, request) := add_months(start, _months_left(duration, request)) if {
	duration.lifetime_cap_months
} else := "9999-12-31"

_months_left(duration, request) := duration.lifetime_cap_months - request.therapy.months_received

_period_kind(duration, end, capped, request) := {"duration_months": _months_left(duration, request)} if {
	duration.months
	capped < end
} else := {"duration_months": duration.months} if {
	duration.months
} else := {"duration_weeks": duration.weeks} if {
	duration.weeks
} else := {"plan_year_start": duration.plan_year_start}

_capped(duration, end, capped) := {"lifetime_cap_months": duration.lifetime_cap_months, "capped": true} if {
	capped < end
} else := {"lifetime_cap_months": duration.lifetime_cap_months} if {
	duration.lifetime_cap_months
} else := {}

# add_weeks("2026-11-30", 16) == "2027-03-22": the date n weeks (7n days) later.
add_weeks(date, n) := sprintf("%04d-%02d-%02d", time.date(time.add_date(_ns(date), 0, 0, 7 * n)))

# plan_year_end("2026-06-15", "07-01") == "2026-06-30": the last day of the plan year the
# date falls in, the plan year beginning each year on first ("MM-DD").
plan_year_end(date, first) := sprintf("%04d-%02d-%02d", time.date(time.add_date(_ns(next), 0, 0, -1))) if {
	[y, m, d] := date_parts(date)
	[fm, fd] := [to_number(part) | some part in split(first, "-")]
	next := sprintf("%04d-%02d-%02d", [_next_plan_year(y, [m, d], [fm, fd]), fm, fd])
}

_next_plan_year(y, day, first) := y + 1 if day >= first

_next_plan_year(y, day, first) := y if day < first

# requested_product(requested, accepted): requested is the set of product ids the request's drug
# identifiers name (empty when routing named none): met when all are accepted, unmet when
# none is, otherwise unknown.
requested_product(requested, accepted) := "unknown" if {
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
