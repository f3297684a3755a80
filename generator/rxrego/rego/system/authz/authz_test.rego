package system.authz_test

import data.system.authz

_token := "s3cret-token"

_sha256 := crypto.sha256(_token)

_decision := ["v1", "data", "rxrego", "decision"]

_decisions := ["v1", "data", "rxrego", "decisions"]

# The methods and paths the token holder may use, and the parameters each may carry.
test_the_token_holder_may_decide_and_ask_for_health if {
	every request in [
		{"method": "POST", "path": _decision},
		{"method": "POST", "path": _decisions},
		{"method": "POST", "path": _decision, "params": {"pretty": ["true"]}},
		{"method": "GET", "path": ["health"]},
		{"method": "GET", "path": ["health"], "params": {"bundles": [""]}},
		{"method": "GET", "path": ["health"], "params": {"plugins": [""], "exclude-plugin": ["decision_logs"]}},
	] {
		authz.allow with input as object.union(request, {"identity": _token})
			with authz.token.sha256 as _sha256
	}
}

# Everything else, for the token holder too: other methods, other paths, extra parameters.
test_the_token_holder_may_do_nothing_else if {
	every request in [
		{"method": "GET", "path": _decision},
		{"method": "PUT", "path": _decision},
		{"method": "DELETE", "path": _decision},
		{"method": "PATCH", "path": ["v1", "data"]},
		{"method": "POST", "path": ["v1", "data", "rxrego"]},
		{"method": "POST", "path": ["v1", "data", "rxrego", "lib"]},
		{"method": "POST", "path": ["v1", "data", "rxrego", "decision", "outcome"]},
		{"method": "POST", "path": ["v1", "data", "rxrego", "decision", ""]},
		{"method": "GET", "path": ["v1", "data"]},
		{"method": "GET", "path": ["v1", "data", "system", "authz", "token", "sha256"]},
		{"method": "PUT", "path": ["v1", "policies", "x"]},
		{"method": "GET", "path": ["v1", "policies"]},
		{"method": "POST", "path": ["v1", "query"]},
		{"method": "POST", "path": ["v1", "compile"]},
		{"method": "GET", "path": ["v1", "config"]},
		{"method": "GET", "path": ["v1", "status"]},
		{"method": "GET", "path": ["metrics"]},
		{"method": "POST", "path": []},
		{"method": "POST", "path": _decision, "params": {"explain": ["full"]}},
		{"method": "POST", "path": _decision, "params": {"metrics": ["true"], "instrument": ["true"]}},
		{"method": "POST", "path": _decision, "params": {"provenance": ["true"]}},
		{"method": "GET", "path": ["health"], "params": {"pretty": ["true"]}},
		{"method": "post", "path": _decision},
	] {
		not authz.allow with input as object.union(request, {"identity": _token})
			with authz.token.sha256 as _sha256
	}
}

# No caller but the token holder may do anything, even what the holder may.
test_other_callers_may_do_nothing if {
	every identity in [null, "", "s3cret-tokeN", "s3cret-token ", _sha256, 7, ["s3cret-token"]] {
		every request in [
			{"method": "POST", "path": _decision},
			{"method": "POST", "path": _decisions},
			{"method": "GET", "path": ["health"]},
		] {
			not authz.allow with input as object.union(request, {"identity": identity})
				with authz.token.sha256 as _sha256
		}
	}
}

test_a_request_without_identity_is_refused if {
	not authz.allow with input as {"method": "POST", "path": _decision}
		with authz.token.sha256 as _sha256
}

# The token module as shipped (an empty digest), or one that is not a digest: nobody is
# allowed anything, even a caller whose token hashes to it.
test_no_token_hash_allows_nobody if {
	every identity in ["", _token] {
		not authz.allow with input as {"method": "POST", "path": _decision, "identity": identity}
	}
	every digest in [null, 7, "", crypto.sha256("")] {
		not authz.allow with input as {"method": "POST", "path": _decision, "identity": ""}
			with authz.token.sha256 as digest
	}
}
