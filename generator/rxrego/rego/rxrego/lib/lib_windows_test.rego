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
