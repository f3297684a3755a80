package rxrego.catalog_test

import data.rxrego.catalog
import data.rxrego.lib

# A policy in the data form (rxrego/catalog.py): two attestations, their all_of, and a
# conditional on the first; the coverage statement's indication is the all_of.
policy := {
	"policy": {"id": "t-1", "number": "1", "title": "T", "effective_date": "2026-01-01", "version": "v"},
	"coverage": {"indication": "both", "investigational": "Otherwise investigational."},
	"texts": {"a": "A attested", "b": "B attested", "both": "Both", "if_a_then_b": "If A, B"},
	"requirements": {"initial": {"title": "Initial", "duration_months": 6, "all_of": ["both", "if_a_then_b"]}},
	"request_types": ["initial"],
	"request_sets": {"initial": "initial"},
	"derived": {
		"order": {"initial": ["both", "a", "b", "if_a_then_b"]},
		"requires": {"both": ["a", "b"], "if_a_then_b": ["b"]},
		"conditions": {"if_a_then_b": ["a"]},
		"asked": {"both": ["a", "b"], "if_a_then_b": ["b", "a"]},
		"fields": {"a": ["prescriber.attestations.a"], "b": ["prescriber.attestations.b"]},
	},
	"fact_paths": {"initial": {
		"prescriber.attestations.a": ["prescriber", "attestations", "a"],
		"prescriber.attestations.b": ["prescriber", "attestations", "b"],
	}},
	"value_sets": {"vs": {"agents": ["x"], "classes": []}},
	"indications": false,
	"reads_products": false,
	"evaluate": {"initial": ["both", "a", "b", "if_a_then_b"]},
	"select": {"initial": ["both", "a", "b", "if_a_then_b"]},
	"criteria": {
		"a": {"depth": 0, "expr": {"call": "attestation", "args": [{"fact": "prescriber.attestations.a"}]}},
		"b": {"depth": 0, "expr": {"call": "attestation", "args": [{"fact": "prescriber.attestations.b"}]}},
		"both": {"depth": 1, "expr": {"call": "all_of", "args": [{"statuses": ["a", "b"]}]}},
		"if_a_then_b": {"depth": 1, "expr": {"call": "when", "args": [{"statuses": ["a"]}, {"statuses": ["b"]}]}},
	},
	"levels": [["a", "b"], ["both", "if_a_then_b"]],
}

request(a, b) := {
	"request_type": "initial",
	"date_of_service": "2026-03-01",
	"prescriber": {"attestations": {"a": a, "b": b}},
}

test_the_decision_is_the_library_decision_over_the_same_statuses if {
	req := request(true, false)
	statuses := {"a": "met", "b": "unmet", "both": "unmet", "if_a_then_b": "unmet"}
	want := lib.decide(
		req, policy.policy, policy.coverage, policy.texts,
		policy.requirements.initial, statuses, policy.derived,
	)
	catalog.decision(policy, req, set()) == want
	want.outcome == "denied"
}

test_approved_when_both_are_attested if {
	catalog.decision(policy, request(true, true), set()).outcome == "approved"
}

test_combinators_are_evaluated_over_the_depth_below if {
	context := {"facts": lib.facts(request(false, true), policy.fact_paths.initial)}
	statuses := catalog.statuses_of(policy, context, ["both", "a", "b", "if_a_then_b"])
	statuses == {"a": "unmet", "b": "met", "both": "unmet", "if_a_then_b": "met"}
}

test_only_the_wanted_criteria_are_evaluated if {
	context := {"facts": lib.facts(request(true, true), policy.fact_paths.initial)}
	catalog.statuses_of(policy, context, ["a"]) == {"a": "met"}
}

test_a_missing_status_leaves_its_combinator_without_one if {
	# `both` refers to `b`, which is not evaluated: as in a module, where status.b undefined
	# leaves lib.all_of([status.a, status.b]) undefined.
	broken := json.patch(policy, [{"op": "replace", "path": "/levels/0", "value": ["a"]}])
	context := {"facts": lib.facts(request(true, true), policy.fact_paths.initial)}
	catalog.statuses_of(broken, context, ["both", "a"]) == {"a": "met"}
}

test_an_argument_without_a_value_leaves_the_call_without_one if {
	node := {"call": "attestation", "args": [{"fact": "not.read"}]}
	not catalog._eval(node, {"facts": {}}, {})
	array_node := {"array": [{"value": 1}, {"fact": "not.read"}]}
	not catalog._eval(array_node, {"facts": {}}, {})
}

test_nested_calls_and_arrays_are_evaluated_inside_out if {
	node := {"call": "all_of", "args": [{"array": [
		{"call": "attestation", "args": [{"fact": "f"}]},
		{"call": "negation", "args": [{"call": "attestation", "args": [{"fact": "f"}]}]},
	]}]}
	context := {"facts": {"f": {"state": "present", "value": true}}}
	catalog._eval(node, context, {}) == lib.all_of(["met", lib.negation("met")])
}

test_references_read_the_context if {
	context := {"value_sets": {"vs": "the set"}, "service_date": [2026, 3, 1], "products": {"p"}}
	catalog._eval({"value_set": "vs"}, context, {}) == "the set"
	catalog._eval({"ref": "service_date"}, context, {}) == [2026, 3, 1]
	catalog._eval({"ref": "products"}, context, {}) == {"p"}
	catalog._eval({"status": "a"}, context, {"a": "met"}) == "met"
}

test_literals if {
	catalog._eval({"value": false}, {}, {}) == false
	catalog._eval({"value": null}, {}, {}) == null
	catalog._eval({"set": ["b", "a"]}, {}, {}) == {"a", "b"}
	catalog._eval({"set": []}, {}, {}) == set()
}

test_typed_literals_hold_sets_at_any_depth_up_to_the_bound if {
	catalog.typed(3, {"a": {"$set": [1, 2]}, "b": [{"$set": ["x"]}], "c": 3}) == {"a": {1, 2}, "b": [{"x"}], "c": 3}
	catalog.typed(8, [[[[[[[{"$set": [1]}]]]]]]]) == [[[[[[[{1}]]]]]]]
	catalog.typed(1, {"$set": []}) == set()
	catalog._eval({"typed": [2, [{"$set": ["a"]}]]}, {}, {}) == [{"a"}]
}

test_value_sets_are_decoded_for_the_library if {
	context := catalog._context(policy, request(true, true), {"p"})
	context.value_sets.vs == {"agents": {"x"}, "classes": set()}
	context.products == {"p"}
	context.date_of_service == "2026-03-01"
}
