# METADATA
# title: rxrego catalog interpreter
# description: >-
#   The data form of a catalog (rxrego/catalog.py, `rxrego bundle --form data`): each policy
#   version is bundle data under data.rxrego.catalog.policies, and these rules decide it by
#   calling the same library functions, with the same arguments, as the version's generated
#   module would. Only the data is per policy; OPA compiles these rules once.
package rxrego.catalog

import data.rxrego.lib

# decision(p, request, products): the decision of the policy version whose data is `p` (not
# an alias) for `request`; `products`: the products the request's drug identifiers name (the
# router's `products`). As the module's `decision` rule: the statuses of the request type's
# requirement set (with indications: of the chosen indication's criteria) only.
decision(p, request, products) := lib.decide(request, p.policy, p.coverage, p.texts, required, statuses, p.derived) if {
	not p.indications
	required := p.requirements[p.request_sets[request.request_type]]
	evaluated := statuses_of(p, _context(p, request, products), p.evaluate[request.request_type])
	statuses := {id: status | some id in p.select[request.request_type]; status := evaluated[id]}
}

decision(p, request, products) := lib.decide_indicated(
	request, p.policy, p.coverage, p.texts,
	required, choice, statuses, order, p.derived,
) if {
	p.indications
	name := p.request_sets[request.request_type]
	required := p.requirements[name]
	choice := lib.indication(request, required)
	order := object.get(p.derived.order[name], object.get(choice, "id", ""), [])
	statuses := statuses_of(p, _context(p, request, products), order)
}

# What a criterion's expression reads besides its literals: the request's facts (read once,
# those of the request type's set), the policy's value sets, the date of service (as parts
# and as given), the patient's birth date as dated facts read it, and the products requested
# (the module's `facts`, `value_sets`, `service_date`, `object.get(input, "date_of_service",
# null)`, `birth_day` and `requested_products`).
_context(p, request, products) := {
	"facts": lib.facts(request, p.fact_paths[p.request_sets[request.request_type]]),
	"value_sets": {id: {"agents": {a | some a in vs.agents}, "classes": {c | some c in vs.classes}} |
		some id, vs in p.value_sets
	},
	"service_date": lib.service_date(request),
	"date_of_service": object.get(request, "date_of_service", null),
	"birth_day": lib.birth_day(request),
	"products": products,
	"request": request,
	"required": p.requirements[p.request_sets[request.request_type]],
}

# statuses_of(p, context, ids): {id: status} of the criteria `ids` (which hold every
# criterion they refer to). Rules cannot recurse, so the criteria are evaluated one depth
# at a time: leaves (depth 0), then each combinator over the statuses of the depths below
# it, up to limits.MAX_CRITERION_DEPTH (16), which `rxrego check` enforces.
statuses_of(p, context, ids) := s16 if {
	wanted := {id | some id in ids}
	s0 := _level(p, context, wanted, 0, {})
	s1 := _up(p, context, wanted, 1, s0)
	s2 := _up(p, context, wanted, 2, s1)
	s3 := _up(p, context, wanted, 3, s2)
	s4 := _up(p, context, wanted, 4, s3)
	s5 := _up(p, context, wanted, 5, s4)
	s6 := _up(p, context, wanted, 6, s5)
	s7 := _up(p, context, wanted, 7, s6)
	s8 := _up(p, context, wanted, 8, s7)
	s9 := _up(p, context, wanted, 9, s8)
	s10 := _up(p, context, wanted, 10, s9)
	s11 := _up(p, context, wanted, 11, s10)
	s12 := _up(p, context, wanted, 12, s11)
	s13 := _up(p, context, wanted, 13, s12)
	s14 := _up(p, context, wanted, 14, s13)
	s15 := _up(p, context, wanted, 15, s14)
	s16 := _up(p, context, wanted, 16, s15)
}

# The statuses up to one depth: those below it and its own, once the policy's deepest
# criterion is reached the statuses as they are (no work for the levels a policy lacks).
_up(p, context, wanted, depth, below) := object.union(below, _level(p, context, wanted, depth, below)) if {
	depth < count(p.levels)
} else := below

# The statuses of the wanted criteria at one depth, given those below it (`p.levels`: the
# policy's criterion ids by depth).
_level(p, context, wanted, depth, below) := {id: status |
	some id in p.levels[depth]
	id in wanted
	status := _eval(p.criteria[id].expr, context, below)
}

# _eval(node, context, statuses): the value of an expression node (rxrego/catalog.py): a
# literal, a reference into the context or the statuses, an array of nodes or a call of a
# library function on nodes. Undefined where the module's expression is undefined: an
# argument without a value leaves the call (or the array) without one. Calls and arrays
# nest at most 6 deep (catalog.MAX_EXPR_HEIGHT), one function per level.
_eval(x, context, below) := _e6(x, context, below)

_e1(x, context, below) := _call(x.call, args) if {
	x.call
	args := [v | some y in x.args; v := _leaf(y, context, below)]
	count(args) == count(x.args)
} else := items if {
	x.array
	items := [v | some y in x.array; v := _leaf(y, context, below)]
	count(items) == count(x.array)
} else := _leaf(x, context, below)

_e2(x, context, below) := _call(x.call, args) if {
	x.call
	args := [v | some y in x.args; v := _e1(y, context, below)]
	count(args) == count(x.args)
} else := items if {
	x.array
	items := [v | some y in x.array; v := _e1(y, context, below)]
	count(items) == count(x.array)
} else := _leaf(x, context, below)

_e3(x, context, below) := _call(x.call, args) if {
	x.call
	args := [v | some y in x.args; v := _e2(y, context, below)]
	count(args) == count(x.args)
} else := items if {
	x.array
	items := [v | some y in x.array; v := _e2(y, context, below)]
	count(items) == count(x.array)
} else := _leaf(x, context, below)

_e4(x, context, below) := _call(x.call, args) if {
	x.call
	args := [v | some y in x.args; v := _e3(y, context, below)]
	count(args) == count(x.args)
} else := items if {
	x.array
	items := [v | some y in x.array; v := _e3(y, context, below)]
	count(items) == count(x.array)
} else := _leaf(x, context, below)

_e5(x, context, below) := _call(x.call, args) if {
	x.call
	args := [v | some y in x.args; v := _e4(y, context, below)]
	count(args) == count(x.args)
} else := items if {
	x.array
	items := [v | some y in x.array; v := _e4(y, context, below)]
	count(items) == count(x.array)
} else := _leaf(x, context, below)

_e6(x, context, below) := _call(x.call, args) if {
	x.call
	args := [v | some y in x.args; v := _e5(y, context, below)]
	count(args) == count(x.args)
} else := items if {
	x.array
	items := [v | some y in x.array; v := _e5(y, context, below)]
	count(items) == count(x.array)
} else := _leaf(x, context, below)

# A node without nodes inside: a literal, a fact, a value set, a rule of the module's
# (service_date, date_of_service, products), a status or an array of statuses.
_leaf(x, context, below) := _ref(kind, v, context, below) if some kind, v in x

# One function a kind of leaf node, chosen by the constant (OPA indexes it).
_ref("value", v, _, _) := v

_ref("set", v, _, _) := {e | some e in v}

_ref("typed", v, _, _) := typed(v[0], v[1])

_ref("fact", v, context, _) := context.facts[v]

_ref("value_set", v, context, _) := context.value_sets[v]

_ref("ref", v, context, _) := context[v]

# The indication the request is decided under (the module's `chosen_indication`), read only
# by the criteria that ask for it (a dosing table keyed by indication).
_ref("chosen_indication", _, context, _) := lib.indication(context.request, context.required)

_ref("status", v, _, below) := below[v]

_ref("statuses", v, _, below) := statuses if {
	statuses := [s | some id in v; s := below[id]]
	count(statuses) == count(v)
}

# The library functions a generated status expression calls, by name, on evaluated
# arguments (catalog.supported_functions reads this list; a policy calling another has no
# data form).

_call("age", a) := lib.age(a[0], a[1], a[2], a[3])

_call("age_months", a) := lib.age_months(a[0], a[1], a[2], a[3])

_call("all_of", a) := lib.all_of(a[0])

_call("any_of", a) := lib.any_of(a[0])

_call("at_least", a) := lib.at_least(a[0], a[1])

_call("attestation", a) := lib.attestation(a[0])

_call("biomarker", a) := lib.biomarker(a[0], a[1])

_call("bmi", a) := lib.bmi(a[0], a[1], a[2], a[3], a[4])

_call("clinical_status", a) := lib.clinical_status(a[0], a[1])

_call("coded", a) := lib.coded(a[0], a[1], a[2])

_call("compared", a) := lib.compared(a[0], a[1], a[2])

_call("concurrent_therapy_excluded", a) := lib.concurrent_therapy_excluded(a[0], a[1])

_call("concurrent_therapy_required", a) := lib.concurrent_therapy_required(a[0], a[1])

_call("diagnosis_codes", a) := lib.diagnosis_codes(a[0], a[1], a[2], a[3])

_call("documented", a) := lib.documented(a[0], a[1], a[2], a[3])

_call("dose", a) := lib.dose(a[0], a[1], a[2], a[3])

_call("dose_regimen", a) := lib.dose_regimen(a[0], a[1])

_call("dose_table", a) := lib.dose_table(a[0], a[1], a[2], a[3], a[4], a[5])

_call("indication_key", a) := lib.indication_key(a[0])

_call("history", a) := lib.history(a[0], a[1], a[2], a[3], a[4])

_call("lab_key", a) := lib.lab_key(a[0], a[1], a[2], a[3], a[4], a[5])

_call("lab_result", a) := lib.lab_result(a[0], a[1], a[2], a[3], a[4], a[5])

_call("measure_key", a) := lib.measure_key(a[0])

_call("measurement", a) := lib.measurement(a[0], a[1], a[2], a[3], a[4])

_call("negation", a) := lib.negation(a[0])

_call("prescribed_by", a) := lib.prescribed_by(a[0], a[1], a[2], a[3])

_call("prescriber_specialty", a) := lib.prescriber_specialty(a[0], a[1])

_call("procedure", a) := lib.procedure(a[0], a[1], a[2], a[3], a[4])

_call("procedure_count", a) := lib.procedure_count(a[0], a[1], a[2], a[3], a[4], a[5])

_call("product_key", a) := lib.product_key(a[0])

_call("quantity", a) := lib.quantity(a[0], a[1], a[2])

_call("requested_product", a) := lib.requested_product(a[0], a[1])

_call("therapy_received", a) := lib.therapy_received(a[0], a[1], a[2])

_call("review", a) := lib.review(a[0])

_call("therapy_start", a) := lib.therapy_start(a[0], a[1], a[2], a[3])

_call("treatment_duration", a) := lib.treatment_duration(a[0], a[1], a[2], a[3])

_call("when", a) := lib.when(a[0], a[1])

# typed(depth, x): a literal written as JSON with its sets as {"$set": [...]} (JSON has no
# sets), as Rego data; `depth`: how deep its containers nest, at most 8
# (catalog.MAX_VALUE_DEPTH), one function a level.
typed(1, x) := _t1(x)

typed(2, x) := _t2(x)

typed(3, x) := _t3(x)

typed(4, x) := _t4(x)

typed(5, x) := _t5(x)

typed(6, x) := _t6(x)

typed(7, x) := _t7(x)

typed(8, x) := _t8(x)

_t0(x) := x

_t1(x) := {_t0(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t0(e) | some e in x] if {
	is_array(x)
} else := {k: _t0(e) | some k, e in x} if {
	is_object(x)
} else := x

_t2(x) := {_t1(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t1(e) | some e in x] if {
	is_array(x)
} else := {k: _t1(e) | some k, e in x} if {
	is_object(x)
} else := x

_t3(x) := {_t2(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t2(e) | some e in x] if {
	is_array(x)
} else := {k: _t2(e) | some k, e in x} if {
	is_object(x)
} else := x

_t4(x) := {_t3(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t3(e) | some e in x] if {
	is_array(x)
} else := {k: _t3(e) | some k, e in x} if {
	is_object(x)
} else := x

_t5(x) := {_t4(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t4(e) | some e in x] if {
	is_array(x)
} else := {k: _t4(e) | some k, e in x} if {
	is_object(x)
} else := x

_t6(x) := {_t5(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t5(e) | some e in x] if {
	is_array(x)
} else := {k: _t5(e) | some k, e in x} if {
	is_object(x)
} else := x

_t7(x) := {_t6(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t6(e) | some e in x] if {
	is_array(x)
} else := {k: _t6(e) | some k, e in x} if {
	is_object(x)
} else := x

_t8(x) := {_t7(e) | some e in x["$set"]} if {
	is_object(x)
	object.keys(x) == {"$set"}
} else := [_t7(e) | some e in x] if {
	is_array(x)
} else := {k: _t7(e) | some k, e in x} if {
	is_object(x)
} else := x
