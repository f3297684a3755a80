package rxrego_test

# The router's number check (rego/rxrego/router.rego, docs/semantics.md "Numbers"): a walk
# without paths decides whether any number is out of range, and only then does the walk that
# names each number's field run. These cases prove the two together refuse exactly what the
# naming walk alone refuses (`_naming_walk` below, the check as it was before the cheap test
# was put in front of it), with the numbers read from JSON text as a request's are.
#
# Run with the generated router: opa test rego tests/rego (tests/test_router_numbers.py).

import data.rxrego

# Number texts as a request may carry them -> refused (true) or accepted (false).
_numbers := {
	"0": false,
	"-0": false,
	"0.0": false,
	"0.00000000000000000000": false,
	"7": false,
	"-3": false,
	"1.50": false,
	"12.0000000000000000000000": false,
	"1e15": false,
	"1E+15": false,
	"1e+015": false,
	"-1e15": false,
	"1e-15": false,
	"-1e-15": false,
	"1000000000000000": false,
	"-1000000000000000": false,
	"999999999999999.9": false,
	"0.000000000000001": false,
	"1e16": true,
	"-1e16": true,
	"1E+999": true,
	"1e1000": true,
	"1E+9999": true,
	"1e-16": true,
	"-1e-999": true,
	"1000000000000001": true,
	"-1000000000000001": true,
	"1000000000000000.5": true,
	"0.0000000000000001": true,
	"-0.0000000000000009": true,
	"123456789012345678901234567890": true,
	# magnitude 1, but 65 characters: not plainly written
	"1.000000000000000000000000000000000000000000000000000000000000000": true,
}

# A request that routes to 5.21.100 with `number` deep in an array of arrays of an object.
_with_number(number) := json.unmarshal(concat("", [
	`{"request_type": "initial", "date_of_service": "2026-06-15", "drug": {"hcpcs": "J9229"},`,
	`"patient": {"id": "P-1", "birth_date": "1970-01-01"},`,
	`"labs": [{"panel": {"results": [[1, {"value": `, number, `}]]}}]}`,
]))

_deep_field := "labs[0].panel.results[0][1].value"

_refused contains number if some number, true in _numbers

_accepted contains number if some number, false in _numbers

# The check as it was: every number, with its path.
_naming_walk contains {"field": rxrego._field_path(path), "text": json.marshal(value)} if {
	is_object(input)
	walk(input, [path, value])
	is_number(value)
	not rxrego._sane_number_text(json.marshal(value))
}

_fields(errors) := {e.field | some e in errors}

test_the_table_holds_numbers_of_both_kinds if {
	count(_refused) == 14
	count(_accepted) == 18
}

test_every_number_text_is_refused_as_expected if {
	every number, refused in _numbers {
		request := _with_number(number)
		errors := rxrego.number_errors with input as request
		_fields(errors) == {_deep_field | refused}
	}
}

test_the_cheap_test_agrees_with_the_naming_walk if {
	every number, _ in _numbers {
		request := _with_number(number)
		naming := _naming_walk with input as request
		cheap := {true | rxrego._number_out_of_range} with input as request
		cheap == {true | count(naming) > 0}
		_fields(rxrego.number_errors) == _fields(naming) with input as request
	}
}

_message(text) := sprintf("the number %s is outside the accepted range (%s)", [text, rxrego._number_range])

# A message shows a number's first 37 characters and "..." when it has more than 40.
_shown(number) := number if count(number) <= 40

_shown(number) := concat("", [substring(number, 0, 37), "..."]) if count(number) > 40

test_a_refused_number_is_the_whole_answer_and_named_in_its_own_text if {
	every number in _refused {
		decision := rxrego.decision with input as _with_number(number)
		decision.outcome == "invalid_request"
		decision.errors == {{
			"field": _deep_field,
			"message": _message(_shown(number)),
		}}
	}
}

test_an_accepted_number_lets_the_policy_decide if {
	every number in _accepted {
		decision := rxrego.decision with input as _with_number(number)
		decision.outcome != "invalid_request"
	}
}

# Several numbers out of range, at every depth and in every kind of container: each is named.
test_every_number_out_of_range_is_named if {
	request := json.unmarshal(concat("", [
		`{"request_type": "initial", "date_of_service": "2026-06-15", "drug": {"hcpcs": "J9229"},`,
		`"quantity": {"units": 1e16, "days_supply": 30},`,
		`"labs": [[[2, -1E+999]], [{"a": {"b": {"c": [0, 1e-16]}}}]],`,
		`"prior_therapies": [{"cycles": 3}, {"cycles": 123456789012345678901234567890}]}`,
	]))
	errors := rxrego.number_errors with input as request
	_fields(errors) == {"quantity.units", "labs[0][0][1]", "labs[1][0].a.b.c[1]", "prior_therapies[1].cycles"}
	_fields(errors) == _fields(_naming_walk) with input as request
	{e.message | some e in errors} == {
		_message("1e16"),
		_message("-1E+999"),
		_message("1e-16"),
		_message("123456789012345678901234567890"),
	}
}

# Numbers at the top of the request and in it as the only value of a key are walked too.
test_a_number_anywhere_in_the_request_is_checked if {
	errors := rxrego.number_errors with input as json.unmarshal(`{"request_type": 1e16, "x": {"y": {"z": 5e-20}}}`)
	_fields(errors) == {"request_type", "x.y.z"}
}

# A request that is not an object is refused as such, however big its numbers.
test_a_request_that_is_not_an_object_has_no_number_errors if {
	every text in ["1e16", "[1e16, [1E+999]]", "-1e-999"] {
		request := json.unmarshal(text)
		not rxrego._number_out_of_range with input as request
		count(rxrego.number_errors) == 0 with input as request
		rxrego.decision.errors == {{"field": "", "message": "the request must be a JSON object"}} with input as request
	}
}
