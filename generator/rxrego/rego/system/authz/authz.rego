# METADATA
# title: rxrego sidecar authorization
# description: >-
#   OPA's authorization policy (opa run --authentication=token --authorization=basic): the
#   caller whose bearer token hashes to data.system.authz.token.sha256 may POST the two
#   decision paths and GET /health, with the query parameters listed below, and nothing
#   else; nobody else may do anything. The token itself is never written down: rxrego writes
#   only its sha256, in the module system.authz.token (token/token.rego) beside this one.
package system.authz

import data.system.authz.token

# METADATA
# description: >-
#   [method, path, the query parameters allowed]. explain, instrument, provenance, metrics
#   and the like would reveal more than the decision, so they are not allowed.
endpoints := [
	["GET", ["health"], {"bundles", "plugins", "exclude-plugin"}],
	["POST", ["v1", "data", "rxrego", "decision"], {"pretty"}],
	["POST", ["v1", "data", "rxrego", "decisions"], {"pretty"}],
]

# METADATA
# description: >-
#   Whether OPA serves the request: only the token holder, on one of the endpoints, with
#   only its parameters.
# scope: document
# entrypoint: true
default allow := false

allow if {
	_token_holder
	some [method, path, params] in endpoints
	input.method == method
	input.path == path
	every name, _ in object.get(input, "params", {}) {
		name in params
	}
}

_token_holder if {
	is_string(input.identity)
	input.identity != ""
	count(token.sha256) == 64
	crypto.sha256(input.identity) == token.sha256
}
