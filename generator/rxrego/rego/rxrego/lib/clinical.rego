# rxrego shared library: clinical facts (docs/semantics.md, "Clinical facts"): capped
# quantities, body measurements, doses, therapy history, procedures and who prescribes.
# Unit factors come from the generator (rxrego.terminology.ucum). Each test returns "met",
# "unmet", "unknown" or "invalid" for any input.
package rxrego.lib

# --- quantity ---------------------------------------------------------------------------
# limit: {"max_units", "per_days", "max_days_supply", "whole_units"}. The days supply is
# capped (a 420-day supply of a 42-day limit is not pro-rated into compliance), and units
# must be whole when the product is dispensed in whole units (vials, tablets).
quantity(units_fact, days_fact, limit) := "invalid" if {
	units_fact.state != "absent"
	not _quantity_units(object.get(units_fact, "value", null), limit)
} else := "invalid" if {
	days_fact.state != "absent"
	not _usable_days(days_fact)
} else := "unknown" if {
	"absent" in {units_fact.state, days_fact.state}
} else := "unmet" if {
	days_fact.value > limit.max_days_supply
} else := "met" if {
	units_fact.value * limit.per_days <= limit.max_units * days_fact.value
} else := "unmet"

_quantity_units(x, limit) if {
	is_number(x)
	regex.match(_plain_number, json.marshal(x))
	x >= 0
	_whole_if(x, limit.whole_units)
}

_whole_if(_, false)

_whole_if(x, true) if x == floor(x)

# --- body measurements ------------------------------------------------------------------
# A measurement is {"value": number, "unit": string, "date"?: date or FHIR dateTime};
# factors: {lower-case unit: factor into the policy's unit}. plausible: [low, high] in the
# policy's unit. on, born: the date of service and the birth date (birth_day): a date
# outside them contradicts the request.
measurement(given, factors, plausible, on, born) := {"state": "absent"} if {
	given.state == "absent"
} else := {"state": "invalid"} if {
	not is_object(object.get(given, "value", null))
} else := {"state": "invalid"} if {
	object.get(given.value, "date", null) != null
	not _dated_in_life(given.value.date, on, born)
} else := {"state": "unknown"} if {
	not _measure_readable(given.value, factors)
} else := {"state": "invalid"} if {
	not _plausible(given.value.value * factors[lower(given.value.unit)], plausible)
} else := {"state": "present", "value": given.value.value * factors[lower(given.value.unit)]}

_measure_readable(given, factors) if {
	is_number(given.value)
	is_string(given.unit)
	factors[lower(given.unit)]
}

# compared(measured, comparison, value): a measurement read by `measurement` against a
# threshold in the policy's unit.
compared(measured, comparison, value) := "unknown" if {
	measured.state in {"absent", "unknown"}
} else := "invalid" if {
	measured.state == "invalid"
} else := "met" if {
	_compare(measured.value, comparison, value)
} else := "unmet"

# bmi(weight_kg, height_m, stated, comparison, value): computed from weight and height
# when both are read, else the stated BMI (kg/m2). Compared without division:
# w / h^2 op v  <=>  w op v * h^2 (h > 0).
bmi(weight, height, stated, comparison, value) := "met" if {
	weight.state == "present"
	height.state == "present"
	_compare(weight.value, comparison, value * (height.value * height.value))
} else := "unmet" if {
	weight.state == "present"
	height.state == "present"
} else := "invalid" if {
	"invalid" in {weight.state, height.state}
} else := compared(stated, comparison, value)

# age_months(birth, service, min, max): completed months, the largest n such that the
# birth date plus n calendar months (clamped to a shorter month's end) is on or before
# the date of service.
age_months(birth, service, min_months, max_months) := "unknown" if {
	birth.state == "absent"
} else := _in_range(months_between(birth.value, sprintf("%04d-%02d-%02d", service)), min_months, max_months) if {
	is_array(service)
	parts := date_parts(birth.value)
	parts <= service
} else := "invalid"

months_between(birth, on) := n - 1 if {
	[by, bm, _] := date_parts(birth)
	[oy, om, _] := date_parts(on)
	n := ((oy - by) * 12) + (om - bm)
	add_months(birth, n) > on
} else := ((oy - by) * 12) + (om - bm) if {
	[by, bm, _] := date_parts(birth)
	[oy, om, _] := date_parts(on)
}

# --- doses ------------------------------------------------------------------------------
# dose: {"amount", "unit", "every_days"} (one dose every `every_days` days); limit:
# {"max", "units": {lower-case unit: factor into the policy's unit}, "period": "dose" |
# "day" | "week", "basis": "none" | "kg" | "m2"}. The amount in a period is the most any
# day (or week) receives at the stated interval: amount x the doses one period can hold,
# max(1, ceil(period_days / every_days)), to within 1/10,000 of a dose (docs/semantics.md,
# "Doses"), so a dose larger than a daily cap exceeds it however rarely it is given. Per kg
# it is divided by the weight, per m2 by the body surface area (Mosteller: sqrt(height_cm *
# weight_kg / 3600)), compared without division or roots: amount <= max * basis, and for m2
# squared. Per day or week without every_days: unknown (the interval is asked for). With
# limit.every_days, the labeled interval must be kept too (as a table row's).
dose(dose_fact, weight, height, limit) := all_of([
	_dose_amount(dose_fact, weight, height, limit),
	_every_days(object.get(dose_fact, "value", null), object.get(limit, "every_days", null)),
])

_dose_amount(dose_fact, weight, height, limit) := "unknown" if {
	dose_fact.state == "absent"
} else := "invalid" if {
	not _dose_readable(object.get(dose_fact, "value", null), limit)
} else := "unknown" if {
	not limit.units[lower(dose_fact.value.unit)]
} else := "unknown" if {
	not _every_given(dose_fact.value, limit)
} else := _dose_compare(
	(dose_fact.value.amount * limit.units[lower(dose_fact.value.unit)]) * _doses_in_period(dose_fact.value, limit),
	limit.max,
	weight,
	height,
	limit.basis,
)

_period_days := {"dose": 1, "day": 1, "week": 7}

# The doses one period can hold at the interval: a dose a day or less often, one; more
# often, the whole doses started within the period (0.0001: an interval written in decimals,
# such as 0.333333 for three a day, is not read as a fourth dose).
_doses_in_period(_, limit) := 1 if limit.period == "dose"

_doses_in_period(d, limit) := max([1, ceil((_period_days[limit.period] / d.every_days) - 0.0001)]) if {
	limit.period != "dose"
}

_every_given(_, limit) if limit.period == "dose"

_every_given(d, _) if is_number(d.every_days)

_dose_readable(d, limit) if {
	is_object(d)
	is_number(d.amount)
	d.amount >= 0
	is_string(d.unit)
	_every_readable(d, limit)
}

_every_readable(_, limit) if limit.period == "dose"

_every_readable(d, _) if object.get(d, "every_days", null) == null

_every_readable(d, _) if {
	is_number(d.every_days)
	d.every_days > 0
}

_dose_compare(amount, cap, _, _, "none") := "met" if {
	amount <= cap
} else := "unmet"

_dose_compare(amount, cap, weight, _, "kg") := "met" if {
	weight.state == "present"
	amount <= cap * weight.value
} else := "unmet" if {
	weight.state == "present"
} else := "invalid" if {
	weight.state == "invalid"
} else := "unknown"

_dose_compare(amount, cap, weight, height, "m2") := "met" if {
	weight.state == "present"
	height.state == "present"
	(3600 * amount) * amount <= ((cap * cap) * height.value) * weight.value
} else := "unmet" if {
	weight.state == "present"
	height.state == "present"
} else := "invalid" if {
	"invalid" in {weight.state, height.state}
} else := "unknown"

# --- dose tables (docs/semantics.md, "Dose tables") -------------------------------------
# dose_table(dose_fact, weight, height, limit, keys, rows): limit as for `dose`, without
# "max"; keys: one reading per column, {"state": "present", "values": [...]} or {"state":
# "absent" | "unknown" | "invalid"} (product_key, measure_key, lab_key); rows: [{"bands": [a
# band per column: {"products": {ids}} or {"bounds": [[op, number], ...]}], "max", "every_days"
# (null: not stated)}]. The row whose bands hold every value of every key decides; none:
# unmet (the label gives no dose for these facts).
dose_table(dose_fact, weight, height, limit, keys, rows) := all_of([
	_table_keys(keys),
	_dose_read(dose_fact, limit),
]) if {
	_table_keys(keys) != "met"
} else := all_of(["unmet", _dose_read(dose_fact, limit)]) if {
	count(_rows_holding(keys, rows)) == 0
} else := all_of([
	dose(dose_fact, weight, height, object.union(limit, {"max": row.max})),
	_every_days(object.get(dose_fact, "value", null), row.every_days),
]) if {
	row := _rows_holding(keys, rows)[0]
}

_table_keys(keys) := "invalid" if {
	some k in keys
	k.state == "invalid"
} else := "unknown" if {
	some k in keys
	k.state != "present"
} else := "met"

_rows_holding(keys, rows) := [row |
	some row in rows
	every i, k in keys {
		every v in k.values {
			_in_band(v, row.bands[i])
		}
	}
]

_in_band(v, band) if v in band.products

_in_band(v, band) if {
	is_number(v)
	every bound in band.bounds {
		_compare(v, bound[0], bound[1])
	}
}

# The dose read without a row: absent or in a unit that does not convert, unknown;
# malformed, invalid.
_dose_read(dose_fact, limit) := "unknown" if {
	dose_fact.state == "absent"
} else := "invalid" if {
	not _dose_readable(object.get(dose_fact, "value", null), limit)
} else := "unknown" if {
	not limit.units[lower(dose_fact.value.unit)]
} else := "met"

# The labeled interval: a dose every `every_days` days at the most often.
_every_days(d, days) := "met" if {
	days == null
} else := "unknown" if {
	d == null
} else := "invalid" if {
	not is_object(d)
} else := "unknown" if {
	object.get(d, "every_days", null) == null
} else := "invalid" if {
	not is_number(d.every_days)
} else := "invalid" if {
	d.every_days <= 0
} else := "met" if {
	d.every_days >= days
} else := "unmet"

# product_key(products): the products the request's drug identifiers name, as a column.
product_key(products) := {"state": "present", "values": sort([p | some p in products])} if {
	count(products) > 0
} else := {"state": "absent"}

# indication_key(choice): the indication the request is decided under (lib.indication's
# choice: {"id"}; a gate or an invalid choice decides no indication), as a column.
indication_key(choice) := {"state": "present", "values": [choice.id]} if {
	is_string(choice.id)
} else := {"state": "absent"}

# measure_key(m): a body measurement read by `measurement`, as a column.
measure_key(m) := {"state": "present", "values": [m.value]} if {
	m.state == "present"
} else := {"state": m.state}

# --- therapy history --------------------------------------------------------------------
# history(entries, value_set, rule, on, born): rule: {"results": {results} (or {"any"}), "n",
# "each_agent", "min_days", "any_agent"} and, when the spec gives them, "min_months" and
# "min_daily_dose". An entry counts when it is in the value set (or any_agent), ended with a
# listed result and, with min_days or min_months, lasted long enough: from start_date to
# end_date (or the date of service while there is no end) at least min_days days, or at
# least min_months calendar months (start_date plus min_months months, the day clamped to a
# shorter month's end, on or before the end); a contraindicated agent was never taken, so
# its length is not asked. With rule.min_daily_dose ({"agents": {agent: least amount a
# day}, "units": {lower-case unit: factor}}), a trial of a listed agent counts at that daily
# dose or more: dose.amount x factor >= least x dose.every_days; no dose, a dose without
# every_days (absent or null: the interval is asked for, never taken as daily), or a unit
# that does not convert, leaves it possible; a dose that is not {amount >= 0, unit,
# every_days > 0?} is malformed, and so is an entry dated after the date of service `on` or
# before the birth date `born` (birth_day). An entry that could still count once a result,
# a date or a dose is known is "possible".
history(entries, value_set, rule, on, born) := "unknown" if {
	entries.state == "absent"
} else := "met" if {
	# The common case, in one pass and without a call per entry: no length asked, and
	# enough agents with a listed result among the well-formed entries without dates (how
	# many: _history_n, written in place). An entry is in the value set as _history_match
	# says, written in place: any agent, its agent, or (unless each agent must count) its
	# class.
	is_array(entries.value)
	object.get(rule, "min_days", null) == null
	object.get(rule, "min_months", null) == null
	object.get(rule, "min_daily_dose", null) == null
	classes := object.get({false: value_set.classes}, rule.each_agent, set())
	count({agent |
		some e in entries.value
		e.result in rule.results
		is_string(e.agent)
		agent := lower(e.agent)
		class := object.get(e, "class", null)
		type_name(class) in {"null", "string"}
		object.get(e, "start_date", null) == null
		object.get(e, "end_date", null) == null
		true in [rule.any_agent, agent in value_set.agents, class in classes]
	}) >= object.get({true: count(value_set.agents)}, rule.each_agent, rule.n)
} else := _history_count(entries.value, matching, rule, [on, born], _history_n(value_set, rule)) if {
	is_array(entries.value)

	# The well-formed entries of the value set, found once.
	matching := [e |
		some e in entries.value
		_well_formed_history(e, on, born)
		_history_match(e, value_set, rule)
	]
} else := "invalid"

# Distinct agents: n that count make it met, else n that may count make it unknown.
_history_count(entries, matching, rule, [on, born], n) := "met" if {
	count({lower(e.agent) | some e in matching; _counts(e, rule, on)}) >= n
} else := "unknown" if {
	count({lower(e.agent) | some e in matching; _may_count(e, rule, on)}) >= n
} else := "invalid" if {
	some e in entries
	not _well_formed_history(e, on, born)
} else := "invalid" if {
	# Every entry is well formed here: the matching ones are those of the value set.
	some e in matching
	_trial_dose_given(e, rule)
	not _history_dose_readable(e.dose)
} else := "unmet"

_history_n(value_set, rule) := count(value_set.agents) if {
	rule.each_agent
} else := rule.n

# Each helper below is one else chain: a branch is evaluated only when the one before fails.
_history_match(e, value_set, rule) if {
	rule.any_agent
} else if {
	lower(e.agent) in value_set.agents
} else if {
	not rule.each_agent
	e.class in value_set.classes
}

_counts(e, rule, on) if {
	_result_listed(e, rule)
	_long_enough(e, rule, on)
	_dose_enough(e, rule)
}

_may_count(e, rule, on) if {
	_result_listed_or_absent(e, rule)
	_long_enough_or_unknown(e, rule, on)
	_dose_enough_or_unknown(e, rule)
}

# The entry's dose is read: the rule sets a least dose for its agent, it was taken (not
# contraindicated) and it gives a dose.
_trial_dose_given(e, rule) if {
	_least_dose(e, rule)
	object.get(e, "result", null) != "contraindicated"
	object.get(e, "dose", null) != null
}

_least_dose(e, rule) := object.get(rule, "min_daily_dose", {"agents": {}}).agents[lower(e.agent)]

_dose_enough(e, rule) if not _least_dose(e, rule)

_dose_enough(e, rule) if {
	_least_dose(e, rule)
	e.result == "contraindicated"
}

_dose_enough(e, rule) if {
	_trial_dose_given(e, rule)
	_history_dose_readable(e.dose)
	is_number(object.get(e.dose, "every_days", null))
	factor := rule.min_daily_dose.units[lower(e.dose.unit)]
	e.dose.amount * factor >= _least_dose(e, rule) * e.dose.every_days
}

_dose_enough_or_unknown(e, rule) if _dose_enough(e, rule)

_dose_enough_or_unknown(e, rule) if {
	_least_dose(e, rule)
	object.get(e, "dose", null) == null
}

_dose_enough_or_unknown(e, rule) if {
	_least_dose(e, rule)
	object.get(e, "result", null) == null
	_history_dose_readable(e.dose)
}

_dose_enough_or_unknown(e, rule) if {
	_trial_dose_given(e, rule)
	_history_dose_readable(e.dose)
	not rule.min_daily_dose.units[lower(e.dose.unit)]
}

# A dose without its interval (every_days absent or null) could be any amount a day: the
# trial may count once the interval is known, and is never counted as daily.
_dose_enough_or_unknown(e, rule) if {
	_trial_dose_given(e, rule)
	_history_dose_readable(e.dose)
	object.get(e.dose, "every_days", null) == null
}

_history_dose_readable(d) if {
	is_object(d)
	is_number(d.amount)
	d.amount >= 0
	is_string(d.unit)
	_every_absent_or_readable(d)
}

_result_listed(_, rule) if "any" in rule.results

_result_listed(e, rule) if e.result in rule.results

_result_listed_or_absent(e, rule) if _result_listed(e, rule)

_result_listed_or_absent(e, _) if object.get(e, "result", null) == null

_long_enough(_, rule, _) if not _timed(rule)

_long_enough(e, _, _) if e.result == "contraindicated"

_long_enough(e, rule, on) if {
	rule.min_days != null
	days_between(e.start_date, _trial_end(e, on)) >= rule.min_days
}

_long_enough(e, rule, on) if {
	months := object.get(rule, "min_months", null)
	months != null
	add_months(e.start_date, months) <= _trial_end(e, on)
}

# _timed(rule): the rule asks for a minimum trial length.
_timed(rule) if rule.min_days != null

_timed(rule) if object.get(rule, "min_months", null) != null

_long_enough_or_unknown(e, rule, on) if _long_enough(e, rule, on)

_long_enough_or_unknown(e, rule, _) if {
	_timed(rule)
	object.get(e, "start_date", null) == null
}

_long_enough_or_unknown(e, rule, _) if {
	_timed(rule)
	object.get(e, "result", null) == null
}

_trial_end(e, on) := e.end_date if {
	is_string(e.end_date)
} else := on if {
	object.get(e, "end_date", null) == null
}

# Well formed: an object with a string agent; class and result strings when given; dates
# real calendar days when given, within the patient's life (not after the date of service
# `on`, not before the birth date `born`), the end not before the start.
_well_formed_history(e, on, born) if {
	is_object(e)
	is_string(e.agent)
	type_name(object.get(e, "class", null)) in {"null", "string"}
	object.get(e, "result", null) in _therapy_results
	_well_dated(object.get(e, "start_date", null), object.get(e, "end_date", null), on, born)
}

# A trial's result: absent (null), or one of the closed list (compared exactly: "Failed"
# is no result, and the entry is malformed).
_therapy_results := {null, "failed", "inadequate_response", "intolerant", "contraindicated", "ongoing", "completed"}

# An entry without dates, the common case, has none to parse.
_well_dated(start, end, on, born) if {
	start == null
	end == null
} else if {
	start == null
	_life_date(end, on, born)
} else if {
	end == null
	_life_date(start, on, born)
} else if {
	_life_date(start, on, born)
	_life_date(end, on, born)
	start <= end
}

_life_date(s, on, born) if {
	valid_date(s)
	in_life(s, on, born)
}

_optional_life_date(e, key, _, _) if object.get(e, key, null) == null

_optional_life_date(e, key, on, born) if _life_date(e[key], on, born)

# concurrent_therapy_required(entries, value_set): some well-formed concurrent therapy is
# in the value set.
concurrent_therapy_required(entries, value_set) := "unknown" if {
	entries.state == "absent"
} else := "met" if {
	is_array(entries.value)
	some entry in entries.value
	_well_formed_concurrent(entry)
	_in_value_set(entry, value_set)
} else := "unmet" if {
	is_array(entries.value)
	every entry in entries.value {
		_well_formed_concurrent(entry)
	}
} else := "invalid"

# procedure(entries, names, within_days, on, born): a procedure entry {"name", "date"?}
# whose normalised name is one of `names` (and, with within_days, dated at most that many
# days before the date of service). An entry dated after the date of service `on` or
# before the birth date `born` (birth_day) contradicts the request: invalid.
procedure(entries, names, within_days, on, born) := "unknown" if {
	entries.state == "absent"
} else := "invalid" if {
	not is_array(object.get(entries, "value", null))
} else := "invalid" if {
	some e in entries.value
	not _well_formed_procedure(e, on, born)
} else := "met" if {
	some e in entries.value
	lab_name(e.name) in names
	_procedure_recent(e, within_days, on)
} else := "unknown" if {
	within_days != null
	some e in entries.value
	lab_name(e.name) in names
	object.get(e, "date", null) == null
} else := "unmet"

# procedure_count(entries, names, within_days, min_count, on, born): at least min_count
# distinct entries of the procedures named (one per name and date: the same event recorded
# twice counts once), each within within_days of the date of service when it is given.
# Entries of those names without a date could be within it: unknown when they could make
# up the count. Malformed entries make it invalid, as for procedure.
procedure_count(entries, names, within_days, min_count, on, born) := "unknown" if {
	entries.state == "absent"
} else := "invalid" if {
	not is_array(object.get(entries, "value", null))
} else := "invalid" if {
	some e in entries.value
	not _well_formed_procedure(e, on, born)
} else := "met" if {
	count(_procedures_counted(entries.value, names, within_days, on)) >= min_count
} else := "unknown" if {
	within_days != null
	undated := [e | some e in entries.value; lab_name(e.name) in names; object.get(e, "date", null) == null]
	count(_procedures_counted(entries.value, names, within_days, on)) + count(undated) >= min_count
} else := "unmet"

_procedures_counted(es, names, within_days, on) := {[lab_name(e.name), object.get(e, "date", null)] |
	some e in es
	lab_name(e.name) in names
	_procedure_recent(e, within_days, on)
}

_well_formed_procedure(e, on, born) if {
	is_object(e)
	is_string(e.name)
	_optional_life_date(e, "date", on, born)
}

_procedure_recent(_, null, _)

_procedure_recent(e, days, on) if {
	is_string(e.date)
	e.date <= on
	days_between(e.date, on) <= days
}

# --- who prescribes ---------------------------------------------------------------------
# prescribed_by(specialty, consulting, accepted, consultation): the prescriber's specialty
# is accepted, or (when the policy allows consultation) one of the consulting specialties
# is. consulting is the fact prescriber.consulting_specialties, a list ([] = none).
prescribed_by(specialty, consulting, accepted, consultation) := "met" if {
	is_string(specialty.value)
	lower(specialty.value) in accepted
} else := "met" if {
	consultation
	is_array(consulting.value)
	some s in consulting.value
	is_string(s)
	lower(s) in accepted
} else := "invalid" if {
	specialty.state != "absent"
	not is_string(object.get(specialty, "value", null))
} else := "invalid" if {
	consultation
	consulting.state != "absent"
	not _string_list(object.get(consulting, "value", null))
} else := "unknown" if {
	specialty.state == "absent"
} else := "unknown" if {
	consultation
	consulting.state == "absent"
} else := "unmet"

_string_list(xs) if {
	is_array(xs)
	every x in xs {
		is_string(x)
	}
}

# --- the course of the requested therapy ------------------------------------------------
# treatment_duration(start, on, born, rule): time on the requested drug, from the fact
# treatment.start_date to the date of service `on`, compared with rule {"comparison",
# "months" | "days"}: "<= 6 months" holds while `on` is on or before the start plus 6
# calendar months (clamped to a shorter month's end). A start after the date of service,
# or before the birth date `born` (birth_day), contradicts a time on the drug: invalid.
treatment_duration(start, on, born, rule) := "unknown" if {
	start.state == "absent"
} else := "invalid" if {
	not date_parts(object.get(start, "value", null))
} else := "invalid" if {
	not in_life(start.value, on, born)
} else := "met" if {
	_dates_compare(on, rule.comparison, _duration_end(start.value, rule))
} else := "unmet"

_duration_end(start, rule) := add_months(start, rule.months) if {
	is_number(object.get(rule, "months", null))
} else := add_days(start, rule.days)

_dates_compare(a, "<", b) if a < b

_dates_compare(a, "<=", b) if a <= b

_dates_compare(a, ">", b) if a > b

_dates_compare(a, ">=", b) if a >= b

# dose_regimen(dose_fact, regimen): the prescribed dose {"amount", "unit", "every_days"} is
# one of regimen.amounts (in the policy's unit, by regimen.units factors; within a part in a
# million) given every regimen.every_days days. An amount not listed is unmet whatever the
# frequency; a listed one with no frequency is unknown.
dose_regimen(dose_fact, regimen) := "unknown" if {
	dose_fact.state == "absent"
} else := "invalid" if {
	not _dose_readable(object.get(dose_fact, "value", null), {"period": "dose"})
} else := "invalid" if {
	not _every_absent_or_readable(dose_fact.value)
} else := "unknown" if {
	not regimen.units[lower(dose_fact.value.unit)]
} else := "unmet" if {
	not _listed_amount(dose_fact.value.amount * regimen.units[lower(dose_fact.value.unit)], regimen.amounts)
} else := "unknown" if {
	object.get(dose_fact.value, "every_days", null) == null
} else := "met" if {
	dose_fact.value.every_days == regimen.every_days
} else := "unmet"

_every_absent_or_readable(d) if object.get(d, "every_days", null) == null

_every_absent_or_readable(d) if _every_readable(d, {"period": "week"})

_listed_amount(x, amounts) if {
	some a in amounts
	1000000 * abs(x - a) <= a
}

# --- months of the requested therapy received -----------------------------------------------
# therapy_received(months, min_months, max_months): therapy.months_received, a whole number
# >= 0, within the bounds (either may be null: no bound).
therapy_received(months, min_months, max_months) := "unknown" if {
	months.state == "absent"
} else := _in_range(months.value, min_months, max_months) if {
	is_number(months.value)
	months.value >= 0
	months.value == floor(months.value)
} else := "invalid"

# --- what a reviewer decides ------------------------------------------------------------------
# review(reason): a criterion no request fact decides (reason "not_seen": criteria of the
# policy its encoding did not see; "judgment": a criterion it saw that turns on something no
# request field carries, as a dose relative to the one before). Unknown, so a request that meets every other criterion
# pends for a reviewer, and one that fails another is decided by that one; a reason the
# library does not know is invalid (never met), though the spec schema admits none.
review(reason) := "unknown" if {
	reason in review_reasons
} else := "invalid"

review_reasons := {"not_seen", "judgment"}
