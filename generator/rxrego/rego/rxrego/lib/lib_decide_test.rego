# Tests of the shared library's decision assembly: lib.decide and lib.root_status on a
# small policy (docs/semantics.md, "The decision").
package rxrego.lib_test

import data.rxrego.lib

# --- the decision ------------------------------------------------------------------------------
# A policy of five criteria: the indication `dx`, a leaf `a`, and `cond`, which requires `r1`
# when `c1` holds.

_texts := {"dx": "Dx", "a": "A", "cond": "Cond", "c1": "C1", "r1": "R1"}

_coverage := {"indication": "dx", "investigational": "X is investigational for all other indications."}

_derived := {
	"order": {"initial": ["dx", "a", "cond", "c1", "r1"]},
	"requires": {"cond": ["r1"]},
	"conditions": {"cond": ["c1"]},
	"asked": {"cond": ["r1", "c1"]},
	"fields": {"dx": ["diagnoses"], "a": ["x.a"], "c1": ["x.c1"], "r1": ["x.r1"]},
}

_set := {"title": "Requirements", "duration_months": 3, "all_of": ["dx", "a", "cond"]}

_request := {"request_type": "initial", "date_of_service": "2026-11-30", "request_id": "r-1"}

# Each scenario: the statuses of dx, a, c1 and r1 (cond's follows from c1 and r1).
_scenarios := {
	"approved": ["met", "met", "met", "met"],
	"denied": ["met", "unmet", "met", "invalid"],
	"condition_false": ["met", "met", "unmet", "unmet"],
	"investigational": ["invalid", "unmet", "unmet", "unknown"],
	"pended": ["met", "unknown", "unknown", "unknown"],
	"condition_unknown_requirement_met": ["met", "unknown", "unknown", "met"],
	"denied_and_missing": ["met", "unmet", "met", "unknown"],
	"condition_invalid": ["met", "met", "invalid", "met"],
}

_decision[name] := lib.decide(_request, {"id": "p"}, _coverage, _texts, _set, statuses, _derived) if {
	some name, [dx, a, c1, r1] in _scenarios
	statuses := {"dx": dx, "a": a, "c1": c1, "r1": r1, "cond": lib.when([c1], [r1])}
}

test_decide_approved if {
	d := _decision.approved
	d.outcome == "approved"
	d.reason == "criteria_met"
	d.request_id == "r-1"
	d.request_type == "initial"
	d.policy == {"id": "p"}
	d.requirements == "Requirements"
	d.approval == {"start": "2026-11-30", "end": "2027-02-28", "duration_months": 3}
	d.met == ["dx", "a", "cond", "c1", "r1"]
	d.criteria == {"dx": "met", "a": "met", "cond": "met", "c1": "met", "r1": "met"}
	d.unmet == []
	d.missing == []
}

test_decide_denied_lists_the_failing_chain_not_the_condition if {
	d := _decision.denied
	d.outcome == "denied"
	d.reason == "criteria_unmet"

	# an invalid criterion names the fields of the invalid leaves below it; an unmet one none
	d.unmet == [
		{"id": "a", "text": "A"},
		{"id": "cond", "text": "Cond", "fields": ["x.r1"]},
		{"id": "r1", "text": "R1", "fields": ["x.r1"]},
	]
	d.criteria.r1 == "unmet" # invalid is shown as unmet
	d.met == ["dx", "c1"]
	not d.approval
}

test_decide_condition_false_switches_the_requirement_off if {
	d := _decision.condition_false
	d.outcome == "approved"
	d.met == ["dx", "a", "cond"]
}

test_decide_investigational_first if {
	d := _decision.investigational
	d.reason == "investigational"
	d.unmet == [
		{"id": "investigational", "text": "X is investigational for all other indications."},
		{"id": "dx", "text": "Dx", "fields": ["diagnoses"]},
		{"id": "a", "text": "A"},
	]
	d.missing == []
}

test_decide_invalid_condition_names_its_field if {
	# the condition is not listed (a denial never goes through `when`), but its field is
	d := _decision.condition_invalid
	d.outcome == "denied"
	d.unmet == [{"id": "cond", "text": "Cond", "fields": ["x.c1"]}]
}

test_decide_pended_asks_for_what_is_missing if {
	d := _decision.pended
	d.outcome == "pended"
	d.reason == "information_missing"
	d.unmet == []
	d.missing == [
		{"id": "a", "text": "A", "fields": ["x.a"]},
		{"id": "c1", "text": "C1", "fields": ["x.c1"]},
		{"id": "r1", "text": "R1", "fields": ["x.r1"]},
	]
}

test_decide_missing_stops_at_met_criteria if {
	# cond is met (its requirement holds), so its unknown condition is not asked for
	d := _decision.condition_unknown_requirement_met
	d.missing == [{"id": "a", "text": "A", "fields": ["x.a"]}]
}

test_decide_denial_asks_for_nothing if {
	# r1 is unknown, but no answer turns the denial into an approval
	d := _decision.denied_and_missing
	d.outcome == "denied"
	d.unmet == [{"id": "a", "text": "A"}]
	d.criteria.r1 == "unknown"
	d.missing == []
}

test_decide_pend_skips_leaves_under_an_unmet_branch if {
	# any_of [grp, b], grp = all_of [x, y]: x unmet makes grp unmet, so y cannot make it met;
	# only b is asked for
	set := {"title": "T", "duration_months": 1, "any_of": ["grp", "b"]}
	derived := {
		"order": {"initial": ["grp", "x", "y", "b"]},
		"requires": {"grp": ["x", "y"]},
		"conditions": {},
		"asked": {"grp": ["x", "y"]},
		"fields": {"x": ["f.x"], "y": ["f.y"], "b": ["f.b"]},
	}
	texts := {"grp": "G", "x": "X", "y": "Y", "b": "B"}
	statuses := {"grp": "unmet", "x": "unmet", "y": "unknown", "b": "unknown"}
	d := lib.decide(_request, {}, {"indication": null}, texts, set, statuses, derived)
	d.outcome == "pended"
	d.unmet == []
	d.missing == [{"id": "b", "text": "B", "fields": ["f.b"]}]
}

test_decide_request_id_only_when_a_string if {
	statuses := {"dx": "met", "a": "met", "c1": "met", "r1": "met", "cond": "met"}
	d := lib.decide(object.union(_request, {"request_id": 7}), {"id": "p"}, _coverage, _texts, _set, statuses, _derived)
	not d.request_id
	lib.request_id({}) == {}
}

test_root_status_of_each_kind_of_set if {
	statuses := {"a": "met", "b": "unmet", "c": "unknown"}
	lib.root_status({"all_of": ["a", "b"]}, statuses) == "unmet"
	lib.root_status({"any_of": ["a", "b"]}, statuses) == "met"
	lib.root_status({"at_least": 2, "of": ["a", "b", "c"]}, statuses) == "unknown"
	lib.root_status({"at_least": 1, "of": ["b"]}, statuses) == "unmet"
}

test_decide_with_an_any_of_root if {
	set := {"title": "T", "duration_months": 1, "any_of": ["a", "dx"]}
	derived := {
		"order": {"initial": ["a", "dx"]},
		"requires": {},
		"conditions": {},
		"asked": {},
		"fields": {"a": ["x.a"], "dx": ["diagnoses"]},
	}
	d := lib.decide(_request, {}, _coverage, _texts, set, {"a": "unmet", "dx": "unmet"}, derived)
	d.reason == "investigational"
	[e.id | some e in d.unmet] == ["investigational", "a", "dx"]
}

# --- other uses in the single-indication form: not_covered or pend_for_review ---------------

# Each scenario: [what the policy does with other uses, the indication's status].
_other_uses := {
	"not_covered": ["not_covered", "unmet"],
	"pend_for_review": ["pend_for_review", "unmet"],
	"malformed": ["not_covered", "invalid"],
}

_other_use[name] := lib.decide(_request, {"id": "p"}, coverage, _texts, _set, statuses, _derived) if {
	some name, [other, dx] in _other_uses
	coverage := {"indication": "dx", "investigational": null, "other": {"outcome": other, "text": "Not the indication."}}
	statuses := {"dx": dx, "a": "unmet", "c1": "met", "r1": "met", "cond": "met"}
}

test_decide_other_use_not_covered if {
	d := _other_use.not_covered
	d.outcome == "denied"
	d.reason == "not_covered"
	d.unmet == [
		{"id": "other_indications", "text": "Not the indication."},
		{"id": "dx", "text": "Dx"},
		{"id": "a", "text": "A"},
	]
	not d.review
}

test_decide_other_use_pended_for_review if {
	d := _other_use.pend_for_review
	d.outcome == "pended"
	d.reason == "other_indication_review"
	d.review == "Not the indication."
	d.unmet == []
	d.missing == []
}

test_decide_malformed_diagnosis_is_not_another_use if {
	d := _other_use.malformed
	d.reason == "criteria_unmet"

	# the malformed diagnosis names its field, as every invalid criterion does
	d.unmet == [{"id": "dx", "text": "Dx", "fields": ["diagnoses"]}, {"id": "a", "text": "A"}]
}

test_request_id_is_echoed_only_within_its_bound if {
	longest := concat("", ["x" | some _ in numbers.range(1, lib.max_request_id_chars)])
	lib.request_id({"request_id": longest}) == {"request_id": longest}
	lib.request_id({"request_id": concat("", [longest, "x"])}) == {}
	lib.request_id({"request_id": 7}) == {}
	lib.request_id({}) == {}
}
