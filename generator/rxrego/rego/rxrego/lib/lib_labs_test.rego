# Tests of the shared library's lab results and diagnosis codes (labs.rego; docs/semantics.md,
# "Labs", "Diagnosis"): each reading met, unmet, unknown and invalid.
package rxrego.lib_test

import data.rxrego.lib

_dos := "2026-06-15"

_results(results) := {"state": "present", "value": results}

# A platelet count in 10*3/uL (LOINC 777-3): /uL and 10*9/L convert into it.
_platelets := {"names": {"platelets"}, "codes": {"777-3"}, "comparison": "<", "value": 30}

_factors := {"10*3/ul": 1, "/ul": 0.001, "10*9/l": 1}

_count(value, unit, date) := {"name": "Platelets", "value": value, "unit": unit, "date": date}

# The platelet test (_platelets, _factors) on the results at the date of service, without an
# anchor.
_platelet_status(results) := lib.lab_result(
	{"state": "present", "value": results},
	"2026-06-15",
	"",
	null,
	{"names": {"platelets"}, "codes": {"777-3"}, "comparison": "<", "value": 30},
	{"10*3/ul": 1, "/ul": 0.001, "10*9/l": 1},
)

test_lab_name_ignores_case_spaces_and_punctuation if {
	lib.lab_name("LDL-C") == "ldlc"
	lib.lab_name("ldl_c") == "ldlc"
	lib.lab_name("Platelet Count.") == "plateletcount"
}

test_add_days if {
	lib.add_days("2026-02-27", 2) == "2026-03-01"
	lib.add_days("2026-03-01", -1) == "2026-02-28"
}

test_lab_latest_result if {
	read := _platelet_status([_count(20, "10*3/uL", "2026-06-01")])
	read == "met"
	_platelet_status([_count(40, "10*3/uL", "2026-06-01")]) == "unmet"

	# another unit, converted by the generator's factor; a unit's spelling in any case
	_platelet_status([_count(20000, "/uL", "2026-06-01")]) == "met"
	_platelet_status([_count(20, "10*9/L", "2026-06-01")]) == "met"
}

test_lab_comparisons if {
	every row in [
		["<", 29, "met"], ["<", 30, "unmet"], ["<=", 30, "met"], ["<=", 31, "unmet"],
		[">", 31, "met"], [">", 30, "unmet"], [">=", 30, "met"], [">=", 29, "unmet"],
		["==", 30, "met"], ["==", 30.5, "unmet"],
	] {
		test := object.union(_platelets, {"comparison": row[0]})
		lib.lab_result(_results([_count(row[1], "10*3/uL", "2026-06-01")]), _dos, "", null, test, _factors) == row[2]
	}
}

test_lab_absent_or_not_a_list if {
	lib.lab_result({"state": "absent"}, _dos, "", null, _platelets, _factors) == "unknown"
	lib.lab_result({"state": "invalid"}, _dos, "", null, _platelets, _factors) == "invalid"
	lib.lab_result(_results({"platelets": 20}), _dos, "", null, _platelets, _factors) == "invalid"
}

test_lab_found_by_loinc_code_or_name if {
	by_code := {"code": "777-3", "name": "PLT", "value": 20, "unit": "10*3/uL", "date": "2026-06-01"}
	_platelet_status([by_code]) == "met"

	# a result with another code is another lab, whatever its name
	other := {"code": "26515-7", "name": "platelets", "value": 20, "unit": "10*3/uL", "date": "2026-06-01"}
	_platelet_status([other]) == "unmet"

	# a spec without codes reads results by name, codes or not
	by_name := object.remove(_platelets, ["codes"])
	lib.lab_result(_results([other]), _dos, "", null, by_name, _factors) == "met"

	# no result of this lab
	hemoglobin := {"name": "hemoglobin", "value": 9, "unit": "g/dL", "date": "2026-06-01"}
	_platelet_status([hemoglobin]) == "unmet"
	_platelet_status([]) == "unmet"
}

test_lab_loinc_code_trimmed_and_check_digit if {
	lib.loinc_well_formed("777-3")
	lib.loinc_well_formed("13457-7")
	lib.loinc_well_formed("1234567-4")
	lib.loinc_well_formed("0-0")
	not lib.loinc_well_formed("13457-8") # a typo the mod 10 check digit catches
	not lib.loinc_well_formed("777-3 ")
	not lib.loinc_well_formed("LOINC:777-3")
	not lib.loinc_well_formed("12345678-6")
	not lib.loinc_well_formed("7773")

	# the code is read with spaces trimmed
	spaced := {"code": " 777-3\t", "name": "PLT", "value": 20, "unit": "10*3/uL", "date": "2026-06-01"}
	_platelet_status([spaced]) == "met"
}

# A platelet count of 40 on 2026-06-01, newer than 20 on 2026-05-01, with `fields` added.
_newer(fields) := object.union({"value": 40, "unit": "10*3/uL", "date": "2026-06-01"}, fields)

# A newer result whose code is not a well-formed LOINC code is never skipped for an older one.
test_lab_malformed_code_is_invalid_never_skipped if {
	older := {"code": "777-3", "value": 20, "unit": "10*3/uL", "date": "2026-05-01"}
	_platelet_status([older]) == "met"
	every code in ["", "   ", "LOINC:777-3", "777-4", "7773", 777, true, ["777-3"], {"code": "777-3"}] {
		# no name: it may be this lab's
		_platelet_status([older, _newer({"code": code})]) == "invalid"

		# this lab's name
		_platelet_status([older, _newer({"code": code, "name": "Platelets"})]) == "invalid"

		# another lab's name: that lab's result, not this one's
		_platelet_status([older, _newer({"code": code, "name": "hemoglobin", "unit": "g/dL"})]) == "met"
	}

	# a null code is no code: the name reads the result
	_platelet_status([older, _newer({"code": null, "name": "Platelets"})]) == "unmet"

	# a well-formed LOINC code of another lab is another lab, whatever its name
	_platelet_status([older, _newer({"code": "26515-7"})]) == "met"

	# a spec without codes reads a result by name, and a malformed code still makes it invalid
	by_name := object.remove(_platelets, ["codes"])
	malformed := {"code": "LOINC:777-3", "name": "platelets", "value": 40, "unit": "10*3/uL", "date": "2026-06-01"}
	lib.lab_result(_results([older, malformed]), _dos, "", null, by_name, _factors) == "invalid"

	# as a dose table's key too
	lib.lab_key(_results([older, malformed]), _dos, "", null, _platelets, _factors) == {"state": "invalid"}
}

# An entry of labs that is not an object could be the newest result of any lab.
test_lab_entry_not_an_object_is_invalid if {
	older := {"code": "777-3", "value": 20, "unit": "10*3/uL", "date": "2026-05-01"}
	every junk in ["Platelets 40 10*3/uL 2026-06-01", null, [], ["777-3", 40], 40, true] {
		_platelet_status([older, junk]) == "invalid"
		lib.lab_key(_results([older, junk]), _dos, "", null, _platelets, _factors) == {"state": "invalid"}
	}
	lib.lab_key(_results([older]), _dos, "", null, _platelets, _factors) == {"state": "present", "values": [20]}
}

# An entry with neither a code nor a name names no lab: it could be the newest result of any.
test_lab_entry_naming_no_lab_is_invalid if {
	older := {"code": "777-3", "value": 20, "unit": "10*3/uL", "date": "2026-05-01"}
	newer := {"value": 40, "unit": "10*3/uL", "date": "2026-06-01"}
	every name in [null, 5, ["Platelets"], {"text": "Platelets"}, "", " -_. "] {
		_platelet_status([older, object.union(newer, {"name": name})]) == "invalid"
		_platelet_status([older, object.union(newer, {"code": null, "name": name})]) == "invalid"
		unnamed := _results([older, object.union(newer, {"name": name})])
		lib.lab_key(unnamed, _dos, "", null, _platelets, _factors) == {"state": "invalid"}
	}
	_platelet_status([older, newer]) == "invalid"

	# a name of another lab, or a code of one, names a lab: that lab's result
	_platelet_status([older, object.union(newer, {"name": "hemoglobin"})]) == "met"
	_platelet_status([older, object.union(newer, {"code": "718-7"})]) == "met"
}

test_lab_the_newest_day_decides if {
	older_low := _count(20, "10*3/uL", "2026-05-01")
	newer_high := _count(40, "10*3/uL", "2026-06-01")
	_platelet_status([older_low, newer_high]) == "unmet"
	_platelet_status([newer_high, _count(20, "10*3/uL", "2026-06-10")]) == "met"

	# every result on the newest day must compare
	_platelet_status([_count(20, "10*3/uL", "2026-06-01"), newer_high]) == "unmet"

	# a result dated after the date of service contradicts the request: never passed over
	_platelet_status([older_low, _count(40, "10*3/uL", "2026-07-01")]) == "invalid"
	_platelet_status([older_low, _count(40, "10*3/uL", "2026-06-16T00:30:00+14:00")]) == "invalid"
}

test_lab_dated_before_the_birth_is_invalid if {
	labs := _results([_count(20, "10*3/uL", "2026-05-01"), _count(20, "10*3/uL", "2023-12-31")])
	lib.lab_result(labs, _dos, "2024-01-01", null, _platelets, _factors) == "invalid"
	lib.lab_result(labs, _dos, "2023-12-31", null, _platelets, _factors) == "met"
}

# FHIR Observation.effectiveDateTime: the day as written, whatever the offset.
test_lab_date_may_be_a_fhir_datetime if {
	older_high := _count(40, "10*3/uL", "2026-05-01")
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-01T10:00:00Z")]) == "met"
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-15T23:59:59.5-05:00")]) == "met"

	# the newest day is compared as a day: both results of 1 June decide
	same_day := [_count(20, "10*3/uL", "2026-06-01"), _count(40, "10*3/uL", "2026-06-01T08:00:00+01:00")]
	_platelet_status(same_day) == "unmet"

	# without an offset or seconds, the day is still the one written
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-01T10:00:00")]) == "met"
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-01T10:00")]) == "met"

	# a partial date, an impossible time or day, or text after the time is not a date
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-01T10")]) == "invalid"
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-01T10:00:00Zulu")]) == "invalid"
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06")]) == "invalid"
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-06-01T25:00:00Z")]) == "invalid"
	_platelet_status([older_high, _count(20, "10*3/uL", "2026-02-30T10:00:00Z")]) == "invalid"
}

test_lab_unreadable_or_undated_results if {
	older_low := _count(20, "10*3/uL", "2026-05-01")

	# a newer result that cannot be read is unknown, never the older one's reading
	_platelet_status([older_low, _count(40, "furlongs", "2026-06-01")]) == "unknown"
	_platelet_status([older_low, _count("40", "10*3/uL", "2026-06-01")]) == "unknown"
	_platelet_status([older_low, _count(40, 3, "2026-06-01")]) == "unknown"

	# a result without a valid date could be the newest
	_platelet_status([older_low, _count(40, "10*3/uL", "2026-02-30")]) == "invalid"
	_platelet_status([{"name": "platelets", "value": 20, "unit": "10*3/uL"}]) == "invalid"
}

# FHIR Quantity.comparator and Observation.status on a result (docs/semantics.md, "Labs",
# *Qualifiers*).
test_lab_comparator_is_unknown_never_skipped if {
	older_low := _count(20, "10*3/uL", "2026-05-01")
	every comparator in ["<", "<=", ">=", ">", "ad"] {
		bounded := object.union(_count(20, "10*3/uL", "2026-06-01"), {"comparator": comparator})
		_platelet_status([bounded]) == "unknown"
		_platelet_status([older_low, bounded]) == "unknown"
		lib.lab_key(_results([older_low, bounded]), _dos, "", null, _platelets, _factors) == {"state": "unknown"}
	}
	_platelet_status([object.union(_count(20, "10*3/uL", "2026-06-01"), {"comparator": null})]) == "met"
}

test_lab_status_not_final_is_unknown_never_skipped if {
	older_low := _count(20, "10*3/uL", "2026-05-01")
	every status in ["registered", "preliminary", "unknown"] {
		uncertain := object.union(_count(20, "10*3/uL", "2026-06-01"), {"status": status})
		_platelet_status([older_low, uncertain]) == "unknown"
	}
	every status in ["final", "amended", "corrected"] {
		_platelet_status([object.union(_count(20, "10*3/uL", "2026-06-01"), {"status": status})]) == "met"
	}
}

test_lab_void_result_is_not_read if {
	older_high := _count(40, "10*3/uL", "2026-05-01")
	every status in ["cancelled", "entered-in-error"] {
		# there is no result: an older one decides, and alone it is none
		void := object.union(_count(20, "10*3/uL", "2026-06-01"), {"status": status})
		_platelet_status([older_high, void]) == "unmet"
		_platelet_status([void]) == "unmet"
		_platelet_status([_count(20, "10*3/uL", "2026-05-01"), void]) == "met"

		# nothing else of it is read: not its date, value or unit
		undated := object.union(void, {"date": "2026-02-30", "value": "x", "unit": "furlongs"})
		_platelet_status([older_high, undated]) == "unmet"
		lib.lab_key(_results([older_high, undated]), _dos, "", null, _platelets, _factors) == {
			"state": "present",
			"values": [40],
		}
	}
}

test_lab_qualifier_outside_fhir_lists_is_invalid if {
	older_low := _count(20, "10*3/uL", "2026-05-01")
	every bad in [{"status": "Final"}, {"status": "done"}, {"status": 1}, {"comparator": "=="}, {"comparator": "~"}] {
		_platelet_status([older_low, object.union(_count(20, "10*3/uL", "2026-06-01"), bad)]) == "invalid"

		# an older result's is as invalid: it could be any result
		_platelet_status([object.union(older_low, bad), _count(20, "10*3/uL", "2026-06-01")]) == "invalid"
	}
}

test_lab_plausible_range if {
	plausible := object.union(_platelets, {"plausible": [0, 2000]})
	lib.lab_result(_results([_count(20, "10*3/uL", "2026-06-01")]), _dos, "", null, plausible, _factors) == "met"
	lib.lab_result(_results([_count(20000, "10*3/uL", "2026-06-01")]), _dos, "", null, plausible, _factors) == "invalid"
	lib.lab_result(_results([_count(-1, "10*3/uL", "2026-06-01")]), _dos, "", null, plausible, _factors) == "invalid"
	no_ceiling := object.union(_platelets, {"plausible": [0, null]})
	lib.lab_result(_results([_count(20, "10*3/uL", "2026-06-01")]), _dos, "", null, no_ceiling, _factors) == "met"
}

test_lab_within_days if {
	recent := object.union(_platelets, {"within_days": 30})
	lib.lab_result(_results([_count(20, "10*3/uL", "2026-05-16")]), _dos, "", null, recent, _factors) == "met"
	lib.lab_result(_results([_count(20, "10*3/uL", "2026-05-15")]), _dos, "", null, recent, _factors) == "unmet"
}

# ALT at most 3 x ULN (U/L): the result's own reference range, else the spec's ULN.
_alt := {"names": {"alt"}, "comparison": "<=", "times_uln": 3, "uln": 40}

_alt_result(value, high) := {
	"name": "ALT", "value": value, "unit": "U/L", "date": "2026-06-01",
	"reference_range": {"high": high},
}

test_lab_times_uln if {
	u := {"u/l": 1}
	lib.lab_result(_results([_alt_result(140, 50)]), _dos, "", null, _alt, u) == "met"
	lib.lab_result(_results([_alt_result(160, 50)]), _dos, "", null, _alt, u) == "unmet"

	# no reference range: the spec's ULN (3 x 40 = 120)
	plain := {"name": "ALT", "value": 110, "unit": "U/L", "date": "2026-06-01"}
	lib.lab_result(_results([plain]), _dos, "", null, _alt, u) == "met"
	lib.lab_result(_results([object.union(plain, {"value": 140})]), _dos, "", null, _alt, u) == "unmet"

	# an unreadable reference range is not replaced by the spec's
	lib.lab_result(_results([_alt_result(10, "fifty")]), _dos, "", null, _alt, u) == "unknown"

	# no ULN at all
	lib.lab_result(_results([plain]), _dos, "", null, object.union(_alt, {"uln": null}), u) == "unknown"
}

_alt_ranged(high, unit) := {
	"name": "ALT", "value": 140, "unit": "U/L", "date": "2026-06-01",
	"reference_range": {"high": high, "unit": unit},
}

# A reference range is FHIR's referenceRange: its high in its own unit when it gives one.
test_lab_times_uln_reads_the_range_unit if {
	u := {"u/l": 1, "ukat/l": 60}

	# 0.8 ukat/L is 48 U/L: 140 <= 3 x 48
	lib.lab_result(_results([_alt_ranged(0.8, "ukat/L")]), _dos, "", null, _alt, u) == "met"

	# 0.5 ukat/L is 30 U/L, not 0.5 U/L and not 30 ukat/L: 140 > 90
	lib.lab_result(_results([_alt_ranged(0.5, "ukat/L")]), _dos, "", null, _alt, u) == "unmet"
	lib.lab_result(_results([_alt_ranged(50, "U/L")]), _dos, "", null, _alt, u) == "met"

	# a range unit that does not convert is unknown, as a value's unit is
	lib.lab_result(_results([_alt_ranged(50, "furlongs")]), _dos, "", null, _alt, u) == "unknown"
	lib.lab_result(_results([_alt_ranged(50, 7)]), _dos, "", null, _alt, u) == "unknown"
}

test_lab_times_uln_contradictory_range_is_invalid if {
	u := {"u/l": 1}
	lib.lab_result(_results([_alt_result(10, 0)]), _dos, "", null, _alt, u) == "invalid"
	lib.lab_result(_results([_alt_result(10, -10)]), _dos, "", null, _alt, u) == "invalid"
	low_above := {
		"name": "ALT", "value": 10, "unit": "U/L", "date": "2026-06-01",
		"reference_range": {"low": 60, "high": 50},
	}
	lib.lab_result(_results([low_above]), _dos, "", null, _alt, u) == "invalid"
	lib.lab_result(_results([object.union(low_above, {"reference_range": "0-50"})]), _dos, "", null, _alt, u) == "invalid"

	# a ULN outside the lab's plausible range
	plausible := object.union(_alt, {"plausible": [0, 5000]})
	lib.lab_result(_results([_alt_result(10, 9000)]), _dos, "", null, plausible, u) == "invalid"

	# a ULN outside the spec's uln_plausible: 1e-6 U/L is no upper limit of normal
	bounded := object.union(_alt, {"uln_plausible": [10, 200]})
	lib.lab_result(_results([_alt_result(10, 0.000001)]), _dos, "", null, bounded, u) == "invalid"
	lib.lab_result(_results([_alt_result(10, 500)]), _dos, "", null, bounded, u) == "invalid"
	lib.lab_result(_results([_alt_result(10, 50)]), _dos, "", null, bounded, u) == "met"
	lib.lab_result(_results([_alt_result(10, 0.000001)]), _dos, "", null, _alt, u) == "unmet"

	# an absolute threshold does not read the range
	absolute := object.union(_alt, {"times_uln": null, "value": 120})
	lib.lab_result(_results([_alt_result(10, 0)]), _dos, "", null, absolute, u) == "met"
}

_start(date) := {"state": "present", "value": date}

test_lab_baseline if {
	baseline := object.union(_platelets, {"which": "baseline"})
	before := _count(20, "10*3/uL", "2026-05-01")
	after := _count(40, "10*3/uL", "2026-06-02")
	lib.lab_result(_results([before, after]), _dos, "", _start("2026-06-01"), baseline, _factors) == "met"
	lib.lab_result(_results([after]), _dos, "", _start("2026-06-01"), baseline, _factors) == "unmet"

	# the result on the start date itself is not a baseline
	on_start := _count(40, "10*3/uL", "2026-06-01")
	lib.lab_result(_results([on_start, before]), _dos, "", _start("2026-06-01"), baseline, _factors) == "met"

	# the anchor: absent is unknown, not a date is invalid
	lib.lab_result(_results([before]), _dos, "", {"state": "absent"}, baseline, _factors) == "unknown"
	lib.lab_result(_results([before]), _dos, "", _start("2026-13-01"), baseline, _factors) == "invalid"
	lib.lab_result(_results([before]), _dos, "", {"state": "invalid"}, baseline, _factors) == "invalid"
}

test_lab_anchor_within_the_patients_life if {
	baseline := object.union(_platelets, {"which": "baseline"})
	before := _count(20, "10*3/uL", "2026-05-01")

	# a treatment started after the date of service, or before the birth, is a contradiction
	lib.lab_result(_results([before]), _dos, "", _start("2026-07-01"), baseline, _factors) == "invalid"
	lib.lab_result(_results([before]), _dos, "2026-04-01", _start("2026-03-01"), baseline, _factors) == "invalid"
	lib.lab_result(_results([before]), _dos, "2026-04-01", _start("2026-06-01"), baseline, _factors) == "met"
	lib.lab_key(_results([before]), _dos, "", _start("2026-07-01"), baseline, _factors) == {"state": "invalid"}
}

test_lab_after_the_start if {
	after := {"names": {"platelets"}, "comparison": ">=", "value": 50, "which": "after", "after_days": 28}
	early := _count(60, "10*3/uL", "2026-05-10")
	late := _count(60, "10*3/uL", "2026-06-01")
	lib.lab_result(_results([early, late]), _dos, "", _start("2026-05-01"), after, _factors) == "met"
	lib.lab_result(_results([early]), _dos, "", _start("2026-05-01"), after, _factors) == "unmet"
	june := _results([_count(40, "10*3/uL", "2026-06-01")])
	lib.lab_result(june, _dos, "", _start("2026-05-01"), after, _factors) == "unmet"
}

# LDL-C in mg/dL: a drop of at least 10 mg/dL, or of at least 20 percent, from baseline.
_ldl(value, date) := {"name": "LDL-C", "value": value, "unit": "mg/dL", "date": date}

test_lab_absolute_change if {
	drop := {"names": {"ldlc"}, "comparison": "<=", "value": -10, "change": "absolute", "plausible": [0, 1000]}
	u := {"mg/dl": 1}
	anchor := _start("2026-05-01")
	base := _ldl(50, "2026-04-01")
	lib.lab_result(_results([base, _ldl(35, "2026-06-01")]), _dos, "", anchor, drop, u) == "met"
	lib.lab_result(_results([base, _ldl(45, "2026-06-01")]), _dos, "", anchor, drop, u) == "unmet"

	# no result on one side
	lib.lab_result(_results([base]), _dos, "", anchor, drop, u) == "unmet"
	lib.lab_result(_results([_ldl(35, "2026-06-01")]), _dos, "", anchor, drop, u) == "unmet"

	# an unreadable or impossible result on either side
	lib.lab_result(_results([_ldl("50", "2026-04-01"), _ldl(35, "2026-06-01")]), _dos, "", anchor, drop, u) == "unknown"
	lib.lab_result(_results([base, _ldl(3500, "2026-06-01")]), _dos, "", anchor, drop, u) == "invalid"
	lib.lab_result(_results([base, _ldl(35, "2026-06-01")]), _dos, "", {"state": "absent"}, drop, u) == "unknown"
}

test_lab_percent_change if {
	drop := {"names": {"ldlc"}, "comparison": "<=", "value": -20, "change": "percent"}
	u := {"mg/dl": 1}
	anchor := _start("2026-05-01")
	lib.lab_result(_results([_ldl(50, "2026-04-01"), _ldl(35, "2026-06-01")]), _dos, "", anchor, drop, u) == "met"
	lib.lab_result(_results([_ldl(50, "2026-04-01"), _ldl(45, "2026-06-01")]), _dos, "", anchor, drop, u) == "unmet"

	# a percent change from zero has no meaning
	lib.lab_result(_results([_ldl(0, "2026-04-01"), _ldl(35, "2026-06-01")]), _dos, "", anchor, drop, u) == "invalid"
}

# --- diagnosis codes -----------------------------------------------------------------------

_itp := {"D693", "D6941", "D6942"}

test_icd10_well_formed if {
	lib.icd10_well_formed("D69.3")
	lib.icd10_well_formed(" d693 ")
	lib.icd10_well_formed("C91.02")
	not lib.icd10_well_formed("C9")
	not lib.icd10_well_formed("C91.02XYZ")
	not lib.icd10_well_formed("C91.0-")
	not lib.icd10_well_formed(693)
}

test_icd10_code if {
	lib.icd10_code({"code": "D69.3"}, _itp) == "met"
	lib.icd10_code({"code": "d69.41 "}, _itp) == "met"
	lib.icd10_code({"code": "D69.6"}, _itp) == "unmet"
	lib.icd10_code({"code": "D69"}, _itp) == "unmet"
	lib.icd10_code({}, _itp) == "unknown"
	lib.icd10_code({"code": null}, _itp) == "unknown"
	lib.icd10_code({"code": "D6"}, _itp) == "invalid"
	lib.icd10_code({"code": 693}, _itp) == "invalid"
}

_coded_diagnoses(value) := {"state": "present", "value": value}

test_diagnosis_codes if {
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D69.3"}]), _itp, {}, []) == "met"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "C50.911"}, {"code": "D69.3"}]), _itp, {}, []) == "met"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "C50.911"}]), _itp, {}, []) == "unmet"
	lib.diagnosis_codes(_coded_diagnoses([]), _itp, {}, []) == "unmet"
	lib.diagnosis_codes({"state": "absent"}, _itp, {}, []) == "unknown"
	lib.diagnosis_codes(_coded_diagnoses({"code": "D69.3"}), _itp, {}, []) == "invalid"
	lib.diagnosis_codes(_coded_diagnoses(["D69.3"]), _itp, {}, []) == "invalid"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D"}]), _itp, {}, []) == "invalid"

	# qualifiers and biomarkers
	lineage := {"lineage": {"b_cell_precursor"}}
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D69.3", "lineage": "B_Cell_Precursor"}]), _itp, lineage, []) == "met"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D69.3", "lineage": "t_cell"}]), _itp, lineage, []) == "unmet"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D69.3"}]), _itp, lineage, []) == "unknown"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D69.3", "lineage": 1}]), _itp, lineage, []) == "invalid"
	other := {"code": "C50.911", "lineage": "b_cell_precursor"} # the qualifier holds, the code does not
	lib.diagnosis_codes(_coded_diagnoses([other]), _itp, lineage, []) == "unmet"
	lib.diagnosis_codes(_coded_diagnoses([{"code": "D69.3"}]), _itp, {}, ["unmet"]) == "unmet"
}

# --- a pended lab criterion whose result's unit does not convert ---------------------------

_unit_derived := {"labs": {"plt": {
	"codes": {"777-3"},
	"names": {"platelets"},
	"unit": "10*3/uL",
	"units": {"10*3/ul", "/ul", "10*9/l"},
}}}

_unit_note(results) := lib.unit_note("plt", _unit_derived, {"date_of_service": _dos, "labs": results})

test_unit_note_names_a_unit_that_does_not_convert if {
	note := {"reason": "unit_not_convertible", "unit": "10*3/uL"}
	_unit_note([_count(20, "cells/mm3", "2026-06-01")]) == note
	_unit_note([_count(20, 20, "2026-06-01")]) == note # a unit that is not a string
	_unit_note([_count(20, "10*9/L", "2026-06-01"), _count(20, "K/uL", "2026-05-01")]) == note
}

test_unit_note_none_for_other_reasons if {
	_unit_note([_count(20, "10*9/L", "2026-06-01")]) == {}
	_unit_note([_count("20", "cells/mm3", "2026-06-01")]) == {} # the value is the problem
	_unit_note([_count(20, "cells/mm3", "2026-06-16")]) == {} # after the date of service: not read
	_unit_note([_count(20, "cells/mm3", "2026-02-30")]) == {} # no valid date
	_unit_note([object.union(_count(20, "cells/mm3", "2026-06-01"), {"status": "entered-in-error"})]) == {} # void
	_unit_note([{"name": "hemoglobin", "value": 9, "unit": "mmol/L", "date": "2026-06-01"}]) == {}
	lib.unit_note("plt", _unit_derived, {"date_of_service": _dos}) == {}
	lib.unit_note("other", _unit_derived, {"date_of_service": _dos, "labs": [_count(20, "x", "2026-06-01")]}) == {}
}

# A body measurement or dose whose unit does not convert is named as a lab's is.
_measured_derived := {"unit_facts": {"bmi": [
	{"path": ["patient", "weight"], "value": "value", "unit": "kg", "units": ["kg", "[lb_av]"]},
	{"path": ["patient", "height"], "value": "value", "unit": "cm", "units": ["cm", "m"]},
]}}

_measured_note(patient) := lib.unit_note("bmi", _measured_derived, {"date_of_service": _dos, "patient": patient})

test_unit_note_names_a_measured_fact_unit_that_does_not_convert if {
	_measured_note({"weight": {"value": 112, "unit": "kg "}}) == {"reason": "unit_not_convertible", "unit": "kg"}
	_measured_note({"weight": {"value": 112, "unit": "KG"}, "height": {"value": 5.8, "unit": "ft"}}) == {
		"reason": "unit_not_convertible",
		"unit": "cm",
	}
	_measured_note({"weight": {"value": 112, "unit": "kg"}}) == {}
	_measured_note({"weight": {"value": "112", "unit": "stone"}}) == {} # the value is the problem
	_measured_note({"weight": "112 kg"}) == {}
}
