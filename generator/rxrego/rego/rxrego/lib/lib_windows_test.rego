# Tests of the shared library's calendar windows and regimens (labs.rego `within_months`,
# clinical.rego `treatment_duration` and `dose_regimen`; docs/semantics.md): each reading
# met, unmet, unknown and invalid.
package rxrego.lib_windows_test

import data.rxrego.lib

_on := "2026-06-15"

_labs(results) := {"state": "present", "value": results}

# An apnea-hypopnea index of at least 15 events per hour, on a study within the last 2 years.
_ahi := {"names": {"ahi"}, "comparison": ">=", "value": 15, "within_months": 24}

_study(value, date) := {"name": "AHI", "value": value, "unit": "/h", "date": date}

test_lab_within_months if {
	f := {"/h": 1, "/min": 60}
	lib.lab_result(_labs([_study(28, "2024-06-15")]), _on, null, _ahi, f) == "met" # exactly 24 months
	lib.lab_result(_labs([_study(28, "2024-06-14")]), _on, null, _ahi, f) == "unmet" # a day older
	per_minute := {"name": "AHI", "value": 0.3, "unit": "/min", "date": "2026-01-10"}
	lib.lab_result(_labs([per_minute]), _on, null, _ahi, f) == "met" # 18 per hour

	# 29 February plus 24 months is 28 February: still within the window on that day
	lib.lab_result(_labs([_study(28, "2024-02-29")]), "2026-02-28", null, _ahi, f) == "met"
	lib.lab_result(_labs([_study(28, "2024-02-29")]), "2026-03-01", null, _ahi, f) == "unmet"
}

_start(date) := {"state": "present", "value": date}

test_treatment_duration if {
	six := {"comparison": "<=", "months": 6}
	lib.treatment_duration(_start("2025-12-15"), _on, six) == "met" # exactly 6 months
	lib.treatment_duration(_start("2025-12-14"), _on, six) == "unmet"
	lib.treatment_duration(_start("2026-06-15"), _on, six) == "met" # started today
	lib.treatment_duration(_start("2025-12-14"), _on, {"comparison": ">", "months": 6}) == "met"
	lib.treatment_duration(_start("2025-12-15"), _on, {"comparison": ">", "months": 6}) == "unmet"
	lib.treatment_duration(_start("2025-06-15"), _on, {"comparison": ">=", "months": 12}) == "met"
	lib.treatment_duration(_start("2025-06-16"), _on, {"comparison": "<", "days": 365}) == "met" # 364 days on the drug
	lib.treatment_duration(_start("2025-06-16"), _on, {"comparison": "<", "days": 364}) == "unmet"

	# 31 August plus 6 months is 28 February
	lib.treatment_duration(_start("2025-08-31"), "2026-02-28", six) == "met"
	lib.treatment_duration(_start("2025-08-31"), "2026-03-01", six) == "unmet"

	lib.treatment_duration({"state": "absent"}, _on, six) == "unknown"
	lib.treatment_duration({"state": "invalid"}, _on, six) == "invalid"
	lib.treatment_duration(_start("2026-02-30"), _on, six) == "invalid"
	lib.treatment_duration(_start(20260101), _on, six) == "invalid"
	lib.treatment_duration(_start("2026-06-16"), _on, six) == "invalid" # after the date of service
}

_weekly := {"amounts": [10, 15], "every_days": 7, "units": {"mg": 1, "g": 1000, "ug": 0.001}}

_dose(d) := {"state": "present", "value": d}

test_dose_regimen if {
	lib.dose_regimen(_dose({"amount": 10, "unit": "mg", "every_days": 7}), _weekly) == "met"
	lib.dose_regimen(_dose({"amount": 15, "unit": "MG", "every_days": 7}), _weekly) == "met"
	lib.dose_regimen(_dose({"amount": 0.01, "unit": "g", "every_days": 7}), _weekly) == "met"
	lib.dose_regimen(_dose({"amount": 15000, "unit": "ug", "every_days": 7}), _weekly) == "met"
	lib.dose_regimen(_dose({"amount": 12.5, "unit": "mg", "every_days": 7}), _weekly) == "unmet"
	lib.dose_regimen(_dose({"amount": 10, "unit": "mg", "every_days": 14}), _weekly) == "unmet"
	lib.dose_regimen(_dose({"amount": 12.5, "unit": "mg"}), _weekly) == "unmet" # not listed, whatever the frequency
	lib.dose_regimen(_dose({"amount": 10, "unit": "mg"}), _weekly) == "unknown"
	lib.dose_regimen(_dose({"amount": 10, "unit": "mg", "every_days": null}), _weekly) == "unknown"
	lib.dose_regimen(_dose({"amount": 10, "unit": "mL", "every_days": 7}), _weekly) == "unknown"
	lib.dose_regimen({"state": "absent"}, _weekly) == "unknown"
	lib.dose_regimen(_dose("10 mg weekly"), _weekly) == "invalid"
	lib.dose_regimen(_dose({"amount": -10, "unit": "mg", "every_days": 7}), _weekly) == "invalid"
	lib.dose_regimen(_dose({"amount": "10", "unit": "mg", "every_days": 7}), _weekly) == "invalid"
	lib.dose_regimen(_dose({"amount": 10, "unit": 5, "every_days": 7}), _weekly) == "invalid"
	lib.dose_regimen(_dose({"amount": 10, "unit": "mg", "every_days": 0}), _weekly) == "invalid"
	lib.dose_regimen(_dose({"amount": 10, "unit": "mg", "every_days": "7"}), _weekly) == "invalid"
}

