# Tests of the shared library's calendar windows and regimens (labs.rego `within_months`,
# clinical.rego `treatment_duration` and `dose_regimen`; docs/semantics.md): each reading
# met, unmet, unknown and invalid.
package rxrego.lib_test

import data.rxrego.lib

_w_on := "2026-06-15"

_w_labs(results) := {"state": "present", "value": results}

# An apnea-hypopnea index of at least 15 events per hour, on a study within the last 2 years.
_w_ahi := {"names": {"ahi"}, "comparison": ">=", "value": 15, "within_months": 24}

_w_study(value, date) := {"name": "AHI", "value": value, "unit": "/h", "date": date}

test_lab_within_months if {
	f := {"/h": 1, "/min": 60}
	lib.lab_result(_w_labs([_w_study(28, "2024-06-15")]), _w_on, "", null, _w_ahi, f) == "met" # exactly 24 months
	lib.lab_result(_w_labs([_w_study(28, "2024-06-14")]), _w_on, "", null, _w_ahi, f) == "unmet" # a day older
	per_minute := {"name": "AHI", "value": 0.3, "unit": "/min", "date": "2026-01-10"}
	lib.lab_result(_w_labs([per_minute]), _w_on, "", null, _w_ahi, f) == "met" # 18 per hour

	# 29 February plus 24 months is 28 February: still within the window on that day
	lib.lab_result(_w_labs([_w_study(28, "2024-02-29")]), "2026-02-28", "", null, _w_ahi, f) == "met"
	lib.lab_result(_w_labs([_w_study(28, "2024-02-29")]), "2026-03-01", "", null, _w_ahi, f) == "unmet"
}

_w_start(date) := {"state": "present", "value": date}

test_treatment_duration if {
	six := {"comparison": "<=", "months": 6}
	lib.treatment_duration(_w_start("2025-12-15"), _w_on, "", six) == "met" # exactly 6 months
	lib.treatment_duration(_w_start("2025-12-14"), _w_on, "", six) == "unmet"
	lib.treatment_duration(_w_start("2026-06-15"), _w_on, "", six) == "met" # started today
	lib.treatment_duration(_w_start("2025-12-14"), _w_on, "", {"comparison": ">", "months": 6}) == "met"
	lib.treatment_duration(_w_start("2025-12-15"), _w_on, "", {"comparison": ">", "months": 6}) == "unmet"
	lib.treatment_duration(_w_start("2025-06-15"), _w_on, "", {"comparison": ">=", "months": 12}) == "met"

	# 364 days on the drug
	lib.treatment_duration(_w_start("2025-06-16"), _w_on, "", {"comparison": "<", "days": 365}) == "met"
	lib.treatment_duration(_w_start("2025-06-16"), _w_on, "", {"comparison": "<", "days": 364}) == "unmet"

	# 31 August plus 6 months is 28 February
	lib.treatment_duration(_w_start("2025-08-31"), "2026-02-28", "", six) == "met"
	lib.treatment_duration(_w_start("2025-08-31"), "2026-03-01", "", six) == "unmet"

	lib.treatment_duration({"state": "absent"}, _w_on, "", six) == "unknown"
	lib.treatment_duration({"state": "invalid"}, _w_on, "", six) == "invalid"
	lib.treatment_duration(_w_start("2026-02-30"), _w_on, "", six) == "invalid"
	lib.treatment_duration(_w_start(20260101), _w_on, "", six) == "invalid"
	lib.treatment_duration(_w_start("2026-06-16"), _w_on, "", six) == "invalid" # after the date of service
	lib.treatment_duration(_w_start("2019-12-31"), _w_on, "2020-01-01", six) == "invalid" # before the birth
	lib.treatment_duration(_w_start("2026-01-01"), _w_on, "2020-01-01", six) == "met"
}

_w_weekly := {"amounts": [10, 15], "every_days": 7, "units": {"mg": 1, "g": 1000, "ug": 0.001}}

_w_dose(d) := {"state": "present", "value": d}

test_dose_regimen if {
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mg", "every_days": 7}), _w_weekly) == "met"
	lib.dose_regimen(_w_dose({"amount": 15, "unit": "MG", "every_days": 7}), _w_weekly) == "met"
	lib.dose_regimen(_w_dose({"amount": 0.01, "unit": "g", "every_days": 7}), _w_weekly) == "met"
	lib.dose_regimen(_w_dose({"amount": 15000, "unit": "ug", "every_days": 7}), _w_weekly) == "met"
	lib.dose_regimen(_w_dose({"amount": 12.5, "unit": "mg", "every_days": 7}), _w_weekly) == "unmet"
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mg", "every_days": 14}), _w_weekly) == "unmet"
	lib.dose_regimen(_w_dose({"amount": 12.5, "unit": "mg"}), _w_weekly) == "unmet" # not listed, whatever the frequency
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mg"}), _w_weekly) == "unknown"
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mg", "every_days": null}), _w_weekly) == "unknown"
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mL", "every_days": 7}), _w_weekly) == "unknown"
	lib.dose_regimen({"state": "absent"}, _w_weekly) == "unknown"
	lib.dose_regimen(_w_dose("10 mg weekly"), _w_weekly) == "invalid"
	lib.dose_regimen(_w_dose({"amount": -10, "unit": "mg", "every_days": 7}), _w_weekly) == "invalid"
	lib.dose_regimen(_w_dose({"amount": "10", "unit": "mg", "every_days": 7}), _w_weekly) == "invalid"
	lib.dose_regimen(_w_dose({"amount": 10, "unit": 5, "every_days": 7}), _w_weekly) == "invalid"
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mg", "every_days": 0}), _w_weekly) == "invalid"
	lib.dose_regimen(_w_dose({"amount": 10, "unit": "mg", "every_days": "7"}), _w_weekly) == "invalid"
}

# A high-intensity statin: atorvastatin 40 mg a day or more, rosuvastatin 20 mg or more,
# for at least 56 days.
_w_statins := {"agents": {"atorvastatin", "rosuvastatin"}, "classes": set()}

_w_high_intensity := {
	"results": {"failed", "inadequate_response"}, "n": 1, "each_agent": false, "min_days": 56, "any_agent": false,
	"min_daily_dose": {"agents": {"atorvastatin": 40, "rosuvastatin": 20}, "units": {"mg": 1, "g": 1000}},
}

_w_trial(agent, more) := object.union(
	{"agent": agent, "result": "inadequate_response", "start_date": "2026-01-01", "end_date": "2026-03-01"},
	more,
)

_w_entries(entries) := {"state": "present", "value": entries}

# One trial against the high-intensity rule, on the date of service.
_w_high(trial) := lib.history(_w_entries([trial]), _w_statins, _w_high_intensity, "2026-06-15", "")

_w_dosed(agent, amount, unit) := _w_trial(agent, {"dose": {"amount": amount, "unit": unit, "every_days": 1}})

_w_every(agent, amount, days) := _w_trial(agent, {"dose": {"amount": amount, "unit": "mg", "every_days": days}})

# A dose without its interval is never taken as daily: the trial may count, once it is known.
test_history_dose_without_interval if {
	_w_high(_w_trial("atorvastatin", {"dose": {"amount": 80, "unit": "mg"}})) == "unknown"
	_w_high(_w_trial("atorvastatin", {"dose": {"amount": 80, "unit": "mg", "every_days": null}})) == "unknown"
	weekly := {"amount": 80, "unit": "mg", "frequency": "weekly"}
	_w_high(_w_trial("atorvastatin", {"dose": weekly})) == "unknown"

	# a smaller amount too: 20 mg twice a day (every_days 0.5) would be 40 mg a day
	_w_high(_w_trial("atorvastatin", {"dose": {"amount": 20, "unit": "mg"}})) == "unknown"
	_w_high(_w_every("atorvastatin", 80, 1)) == "met"
}

# A result outside the closed list is malformed, not another result: the test is invalid
# (and names prior_therapies), never merely unmet.
test_history_result_not_of_the_closed_list if {
	capitalised := {"dose": {"amount": 80, "unit": "mg", "every_days": 1}, "result": "Failed"}
	_w_high(_w_trial("atorvastatin", capitalised)) == "invalid"
	lib.history(_w_entries([{"agent": "atorvastatin", "result": "Failed"}]), _w_statins, _w_any, _w_on, "") == "invalid"
	lib.history(_w_entries([{"agent": "atorvastatin", "result": "failed"}]), _w_statins, _w_any, _w_on, "") == "met"

	# beside a counting trial it does not matter
	both := [{"agent": "rosuvastatin", "result": "failed"}, {"agent": "atorvastatin", "result": "worse"}]
	lib.history(_w_entries(both), _w_statins, _w_any, _w_on, "") == "met"
}

_w_any := {"results": {"failed"}, "n": 1, "each_agent": false, "min_days": null, "any_agent": false}

test_history_min_daily_dose if {
	lib.history(_w_entries([_w_dosed("Atorvastatin", 40, "mg")]), _w_statins, _w_high_intensity, _w_on, "") == "met"
	lib.history(_w_entries([_w_dosed("rosuvastatin", 0.02, "g")]), _w_statins, _w_high_intensity, _w_on, "") == "met"
	_w_high(_w_every("atorvastatin", 80, 2)) == "met" # 40 a day
	lib.history(_w_entries([_w_dosed("atorvastatin", 20, "mg")]), _w_statins, _w_high_intensity, _w_on, "") == "unmet"
	lib.history(_w_entries([_w_every("rosuvastatin", 40, 7)]), _w_statins, _w_high_intensity, _w_on, "") == "unmet"
	_w_high(_w_trial("atorvastatin", {})) == "unknown" # no dose
	_w_high(_w_dosed("atorvastatin", 40, "tablet")) == "unknown"

	# no result: it might be contraindicated, which needs no dose
	no_result := _w_trial("atorvastatin", {"dose": {"amount": 20, "unit": "mg", "every_days": 1}, "result": null})
	lib.history(_w_entries([no_result]), _w_statins, _w_high_intensity, _w_on, "") == "unknown"
	unsuitable_atorvastatin := [{"agent": "atorvastatin", "result": "contraindicated"}]
	lib.history(_w_entries(unsuitable_atorvastatin), _w_statins, _w_high_intensity, _w_on, "") == "unmet"

	# a dose given in another shape is malformed
	as_text := _w_trial("atorvastatin", {"dose": "40 mg"})
	lib.history(_w_entries([as_text]), _w_statins, _w_high_intensity, _w_on, "") == "invalid"
	unread := _w_trial("atorvastatin", {"dose": "40 mg", "result": null})
	lib.history(_w_entries([unread]), _w_statins, _w_high_intensity, _w_on, "") == "invalid"
	lib.history(_w_entries([_w_dosed("atorvastatin", -40, "mg")]), _w_statins, _w_high_intensity, _w_on, "") == "invalid"
	lib.history(_w_entries([_w_every("atorvastatin", 40, 0)]), _w_statins, _w_high_intensity, _w_on, "") == "invalid"
	lib.history(_w_entries([_w_dosed("atorvastatin", 40, 5)]), _w_statins, _w_high_intensity, _w_on, "") == "invalid"

	# a malformed dose beside a counting trial does not matter
	both := [_w_trial("atorvastatin", {"dose": "40 mg"}), _w_dosed("rosuvastatin", 20, "mg")]
	lib.history(_w_entries(both), _w_statins, _w_high_intensity, _w_on, "") == "met"

	# a contraindicated agent, and an agent the _w_high_intensity sets no dose for, need none
	contraindicated := object.union(_w_high_intensity, {"results": {"contraindicated"}})
	unsuitable := [{"agent": "rosuvastatin", "result": "contraindicated"}]
	lib.history(_w_entries(unsuitable), _w_statins, contraindicated, _w_on, "") == "met"
	pravastatin := {"agents": {"pravastatin"}, "classes": set()}
	lib.history(_w_entries([_w_trial("pravastatin", {})]), pravastatin, _w_high_intensity, _w_on, "") == "met"
}
