package rxrego_test

import data.rxrego
import data.rxrego.catalog_test

catalog := {
	"t_1": catalog_test.policy,
	"t_1_v2025_01_01": {"alias_of": "t_1", "policy": {"id": "t-1", "effective_date": "2025-01-01"}},
}

# The versions by name, as the router asks for them (a variable key: in a checkout the
# generated packages under data.rxrego.policies are linted beside these tests).
current := "t_1"

earlier := "t_1_v2025_01_01"

test_a_version_is_decided_by_the_interpreter if {
	req := catalog_test.request(true, true)
	d := rxrego.policies[current].decision with rxrego.catalog.policies as catalog with input as req
	d.outcome == "approved"
	d.policy == catalog_test.policy.policy
}

test_an_alias_is_its_target_decision_naming_itself if {
	req := catalog_test.request(true, false)
	target := rxrego.policies[current].decision with rxrego.catalog.policies as catalog with input as req
	alias := rxrego.policies[earlier].decision with rxrego.catalog.policies as catalog with input as req
	alias == object.union(target, {"policy": {"id": "t-1", "effective_date": "2025-01-01"}})
	alias.outcome == "denied"
}

test_request_types_are_a_set_for_versions_and_aliases if {
	rxrego.policies[current].request_types == {"initial"} with rxrego.catalog.policies as catalog
	rxrego.policies[earlier].request_types == {"initial"} with rxrego.catalog.policies as catalog
}

test_a_name_not_in_the_catalog_has_no_decision if {
	not rxrego.policies[concat("_", [current, "nope"])].decision with rxrego.catalog.policies as catalog
}
