package system.log_test

import data.system.log

_request := {
	"request_id": "req-1",
	"request_type": "initial",
	"date_of_service": "2026-11-30",
	"drug": {"hcpcs": "J9229", "ndc": "0008-0100-01", "name": "Besponsa", "lot": "L-77"},
	"patient": {"id": "PAT-77", "birth_date": "1971-03-14", "name": "Jane Roe", "ssn": "078-05-1120"},
	"diagnoses": [{"system": "ICD-10-CM", "code": "C91.00"}],
	"notes": "lives at 1 Main St",
	"prescriber": {"npi": "1234567893"},
}

_facts := {
	"request_id": "req-1",
	"request_type": "initial",
	"date_of_service": "2026-11-30",
	"drug": {"hcpcs": "J9229", "ndc": "0008-0100-01", "name": "Besponsa"},
}

_upsert(value) := {"op": "upsert", "path": "/input", "value": value}

# A single decision keeps the allow-listed facts and nothing else; its result stays.
test_a_single_decision_keeps_only_the_allow_listed_facts if {
	entry := {"path": "rxrego/decision", "input": _request, "result": {"outcome": "approved"}}
	log.mask == {_upsert(_facts)} with input as entry
}

test_a_batch_keeps_the_facts_of_each_request if {
	batch := {"requests": [_request, {"request_type": "renewal", "patient": {"id": "PAT-78"}}, "PAT-79", 7, null]}
	kept := {"requests": [_facts, {"request_type": "renewal"}, {}, {}, {}]}
	log.mask == {_upsert(kept)} with input as {"path": "rxrego/decisions", "input": batch}
}

# requests keyed by anything (a key such as "a/b" once broke the paths of a deny-list):
# not a list, so nothing of it is kept.
test_an_object_keyed_batch_keeps_nothing if {
	every requests in [{"a/b": _request, "0": _request}, "x", 7, null, {}] {
		log.mask == {_upsert({})} with input as {"path": "rxrego/decisions", "input": {"requests": requests}}
	}
	log.mask == {_upsert({})} with input as {"path": "rxrego/decisions", "input": {"request_id": "req-1"}}
}

# Facts of the wrong type or value are not kept: they might be anything.
test_facts_of_the_wrong_shape_are_left_out if {
	odd := {
		"request_id": 42,
		"request_type": "initial because Jane Roe asked",
		"date_of_service": "Jane Roe, 1971-03-14",
		"drug": {"hcpcs": ["J9229"], "ndc": {"x": "y"}, "name": null},
	}
	log.mask == {_upsert({})} with input as {"path": "rxrego/decision", "input": odd}
	renewal := {"request_type": "renewal", "drug": "J9229"}
	log.mask == {_upsert({"request_type": "renewal"})} with input as {"path": "rxrego/decision", "input": renewal}
}

test_a_request_id_over_128_characters_is_left_out if {
	longest := concat("", ["x" | some _ in numbers.range(1, 128)])
	kept := {"path": "rxrego/decision", "input": {"request_id": longest}}
	log.mask == {_upsert({"request_id": longest})} with input as kept
	left_out := {"path": "rxrego/decision", "input": {"request_id": concat("", [longest, "9"])}}
	log.mask == {_upsert({})} with input as left_out
}

test_an_input_that_is_not_an_object_keeps_nothing if {
	every doc in ["Jane Roe", 7, [_request], null, true] {
		log.mask == {_upsert({})} with input as {"path": "rxrego/decision", "input": doc}
		log.mask == {_upsert({})} with input as {"path": "rxrego/decisions", "input": doc}
	}
}

# Any other query (possible only without the token policy) has input and result erased.
test_other_paths_lose_input_and_result if {
	every path in ["", "rxrego", "rxrego/lib", "rxrego/decision/outcome", "system/log/mask", "rxrego/decisionsX"] {
		log.mask == {"/input", "/result"} with input as {"path": path, "input": _request, "result": _request}
	}
	log.mask == {"/input", "/result"} with input as {"input": _request}
}

test_facts_of_a_minimal_request if {
	log.facts({"drug": {"name": "besponsa"}}) == {"drug": {"name": "besponsa"}}
	log.facts({}) == {}
	log.facts({"drug": {}}) == {}
}

# An ad-hoc query carries its text, which may hold a request: its entry is dropped.
test_an_ad_hoc_query_is_dropped if {
	log.drop with input as {"path": "", "query": "data.rxrego.decision with input as {\"patient\": \"Jane Roe\"}"}
	not log.drop with input as {"path": "rxrego/decision", "input": _request}
	not log.drop with input as {"path": "rxrego/decision", "input": _request, "query": ""}
}
