# METADATA
# title: Tests of the shared library
# description: >-
#   Truth tables of the three-valued combinators, month arithmetic and its clamping, ages on
#   and around birthdays (29 February included), the three states of a fact, and each leaf
#   test's met / unmet / unknown / invalid (docs/semantics.md). Run with
#   `opa test --coverage generator/rxrego/rego` (make test and rxrego lint do).
package rxrego.lib_test

import data.rxrego.lib

# --- combinators: every pair of the four statuses ------------------------------------------

test_all_of_truth_table if {
	every row in [
		["met", "met", "met"], ["met", "unmet", "unmet"],
		["met", "unknown", "unknown"], ["met", "invalid", "invalid"],
		["unmet", "met", "unmet"], ["unmet", "unmet", "unmet"],
		["unmet", "unknown", "unmet"], ["unmet", "invalid", "unmet"],
		["unknown", "met", "unknown"], ["unknown", "unmet", "unmet"], ["unknown", "unknown", "unknown"],
		["unknown", "invalid", "invalid"],
		["invalid", "met", "invalid"], ["invalid", "unmet", "unmet"], ["invalid", "unknown", "invalid"],
		["invalid", "invalid", "invalid"],
	] {
		lib.all_of([row[0], row[1]]) == row[2]
	}
}

test_any_of_truth_table if {
	every row in [
		["met", "met", "met"], ["met", "unmet", "met"], ["met", "unknown", "met"], ["met", "invalid", "met"],
		["unmet", "met", "met"], ["unmet", "unmet", "unmet"],
		["unmet", "unknown", "unknown"], ["unmet", "invalid", "invalid"],
		["unknown", "met", "met"], ["unknown", "unmet", "unknown"], ["unknown", "unknown", "unknown"],
		["unknown", "invalid", "unknown"],
		["invalid", "met", "met"], ["invalid", "unmet", "invalid"], ["invalid", "unknown", "unknown"],
		["invalid", "invalid", "invalid"],
	] {
		lib.any_of([row[0], row[1]]) == row[2]
	}
}

test_at_least_counts_met_then_possible_then_invalid if {
	every row in [
		[2, ["met", "met", "unmet"], "met"],
		[2, ["met", "unknown", "unmet"], "unknown"],
		[2, ["unknown", "unknown", "invalid"], "unknown"],
		[2, ["met", "unmet", "invalid"], "invalid"],
		[2, ["met", "unmet", "unmet"], "unmet"],
		[3, ["met", "met", "unknown"], "unknown"],
		[1, ["invalid", "unmet"], "invalid"],
		[0, [], "met"],
	] {
		lib.at_least(row[0], row[1]) == row[2]
	}
}

test_empty_lists if {
	lib.all_of([]) == "met"
	lib.any_of([]) == "unmet"
}

# when(condition, requirement): the condition decides whether the requirement applies; an
# invalid condition never switches it off; an unknown one does only when the requirement holds.
test_when_truth_table if {
	every row in [
		["met", "met", "met"], ["met", "unmet", "unmet"],
		["met", "unknown", "unknown"], ["met", "invalid", "invalid"],
		["unmet", "met", "met"], ["unmet", "unmet", "met"],
		["unmet", "unknown", "met"], ["unmet", "invalid", "met"],
		["invalid", "met", "invalid"], ["invalid", "unmet", "invalid"], ["invalid", "unknown", "invalid"],
		["invalid", "invalid", "invalid"],
		["unknown", "met", "met"], ["unknown", "unmet", "unknown"], ["unknown", "unknown", "unknown"],
		["unknown", "invalid", "unknown"],
	] {
		lib.when([row[0]], [row[1]]) == row[2]
	}
}

test_when_takes_all_of_its_lists if {
	lib.when(["met", "unknown"], ["met", "met"]) == "met"
	lib.when(["met", "unmet"], ["unmet"]) == "met"
	lib.when(["met", "met"], ["met", "unmet"]) == "unmet"
}

# --- facts: absent, invalid, present ---------------------------------------------------------

test_fact_absent if {
	every request in [{}, {"patient": null}, {"patient": {}}, {"patient": {"birth_date": null}}] {
		lib.fact(request, ["patient", "birth_date"]) == {"state": "absent"}
	}
	lib.fact({}, ["diagnoses"]) == {"state": "absent"}
	lib.fact({"a": {"b": null}}, ["a", "b", "c"]) == {"state": "absent"}
}

test_fact_invalid_when_a_parent_is_not_an_object if {
	every request in [{"patient": "x"}, {"patient": []}, {"patient": 5}, {"patient": false}] {
		lib.fact(request, ["patient", "birth_date"]) == {"state": "invalid"}
	}
	lib.fact({"a": {"b": "x"}}, ["a", "b", "c"]) == {"state": "invalid"}
	lib.fact({"a": 1}, ["a", "b", "c"]) == {"state": "invalid"}
}

test_fact_present if {
	every value in ["1980-03-20", false, 0, [], {}, "x"] {
		lib.fact({"patient": {"birth_date": value}}, ["patient", "birth_date"]) == {"state": "present", "value": value}
	}
	lib.fact({"diagnoses": []}, ["diagnoses"]) == {"state": "present", "value": []}
}

# facts reads many paths at once, each exactly as fact would.
test_facts_reads_each_path_as_fact_does if {
	request := {"patient": {"birth_date": "1980-03-20"}, "prescriber": "x", "diagnoses": []}
	paths := {
		"patient.birth_date": ["patient", "birth_date"],
		"prescriber.attestations.a": ["prescriber", "attestations", "a"],
		"diagnoses": ["diagnoses"],
		"biomarkers.CD22": ["biomarkers", "CD22"],
	}
	lib.facts(request, paths) == {
		"patient.birth_date": {"state": "present", "value": "1980-03-20"},
		"prescriber.attestations.a": {"state": "invalid"},
		"diagnoses": {"state": "present", "value": []},
		"biomarkers.CD22": {"state": "absent"},
	}
	every name, path in paths {
		lib.facts(request, paths)[name] == lib.fact(request, path)
	}
}

# --- dates -----------------------------------------------------------------------------------

test_valid_dates if {
	every s in ["2026-01-01", "2024-02-29", "2000-02-29", "1900-01-01", "2199-12-31"] {
		lib.valid_date(s)
	}
	every s in [
		"2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "1899-12-31", "2200-01-01",
		"2026-1-05", "2026-01-5", "26-01-05", "2026-01-01T00:00:00Z", " 2026-01-01", 20260101, null,
	] {
		not lib.valid_date(s)
	}
}

test_date_parts if {
	lib.date_parts("2024-02-29") == [2024, 2, 29]
	lib.service_date({"date_of_service": "2026-05-10"}) == [2026, 5, 10]
	lib.service_date({"date_of_service": "2026-02-30"}) == null
	lib.service_date({}) == null
}

# From the 31st, each month ends on its own last day (29 February only in leap years).
test_add_months_ends_each_month_on_its_last_day if {
	every row in [
		["2026-01-31", 0, "2026-01-31"], ["2026-01-31", 1, "2026-02-28"], ["2026-01-31", 2, "2026-03-31"],
		["2026-01-31", 3, "2026-04-30"], ["2026-01-31", 4, "2026-05-31"], ["2026-01-31", 5, "2026-06-30"],
		["2026-01-31", 6, "2026-07-31"], ["2026-01-31", 7, "2026-08-31"], ["2026-01-31", 8, "2026-09-30"],
		["2026-01-31", 9, "2026-10-31"], ["2026-01-31", 10, "2026-11-30"], ["2026-01-31", 11, "2026-12-31"],
		["2024-01-31", 1, "2024-02-29"], ["2000-01-31", 1, "2000-02-29"], ["1900-01-31", 1, "1900-02-28"],
		["2100-01-31", 1, "2100-02-28"],
	] {
		lib.add_months(row[0], row[1]) == row[2]
	}
}

test_add_months_clamps_to_the_end_of_a_shorter_month if {
	every row in [
		["2026-06-15", 3, "2026-09-15"],
		["2026-11-30", 3, "2027-02-28"],
		["2026-01-31", 1, "2026-02-28"],
		["2028-01-31", 1, "2028-02-29"],
		["2000-01-31", 1, "2000-02-29"],
		["2100-01-31", 1, "2100-02-28"],
		["2026-03-31", 1, "2026-04-30"],
		["2026-08-31", 6, "2027-02-28"],
		["2026-12-15", 1, "2027-01-15"],
		["2024-02-29", 12, "2025-02-28"],
		["2026-01-31", 0, "2026-01-31"],
		["2026-05-31", 24, "2028-05-31"],
	] {
		lib.add_months(row[0], row[1]) == row[2]
	}
	not lib.add_months("2026-02-30", 1)
	not lib.add_months("2026-2-3", 1)
}

# A range with a bound left null is open on that side.
test_in_range if {
	every row in [
		[5, 1, 10, "met"], [1, 1, 10, "met"], [10, 1, 10, "met"], [0, 1, 10, "unmet"], [11, 1, 10, "unmet"],
		[5, null, 10, "met"], [11, null, 10, "unmet"], [5, 1, null, "met"], [0, 1, null, "unmet"],
		[5, null, null, "met"],
	] {
		lib._in_range(row[0], row[1], row[2]) == row[3]
	}
}

test_days_between if {
	lib.days_between("2026-01-01", "2026-03-01") == 59
	lib.days_between("2024-01-01", "2024-03-01") == 60
	lib.days_between("2026-05-10", "2026-05-10") == 0
}

# Whole years; the birthday counts from its own day; born on 29 February, a year older on
# 1 March in a common year and on 29 February in a leap year. Each row: birth, date of
# service, the age then: at least that age is met, one year more is not, and at most one
# year less is not.
test_age_on_and_around_birthdays if {
	every row in [
		["2025-05-10", [2026, 5, 9], 0],
		["2025-05-10", [2026, 5, 10], 1],
		["2025-05-10", [2026, 5, 11], 1],
		["2008-06-15", [2026, 6, 14], 17],
		["2008-06-15", [2026, 6, 15], 18],
		["2024-02-29", [2025, 2, 28], 0],
		["2024-02-29", [2025, 3, 1], 1],
		["2024-02-29", [2028, 2, 28], 3],
		["2024-02-29", [2028, 2, 29], 4],
		["1980-03-20", [1980, 3, 20], 0],
	] {
		birth := {"state": "present", "value": row[0]}
		lib.age(birth, row[1], row[2], row[2]) == "met"
		lib.age(birth, row[1], row[2] + 1, null) == "unmet"
		lib.age(birth, row[1], null, row[2] - 1) == "unmet"
	}
}
