# METADATA
# title: rxrego decision-log mask
# description: >-
#   OPA evaluates data.system.log.mask before it writes a decision-log entry (input: the
#   entry, with the request as input.input and the answer as input.result). The mask is an
#   allow-list: the logged input of a decision is REPLACED by the few facts an auditor needs
#   (request_id, request_type, date_of_service and the drug's hcpcs, ndc and name, each only
#   when it has the expected type), whatever else the request held and whatever its shape.
#   A batch keeps those facts for each request when requests is a list, nothing otherwise.
#   The answer (outcome, reasons, policy and version, criteria met and unmet) is the policy's
#   own words and stays. Any other query has its input and result erased, and an ad-hoc query
#   is not logged at all (`drop`). What is logged and why: docs/decision-log.md.
package system.log

# The two paths whose entries keep an allow-listed input and their answer.
_decision := "rxrego/decision"

_decisions := "rxrego/decisions"

# METADATA
# description: >-
#   Upsert the allow-listed facts over the whole input (OPA replaces /input with the value),
#   for the decision paths; erase input and result for anything else.
# scope: document
# entrypoint: true
mask contains {"op": "upsert", "path": "/input", "value": _kept} if _decision_path

mask contains "/input" if not _decision_path

mask contains "/result" if not _decision_path

_decision_path if input.path in {_decision, _decisions}

# METADATA
# description: >-
#   Drop the entry of an ad-hoc query (POST /v1/query, possible only without the token
#   policy): its text may hold a request written into it, and a mask cannot reach it.
# entrypoint: true
drop if object.get(input, "query", "") != ""

# The logged input: one request's facts, or each request's facts in a batch. A batch whose
# requests is not a list is answered invalid_request and logged with no request at all.
default _kept := {}

_kept := facts(input.input) if {
	input.path == _decision
} else := {"requests": [_facts_of_text(json.marshal(request)) | some request in input.input.requests]} if {
	input.path == _decisions
	is_array(input.input.requests)
}

# METADATA
# description: >-
#   The allow-listed facts of one request: an object holding at most request_id (a string),
#   request_type (initial or renewal), date_of_service (a string shaped YYYY-MM-DD) and drug
#   (at most hcpcs, ndc and name, strings). Anything else, of any shape, is left out.
facts(request) := _facts_of_text(json.marshal(request))

# The facts, from the request's JSON text. No function here is given a value of the
# request that is not a string: OPA compares a call's arguments with earlier calls'
# (memoization), and v1.20.2 panicked comparing a number such as 1e-10000000 with another
# (docs/semantics.md, "Numbers"): one batch holding 0.5 in one request and 1e-10000000 in
# another crashed it here, after the decision. v1.22.4 refuses such numbers when it reads the
# input; this keeps the mask safe whichever OPA runs it. A text argument compares as text.
_facts_of_text(text) := object.union(scalars, drug) if {
	request := json.unmarshal(text)
	scalars := {key: value |
		some key in ["request_id", "request_type", "date_of_service"]
		value := object.get(request, key, null)
		is_string(value)
		_fits(key, value)
	}
	drug := {"drug": given |
		given := {key: value |
			some key in ["hcpcs", "ndc", "name"]
			value := object.get(object.get(request, "drug", {}), key, null)
			is_string(value)
		}
		count(given) > 0
	}
}

# At most 128 characters (rxrego.limits.MAX_REQUEST_ID_CHARS; the router refuses a longer
# one): a longer text is no case number, and could be anything.
_fits("request_id", value) if count(value) <= 128

_fits("request_type", value) if value in {"initial", "renewal"}

_fits("date_of_service", value) if regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, value)
