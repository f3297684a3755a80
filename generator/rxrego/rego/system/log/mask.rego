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
} else := {"requests": [facts(request) | some request in input.input.requests]} if {
	input.path == _decisions
	is_array(input.input.requests)
}

# METADATA
# description: >-
#   The allow-listed facts of one request: an object holding at most request_id (a string),
#   request_type (initial or renewal), date_of_service (a string shaped YYYY-MM-DD) and drug
#   (at most hcpcs, ndc and name, strings). Anything else, of any shape, is left out.
facts(request) := object.union_n([
	_string(request, "request_id"),
	_request_type(request),
	_date_of_service(request),
	_drug(request),
])

_string(doc, key) := {key: doc[key]} if is_string(doc[key])

else := {}

_request_type(request) := {"request_type": request.request_type} if request.request_type in {"initial", "renewal"}

else := {}

_date_of_service(request) := {"date_of_service": request.date_of_service} if {
	is_string(request.date_of_service)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, request.date_of_service)
} else := {}

_drug(request) := {"drug": drug} if {
	drug := object.union_n([_string(request.drug, "hcpcs"), _string(request.drug, "ndc"), _string(request.drug, "name")])
	count(drug) > 0
} else := {}
