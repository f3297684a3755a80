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

# A high-intensity statin: atorvastatin 40 mg a day or more, rosuvastatin 20 mg or more,
# for at least 56 days.
_statins := {"agents": {"atorvastatin", "rosuvastatin"}, "classes": set()}

_high_intensity := {
	"results": {"failed", "inadequate_response"}, "n": 1, "each_agent": false, "min_days": 56, "any_agent": false,
	"min_daily_dose": {"agents": {"atorvastatin": 40, "rosuvastatin": 20}, "units": {"mg": 1, "g": 1000}},
}

_trial(agent, dose) := object.union(
	{"agent": agent, "result": "inadequate_response", "start_date": "2026-01-01", "end_date": "2026-03-01"},
	dose,
)

_history(entries) := lib.history({"state": "present", "value": entries}, _statins, _high_intensity, _on)

test_history_min_daily_dose if {
	_history([_trial("Atorvastatin", {"dose": {"amount": 40, "unit": "mg"}})]) == "met"
	_history([_trial("rosuvastatin", {"dose": {"amount": 0.02, "unit": "g", "every_days": 1}})]) == "met"
	_history([_trial("atorvastatin", {"dose": {"amount": 80, "unit": "mg", "every_days": 2}})]) == "met" # 40 a day
	_history([_trial("atorvastatin", {"dose": {"amount": 20, "unit": "mg"}})]) == "unmet"
	_history([_trial("rosuvastatin", {"dose": {"amount": 40, "unit": "mg", "every_days": 7}})]) == "unmet"
	_history([_trial("atorvastatin", {})]) == "unknown" # no dose given
	_history([_trial("atorvastatin", {"dose": {"amount": 40, "unit": "tablet"}})]) == "unknown"
	_history([_trial("atorvastatin", {"dose": {"amount": 20, "unit": "mg"}, "result": null})]) == "unknown" # might be contraindicated
	_history([{"agent": "atorvastatin", "result": "contraindicated"}]) == "unmet" # not a listed result here
	_history([_trial("atorvastatin", {"dose": "40 mg"})]) == "invalid"
	_history([_trial("atorvastatin", {"dose": "40 mg", "result": null})]) == "invalid"
	_history([_trial("atorvastatin", {"dose": {"amount": -40, "unit": "mg"}})]) == "invalid"
	_history([_trial("atorvastatin", {"dose": {"amount": 40, "unit": "mg", "every_days": 0}})]) == "invalid"
	_history([_trial("atorvastatin", {"dose": {"amount": 40, "unit": 5}})]) == "invalid"

	# a malformed dose beside a counting trial does not matter
	_history([_trial("atorvastatin", {"dose": "40 mg"}), _trial("rosuvastatin", {"dose": {"amount": 20, "unit": "mg"}})]) == "met"

	# an agent the rule sets no dose for, and a contraindicated one, need none
	contraindicated := object.union(_high_intensity, {"results": {"contraindicated"}})
	lib.history({"state": "present", "value": [{"agent": "rosuvastatin", "result": "contraindicated"}]}, _statins, contraindicated, _on) == "met"
	lib.history(
		{"state": "present", "value": [_trial("pravastatin", {})]},
		{"agents": {"pravastatin"}, "classes": set()}, _high_intensity, _on,
	) == "met"
}
