# The data form of a catalog (`rxrego bundle --form data`) has no module per policy version:
# these rules give each version in data.rxrego.catalog.policies the two documents the router
# reads of one, data.rxrego.policies[name].decision and .request_types, decided by the
# shared interpreter (rxrego/catalog/catalog.rego). (The package's annotations are the
# router's.)
package rxrego

import data.rxrego.catalog

# The decision of each policy version for the request in `input`; an earlier version that
# decides as a newer one (`alias_of`): the newer one's decision, naming the earlier version.
policies[name].decision := catalog.decision(entry, input, _requested_products(entry)) if {
	some name, entry in catalog.policies
	not entry.alias_of
}

policies[name].decision := object.union(
	catalog.decision(catalog.policies[entry.alias_of], input, _requested_products(catalog.policies[entry.alias_of])),
	{"policy": entry.policy},
) if {
	some name, entry in catalog.policies
	entry.alias_of
}

# The request types each policy version has requirements for.
policies[name].request_types := {t | some t in _full(entry).request_types} if {
	some name, entry in catalog.policies
}

_full(entry) := catalog.policies[entry.alias_of]

_full(entry) := entry if not entry.alias_of

# The products the request's drug identifiers name (the router's `products`) for a policy
# whose criteria read them (as its module's `requested_products`); none when the router is
# not there (a policy decided alone) or the policy does not read them.
_requested_products(entry) := data.rxrego.products if entry.reads_products

else := set()
