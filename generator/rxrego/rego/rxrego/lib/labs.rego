# rxrego shared library: lab results and diagnosis codes (docs/semantics.md, "Labs",
# "Diagnosis"). Lab results are identified by LOINC code or name and converted into the
# policy's unit by factors the generator computed (rxrego.terminology.ucum), so these
# functions only look up and multiply; diagnosis codes must have the form of an ICD-10-CM
# code and be one of the codes the generator expanded (rxrego.terminology.icd10cm). Each
# test returns "met", "unmet", "unknown" or "invalid" for any input.
package rxrego.lib

# --- lab results ------------------------------------------------------------------------
# test: {
#   "names": {normalised names}, "codes": {LOINC codes},
#   "comparison", "value" (null unless absolute), "times_uln" (null unless a multiple of the
#   upper limit of normal), "uln" (the spec's ULN in its unit, or null), "change" (null,
#   "absolute" or "percent"), "plausible": [low, high] (either may be null),
#   "uln_plausible": [low, high] (the ULNs a reference range may give; either may be null),
#   "which": "latest" | "baseline" | "after", "after_days", "within_days", "within_months"
# }
# on: the date of service as given; born: the birth date (birth_day) or ""; anchor: the
# fact treatment.start_date (or null when the test reads no anchor); factors: {lower-case
# unit: factor into the test's unit}.
lab_result(labs, on, born, anchor, test, factors) := "unknown" if {
	labs.state == "absent"
} else := "invalid" if {
	not _lab_list(labs)
} else := _lab_status(on, born, anchor, t, _lab_results(labs.value, t)) if {
	# A key the generator left out has its default.
	t := object.union_n([_lab_defaults, test, {"units": factors}])
}

_lab_defaults := {
	"codes": set(),
	"value": null,
	"times_uln": null,
	"uln": null,
	"change": null,
	"plausible": [null, null],
	"uln_plausible": [null, null],
	"which": "latest",
	"after_days": null,
	"within_days": null,
	"within_months": null,
}

# labs is a list of objects that each name a lab: an entry that is not an object, or one
# with neither a code nor a name (a non-empty string), could be the newest result of any
# lab, so every lab test over the list is invalid.
_lab_list(labs) if {
	is_array(object.get(labs, "value", null))
	every r in labs.value {
		is_object(r)
		_names_a_lab(r)
	}
}

_names_a_lab(r) if object.get(r, "code", null) != null

_names_a_lab(r) if {
	is_string(r.name)
	lab_name(r.name) != ""
}

# A result is this lab's by its LOINC code (spaces trimmed); a result without a code (or a
# spec without codes) by its name, compared without case, spaces, underscores, hyphens or
# dots. A code that is not a well-formed LOINC code cannot tell which lab the result is: the
# result is this lab's when its name is, or when it has no name (a string), and makes the
# test invalid (see _lab_status).
_this_lab(r, test) if _lab_code(r) in test.codes

_this_lab(r, test) if {
	object.get(r, "code", null) == null
	_named(r, test)
}

_this_lab(r, test) if {
	count(test.codes) == 0
	_lab_code(r)
	_named(r, test)
}

_this_lab(r, test) if {
	_malformed_code(r)
	_named(r, test)
}

_this_lab(r, _) if {
	_malformed_code(r)
	not is_string(object.get(r, "name", null))
}

# The lab's results but the void ones (status cancelled or entered-in-error, FHIR
# Observation.status: there is no result), which are not read at all.
_lab_results(entries, test) := [r |
	some r in entries
	_this_lab(r, test)
	not object.get(r, "status", null) in _void_statuses
]

# FHIR Observation.status: a result is read as a value when final, amended or corrected (or
# without a status); registered, preliminary or unknown cannot be read with certainty; any
# other value is invalid.
_read_statuses := {"final", "amended", "corrected"}

_uncertain_statuses := {"registered", "preliminary", "unknown"}

_void_statuses := {"cancelled", "entered-in-error"}

_statuses := (_read_statuses | _uncertain_statuses) | _void_statuses

# FHIR Quantity.comparator: the true value is only bounded ("ad": sufficient to achieve
# this total quantity).
_comparators := {"<", "<=", ">=", ">", "ad"}

# A status or comparator outside FHIR's closed lists.
_bad_qualifier(r) if {
	status := object.get(r, "status", null)
	status != null
	not status in _statuses
}

_bad_qualifier(r) if {
	comparator := object.get(r, "comparator", null)
	comparator != null
	not comparator in _comparators
}

# A result whose value is only a bound, or not yet (or not known to be) final.
_qualified(r) if object.get(r, "comparator", null) != null

_qualified(r) if object.get(r, "status", null) in _uncertain_statuses

_named(r, test) if {
	is_string(r.name)
	lab_name(r.name) in test.names
}

# The result's code, spaces trimmed, when it is a well-formed LOINC code.
_lab_code(r) := code if {
	is_string(r.code)
	code := trim_space(r.code)
	loinc_well_formed(code)
}

# A code is given (not null) and is not a well-formed LOINC code.
_malformed_code(r) if {
	is_object(r)
	object.get(r, "code", null) != null
	not _lab_code(r)
}

# loinc_well_formed(code): code has the form of a LOINC code (1 to 7 digits, a hyphen, one
# check digit) and its check digit is the mod 10 check digit of its digits (LOINC Users'
# Guide, "Calculating Mod 10 Check Digits": from the right, every other digit starting with
# the rightmost is doubled, the digits of the products and of the other digits summed; the
# check digit brings the sum to a multiple of 10). loinc_well_formed("13457-7"),
# not loinc_well_formed("13457-8").
loinc_well_formed(code) if {
	regex.match(`^[0-9]{1,7}-[0-9]$`, code)
	[digits, check] := split(code, "-")
	to_number(check) == (10 - (sum([_mod10_term(to_number(d), i) |
		some i, d in array.reverse(split(digits, ""))
	]) % 10)) % 10
}

# The i-th digit from the right (from 0): doubled at even i, a product's digits summed.
_mod10_term(d, i) := d if {
	i % 2 == 1
} else := 2 * d if {
	d < 5
} else := (2 * d) - 9

# lab_key(labs, on, anchor, test, factors): a lab as a dose table's column (docs/semantics.md,
# "Dose tables"): the values of the newest day's results in the test's window, converted
# into its unit: {"state": "present", "values"}; {"state": "absent"} without labs;
# "invalid" when labs is not a list, a result of the lab has no valid date, a value is
# implausible or the anchor is invalid; "unknown" when the lab has no readable result in
# its window (none, an unreadable value or unit, the anchor unknown).
lab_key(labs, on, born, anchor, test, factors) := {"state": "absent"} if {
	labs.state == "absent"
} else := {"state": "invalid"} if {
	not _lab_list(labs)
} else := _lab_key(on, born, anchor, t, _lab_results(labs.value, t)) if {
	t := object.union_n([_lab_defaults, test, {"units": factors}])
}

_lab_key(on, born, anchor, test, results) := {"state": "unknown"} if {
	count(results) == 0
} else := {"state": "invalid"} if {
	some r in results
	_unplaced(r, on, born)
} else := _lab_key_read(on, born, anchor, test, _observed(results))

_lab_key_read(on, born, anchor, test, results) := _key_of(_lab_pick(results, "", on, test)) if {
	test.which == "latest"
} else := {"state": "unknown"} if {
	anchor.state == "absent"
} else := _key_of(_lab_pick(results, "", on, test)) if {
	# never started: every result is before it
	anchor.state == "none"
	test.which == "baseline"
} else := {"state": "unknown"} if {
	anchor.state == "none"
} else := {"state": "invalid"} if {
	not _anchor_in_life(anchor, on, born)
} else := _key_of(_lab_pick(results, "", _day_before(anchor.value), test)) if {
	test.which == "baseline"
} else := _key_of(_lab_pick(results, add_days(anchor.value, test.after_days), on, test))

_key_of(pick) := {"state": "present", "values": pick.values} if {
	pick.state == "ok"
} else := {"state": "unknown"} if {
	pick.state == "none"
} else := {"state": pick.state}

# therapy_start(entries, value_set, on, born): the anchor a lab reads from the therapy
# history (docs/semantics.md, "Anchored to another therapy"): {"state": "present", "value":
# the earliest start_date of a prior_therapies entry in the value set}, an entry with result
# "contraindicated" (never taken) left out; "absent" when prior_therapies is absent or an
# entry of the set has no start_date; "invalid" when it is not a list or an entry is not
# well formed (its dates within the patient's life, see history); "none" when no entry is
# of the set.
therapy_start(entries, value_set, on, born) := {"state": "absent"} if {
	entries.state == "absent"
} else := {"state": "invalid"} if {
	not is_array(object.get(entries, "value", null))
} else := {"state": "invalid"} if {
	some e in entries.value
	not _well_formed_history(e, on, born)
} else := _earliest_start([e |
	some e in entries.value
	_in_value_set(e, value_set)
	object.get(e, "result", null) != "contraindicated"
])

_earliest_start(taken) := {"state": "none"} if {
	count(taken) == 0
} else := {"state": "absent"} if {
	some e in taken
	object.get(e, "start_date", null) == null
} else := {"state": "present", "value": min({e.start_date | some e in taken})}

# lab_name("LDL-C") == lab_name("ldl_c") == "ldlc".
lab_name(name) := regex.replace(lower(name), `[ _.\-]`, "")

_lab_status(on, born, anchor, test, results) := "unmet" if {
	count(results) == 0
} else := "invalid" if {
	# A result whose code is malformed, or that cannot be placed in time, could be the
	# newest; one dated after the date of service or before the birth contradicts the
	# request. None is skipped in favour of an older one.
	some r in results
	_unplaced(r, on, born)
} else := _lab_anchored(on, born, anchor, test, _observed(results))

_dated_in_life(s, on, born) if in_life(observed_day(s), on, born)

# A result of the lab that cannot be read with certainty as to which lab it is or when, or
# whose status or comparator is not one FHIR defines.
_unplaced(r, _, _) if _malformed_code(r)

_unplaced(r, _, _) if _bad_qualifier(r)

_unplaced(r, on, born) if not _dated_in_life(object.get(r, "date", null), on, born)

# The anchor's date is a valid date within the patient's life (a treatment started after
# the date of service, or before the birth, contradicts the request).
_anchor_in_life(anchor, on, born) if {
	valid_date(anchor.value)
	in_life(anchor.value, on, born)
}

# The results with each date read as its day (a FHIR dateTime's date as written).
_observed(results) := [object.union(r, {"date": observed_day(r.date)}) | some r in results]

_lab_anchored(on, born, anchor, test, results) := _lab_compare_pick(_lab_pick(results, "", on, test), test, on) if {
	test.which == "latest"
	test.change == null
} else := "unknown" if {
	anchor.state == "absent"
} else := _lab_compare_pick(_lab_pick(results, "", on, test), test, on) if {
	# no therapy of the set was ever started: every result up to the date of service is
	# before it, so the baseline is the latest
	anchor.state == "none"
	test.which == "baseline"
	test.change == null
} else := "unmet" if {
	# nor is there a result after a start that never happened
	anchor.state == "none"
} else := "invalid" if {
	not _anchor_in_life(anchor, on, born)
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
} else := {"state": "invalid"} if {
	# the upper limit of normal a result carries contradicts itself (read only when the
	# threshold is a multiple of it)
	test.times_uln != null
	some r in latest
	_result_uln(r, test) == "invalid"
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
	not _qualified(r)
	is_number(r.value)
	regex.match(_plain_number, json.marshal(r.value))
	is_string(r.unit)
	test.units[lower(r.unit)]
}

_plausible(x, [low, high]) if _in_range(x, low, high) == "met"

# The upper limit of normal the result carries, else the spec's; null when it cannot be
# read, "invalid" when it contradicts itself. reference_range is FHIR's
# Observation.referenceRange: {"high", "low"?, "unit"?}, high in its own `unit` (absent: the
# result's unit), converted into the test's unit as a value is (a unit that does not
# convert: null); not an object, a high <= 0, a low above the high or a converted high
# outside the lab's plausible range or the spec's uln_plausible: "invalid"; a high that is not a number: null; no range
# or no high: the spec's ULN.
_result_uln(r, test) := test.uln if {
	object.get(r, "reference_range", null) == null
} else := "invalid" if {
	not is_object(r.reference_range)
} else := test.uln if {
	object.get(r.reference_range, "high", null) == null
} else := null if {
	not is_number(r.reference_range.high)
} else := "invalid" if {
	r.reference_range.high <= 0
} else := "invalid" if {
	is_number(object.get(r.reference_range, "low", null))
	r.reference_range.low > r.reference_range.high
} else := _plausible_uln(r.reference_range.high * _range_factor(r, test), test) if {
	_range_factor(r, test)
} else := null

_range_factor(r, test) := test.units[lower(r.reference_range.unit)] if {
	is_string(r.reference_range.unit)
} else := test.units[lower(r.unit)] if {
	object.get(r.reference_range, "unit", null) == null
	is_string(r.unit)
}

_plausible_uln(x, test) := x if {
	_plausible(x, test.plausible)
	_plausible(x, test.uln_plausible)
} else := "invalid"

_lab_compare_pick(pick, test, ref) := "unmet" if {
	pick.state == "none"
} else := pick.state if {
	pick.state in {"invalid", "unknown"}
} else := "unmet" if {
	not _lab_recent(pick.date, ref, test)
} else := _lab_thresholds(pick, test)

_lab_recent(_, _, test) if {
	test.within_days == null
	test.within_months == null
}

_lab_recent(day, ref, test) if {
	is_number(test.within_days)
	days_between(day, ref) <= test.within_days
}

# Within n calendar months: the day plus n months (clamped to a shorter month's end) is on
# or after the reference date.
_lab_recent(day, ref, test) if {
	is_number(test.within_months)
	add_months(day, test.within_months) >= ref
}

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

# An entry whose code and qualifiers all match makes the diagnosis met: the common case is
# decided without a status per entry.
_coded_diagnoses(entries, codes, qualifiers) := "unknown" if {
	entries.state == "absent"
} else := "met" if {
	is_array(entries.value)
	some entry in entries.value
	is_string(entry.code)
	code := upper(trim_space(entry.code))
	replace(code, ".", "") in codes

	# icd10_well_formed, on the code already trimmed (the pattern written out: reading a
	# rule costs more than the literal)
	regex.match(`^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$`, code)

	# every qualifier a string it accepts (counted: `every` costs more)
	count({name |
		some name, accepted in qualifiers
		is_string(entry[name])
		lower(entry[name]) in accepted
	}) == count(qualifiers)
} else := any_of([_coded_entry(entry, codes, qualifiers) | some entry in entries.value]) if {
	is_array(entries.value)
} else := "invalid"

_coded_entry(entry, codes, qualifiers) := all_of(array.concat(
	[icd10_code(entry, codes)],
	[_qualifier(entry, name, accepted) | some name, accepted in qualifiers],
)) if {
	is_object(entry)
} else := "invalid"
