# rxrego shared library, clinical facts (docs/semantics.md, "Clinical facts").
#
# The tests over clinical facts a policy cannot read by a single lookup: lab results
# identified by LOINC code or name and converted to the policy's unit, diagnosis codes
# checked for ICD-10-CM form, quantities, doses, body measurements, therapy history and
# procedures. Every unit conversion factor and code set is computed by the generator
# (rxrego.terminology), so these functions only look up and multiply. Each returns "met",
# "unmet", "unknown" or "invalid" for any input.
package rxrego.lib

# --- lab results ------------------------------------------------------------------------
# test: {
#   "names": {normalised names}, "codes": {LOINC codes}, "units": {lower-case unit: factor},
#   "comparison", "value" (null unless absolute), "times_uln" (null unless a multiple of the
#   upper limit of normal), "uln" (the spec's ULN in its unit, or null), "change" (null,
#   "absolute" or "percent"), "plausible": [low, high] (either may be null),
#   "which": "latest" | "baseline" | "after", "after_days", "within_days"
# }
# on: the date of service as given; anchor: the fact treatment.start_date (or null when
# the test reads no anchor).
lab_result(labs, on, anchor, test) := "unknown" if {
	labs.state == "absent"
} else := "invalid" if {
	not is_array(labs.value)
} else := _lab_status(on, anchor, test, [r | some r in labs.value; _this_lab(r, test)])

# A result is this lab's by its LOINC code; a result without a code (or a spec without
# codes) by its name, compared without case, spaces, underscores, hyphens or dots.
_this_lab(r, test) if {
	is_string(r.code)
	r.code in test.codes
}

_this_lab(r, test) if {
	is_object(r)
	not is_string(object.get(r, "code", null))
	is_string(r.name)
	lab_name(r.name) in test.names
}

_this_lab(r, test) if {
	count(test.codes) == 0
	is_string(r.name)
	lab_name(r.name) in test.names
}

# lab_name("LDL-C") == lab_name("ldl_c") == "ldlc".
lab_name(name) := regex.replace(lower(name), `[ _.\-]`, "")

_lab_status(_, _, _, results) := "unmet" if {
	count(results) == 0
} else := "invalid" if {
	# A result that cannot be placed in time could be the newest.
	some r in results
	not date_parts(object.get(r, "date", null))
} else := _lab_anchored(on, anchor, test, results)

_lab_anchored(on, anchor, test, results) := _lab_compare_pick(_lab_pick(results, "", on, test), test, on) if {
	test.which == "latest"
	test.change == null
} else := "unknown" if {
	anchor.state == "absent"
} else := "invalid" if {
	not date_parts(anchor.value)
} else := _lab_compare_pick(_lab_pick(results, "", _day_before(anchor.value), test), test, anchor.value) if {
	test.which == "baseline"
	test.change == null
} else := _lab_compare_pick(_lab_pick(results, add_days(anchor.value, test.after_days), on, test), test, on) if {
	test.which == "after"
	test.change == null
} else := _lab_change(
	_lab_pick(results, "", _day_before(anchor.value), test),
	_lab_pick(results, anchor.value, on, test),
	test,
)

# The results dated from `from` ("" for no lower bound) to `to`, both included, on the
# newest such date: {"state": "none" | "unknown" | "invalid" | "ok", "date", "values", "ulns"}.
_lab_pick(results, from, to, test) := {"state": "none"} if {
	count(_in_window(results, from, to)) == 0
} else := _lab_read(newest, [r | some r in window; r.date == newest], test) if {
	window := _in_window(results, from, to)
	newest := max({r.date | some r in window})
}

_in_window(results, from, to) := [r | some r in results; from <= r.date; r.date <= to]

_lab_read(day, latest, test) := {"state": "invalid"} if {
	some r in latest
	_readable(r, test)
	not _plausible(_converted(r, test), test.plausible)
} else := {"state": "unknown"} if {
	some r in latest
	not _readable(r, test)
} else := _lab_ok(day, latest, test)

_lab_ok(day, latest, test) := {"state": "ok", "date": day, "values": values, "ulns": ulns} if {
	values := [_converted(r, test) | some r in latest]
	ulns := [_result_uln(r, test) | some r in latest]
}

_converted(r, test) := r.value * test.units[lower(r.unit)]

_readable(r, test) if {
	is_number(r.value)
	is_string(r.unit)
	test.units[lower(r.unit)]
}

_plausible(x, [low, high]) if {
	_at_least_bound(x, low)
	_at_most_bound(x, high)
}

# The upper limit of normal the result carries (in its own unit), else the spec's, else null.
_result_uln(r, test) := r.reference_range.high * test.units[lower(r.unit)] if {
	is_number(r.reference_range.high)
} else := null if {
	object.get(r, ["reference_range", "high"], null) != null
} else := test.uln

_lab_compare_pick(pick, test, ref) := "unmet" if {
	pick.state == "none"
} else := pick.state if {
	pick.state in {"invalid", "unknown"}
} else := "unmet" if {
	not _lab_recent(pick.date, ref, test)
} else := _lab_thresholds(pick, test)

_lab_recent(_, _, test) if test.within_days == null

_lab_recent(day, ref, test) if days_between(day, ref) <= test.within_days

_lab_thresholds(pick, test) := "met" if {
	test.times_uln == null
	every x in pick.values {
		_compare(x, test.comparison, test.value)
	}
} else := "unknown" if {
	test.times_uln != null
	null in pick.ulns
} else := "met" if {
	test.times_uln != null
	every i, x in pick.values {
		_compare(x, test.comparison, test.times_uln * pick.ulns[i])
	}
} else := "unmet"

# Change from the baseline (the newest result before the anchor) to the newest result
# from the anchor on; every pair on those two days must compare.
_lab_change(baseline, current, test) := "invalid" if {
	"invalid" in {baseline.state, current.state}
} else := "unknown" if {
	"unknown" in {baseline.state, current.state}
} else := "unmet" if {
	"none" in {baseline.state, current.state}
} else := "invalid" if {
	test.change == "percent"
	some b in baseline.values
	b <= 0
} else := "met" if {
	every b in baseline.values {
		every c in current.values {
			_change_compares(b, c, test)
		}
	}
} else := "unmet"

_change_compares(b, c, test) if {
	test.change == "absolute"
	_compare(c - b, test.comparison, test.value)
}

# Percent change without division: (c - b) / b * 100 op v  <=>  (c - b) * 100 op v * b, b > 0.
_change_compares(b, c, test) if {
	test.change == "percent"
	_compare((c - b) * 100, test.comparison, test.value * b)
}

_day_before(date) := add_days(date, -1)

# add_days("2026-02-27", 2) == "2026-03-01".
add_days(date, n) := sprintf("%04d-%02d-%02d", time.date(_ns(date) + (n * 86400000000000)))

# --- diagnosis codes --------------------------------------------------------------------
# codes: the ICD-10-CM codes the policy covers, expanded by the generator from its codes,
# ranges and exceptions, written without dots. A request code must have the form of an
# ICD-10-CM code (a letter, a digit, a digit or letter, then at most one dot before one to
# four letters or digits); anything else is invalid, never compared by prefix.
icd10_code(entry, codes) := "unknown" if {
	object.get(entry, "code", null) == null
} else := "invalid" if {
	not icd10_well_formed(entry.code)
} else := "met" if {
	replace(upper(trim_space(entry.code)), ".", "") in codes
} else := "unmet"

icd10_well_formed(code) if {
	is_string(code)
	regex.match(`^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$`, upper(trim_space(code)))
}

# diagnosis_codes: the `diagnosis` test with codes checked as above.
diagnosis_codes(entries, codes, qualifiers, biomarkers) := all_of(array.concat(
	[_coded_diagnoses(entries, codes, qualifiers)],
	biomarkers,
))

_coded_diagnoses(entries, codes, qualifiers) := "unknown" if {
	entries.state == "absent"
} else := any_of([_coded_entry(entry, codes, qualifiers) | some entry in entries.value]) if {
	is_array(entries.value)
} else := "invalid"

_coded_entry(entry, codes, qualifiers) := all_of(array.concat(
	[icd10_code(entry, codes)],
	[_qualifier(entry, name, accepted) | some name, accepted in qualifiers],
)) if {
	is_object(entry)
} else := "invalid"

# --- quantity ---------------------------------------------------------------------------
# limit: {"max_units", "per_days", "max_days_supply", "whole_units"}. The days supply is
# capped (a 420-day supply of a 42-day limit is not pro-rated into compliance), and units
# must be whole when the product is dispensed in whole units (vials, tablets).
quantity(units_fact, days_fact, limit) := "invalid" if {
	units_fact.state != "absent"
	not _quantity_units(units_fact.value, limit)
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
	x >= 0
	_whole_if(x, limit.whole_units)
}

_whole_if(_, false)

_whole_if(x, true) if x == floor(x)

# --- body measurements ------------------------------------------------------------------
# A measurement is {"value": number, "unit": string, "date"?: date}; units: {lower-case
# unit: factor into the policy's unit}. plausible: [low, high] in the policy's unit.
measurement(m, units, plausible) := {"state": "absent"} if {
	m.state == "absent"
} else := {"state": "invalid"} if {
	not is_object(m.value)
} else := {"state": "invalid"} if {
	object.get(m.value, "date", null) != null
	not date_parts(m.value.date)
} else := {"state": "unknown"} if {
	not _measure_readable(m.value, units)
} else := {"state": "invalid"} if {
	not _plausible(m.value.value * units[lower(m.value.unit)], plausible)
} else := {"state": "present", "value": m.value.value * units[lower(m.value.unit)]}

_measure_readable(m, units) if {
	is_number(m.value)
	is_string(m.unit)
	units[lower(m.unit)]
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
# "day" | "week", "basis": "none" | "kg" | "m2"}. The amount per period is
# amount * period_days / every_days; per kg it is divided by the weight, per m2 by the body
# surface area (Mosteller: sqrt(height_cm * weight_kg / 3600)). Compared without division
# or roots: amount * period_days <= max * every_days * basis, and for m2 squared.
dose(dose_fact, weight, height, limit) := "unknown" if {
	dose_fact.state == "absent"
} else := "invalid" if {
	not _dose_readable(dose_fact.value, limit)
} else := "unknown" if {
	not limit.units[lower(dose_fact.value.unit)]
} else := _dose_compare(
	(dose_fact.value.amount * limit.units[lower(dose_fact.value.unit)]) * _period_days[limit.period],
	limit.max * _dose_every(dose_fact.value, limit),
	weight,
	height,
	limit.basis,
)

_period_days := {"dose": 1, "day": 1, "week": 7}

_dose_every(_, limit) := 1 if limit.period == "dose"

_dose_every(d, limit) := d.every_days if limit.period != "dose"

_dose_readable(d, limit) if {
	is_object(d)
	is_number(d.amount)
	d.amount >= 0
	is_string(d.unit)
	_every_readable(d, limit)
}

_every_readable(_, limit) if limit.period == "dose"

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

# --- therapy history --------------------------------------------------------------------
# history(entries, value_set, rule, on): rule: {"results": {results} (or {"any"}), "n",
# "each_agent", "min_days", "any_agent"}. An entry counts when it is in the value set (or
# any_agent), ended with a listed result and, with min_days, lasted long enough: from
# start_date to end_date (or the date of service while there is no end) at least min_days
# days; a contraindicated agent was never taken, so its length is not asked. An entry that
# could still count once a result or a date is known is "possible".
history(entries, value_set, rule, on) := "unknown" if {
	entries.state == "absent"
} else := _history_count(entries.value, value_set, rule, on) if {
	is_array(entries.value)
} else := "invalid"

_history_count(entries, value_set, rule, on) := "met" if {
	count({lower(e.agent) | some e in entries; _history_match(e, value_set, rule); _counts(e, rule, on)}) >= _history_n(value_set, rule)
} else := "unknown" if {
	count({lower(e.agent) | some e in entries; _history_match(e, value_set, rule); _may_count(e, rule, on)}) >= _history_n(value_set, rule)
} else := "invalid" if {
	some e in entries
	not _well_formed_history(e)
} else := "unmet"

_history_n(value_set, rule) := count(value_set.agents) if rule.each_agent

_history_n(_, rule) := rule.n if not rule.each_agent

_history_match(e, _, rule) if {
	rule.any_agent
	_well_formed_history(e)
}

_history_match(e, value_set, rule) if {
	not rule.any_agent
	_well_formed_history(e)
	lower(e.agent) in value_set.agents
}

_history_match(e, value_set, rule) if {
	not rule.any_agent
	not rule.each_agent
	_well_formed_history(e)
	e.class in value_set.classes
}

_counts(e, rule, on) if {
	_result_listed(e, rule)
	_long_enough(e, rule, on)
}

_may_count(e, rule, on) if {
	_result_listed_or_absent(e, rule)
	_long_enough_or_unknown(e, rule, on)
}

_result_listed(_, rule) if "any" in rule.results

_result_listed(e, rule) if e.result in rule.results

_result_listed_or_absent(e, rule) if _result_listed(e, rule)

_result_listed_or_absent(e, _) if object.get(e, "result", null) == null

_long_enough(_, rule, _) if rule.min_days == null

_long_enough(e, _, _) if e.result == "contraindicated"

_long_enough(e, rule, on) if days_between(e.start_date, _trial_end(e, on)) >= rule.min_days

_long_enough_or_unknown(e, rule, on) if _long_enough(e, rule, on)

_long_enough_or_unknown(e, rule, _) if {
	rule.min_days != null
	object.get(e, "start_date", null) == null
}

_long_enough_or_unknown(e, rule, _) if {
	rule.min_days != null
	object.get(e, "result", null) == null
}

_trial_end(e, _) := e.end_date if is_string(e.end_date)

_trial_end(e, on) := on if object.get(e, "end_date", null) == null

# Well formed: an object with a string agent; class and result strings when given; dates
# real calendar days when given, the end not before the start.
_well_formed_history(e) if {
	is_object(e)
	is_string(e.agent)
	_optional_string(e, "class")
	_optional_string(e, "result")
	_optional_date(e, "start_date")
	_optional_date(e, "end_date")
	_ordered(e)
}

_optional_date(e, key) if object.get(e, key, null) == null

_optional_date(e, key) if date_parts(e[key])

_ordered(e) if null in {object.get(e, "start_date", null), object.get(e, "end_date", null)}

_ordered(e) if e.start_date <= e.end_date

# concurrent_therapy_required(entries, value_set): some well-formed concurrent therapy is
# in the value set.
concurrent_therapy_required(entries, value_set) := "unknown" if {
	entries.state == "absent"
} else := "met" if {
	is_array(entries.value)
	some entry in entries.value
	_in_value_set_concurrent(entry, value_set)
} else := "unmet" if {
	is_array(entries.value)
	every entry in entries.value {
		_well_formed_concurrent(entry)
	}
} else := "invalid"

# procedure(entries, names, within_days, on): a procedure entry {"name", "date"?} whose
# normalised name is one of `names` (and, with within_days, dated at most that many days
# before the date of service).
procedure(entries, names, within_days, on) := "unknown" if {
	entries.state == "absent"
} else := "invalid" if {
	not is_array(entries.value)
} else := "invalid" if {
	some e in entries.value
	not _well_formed_procedure(e)
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

_well_formed_procedure(e) if {
	is_object(e)
	is_string(e.name)
	_optional_date(e, "date")
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
	not is_string(specialty.value)
} else := "invalid" if {
	consultation
	consulting.state != "absent"
	not _string_list(consulting.value)
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

# --- negation and documentation ---------------------------------------------------------

# negate: not met is unmet, not unmet is met; unknown and invalid stay as they are.
negate("met") := "unmet"

negate("unmet") := "met"

negate("unknown") := "unknown"

negate("invalid") := "invalid"

# documented(status, attachments, types): a met criterion that needs supporting documents is
# met only when the request references an attachment of each type ({"id", "type"}
# objects); otherwise unknown (pended for documentation). Other statuses are unchanged.
documented("met", attachments, types) := "met" if {
	is_array(attachments.value)
	every t in types {
		some a in attachments.value
		is_string(a.id)
		a.type == t
	}
} else := "invalid" if {
	attachments.state != "absent"
	not is_array(attachments.value)
} else := "unknown"

documented(status, _, _) := status if status != "met"
