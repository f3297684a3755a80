# Tests of the shared library's clinical facts (clinical.rego; docs/semantics.md, "Clinical
# facts"): capped quantities, body measurements, age in months, doses, therapy history,
# concurrent therapy, procedures and who prescribes, each met, unmet, unknown and invalid.
package rxrego.lib_test

import data.rxrego.lib

_on := "2026-06-15"

_absent := {"state": "absent"}

_p(value) := {"state": "present", "value": value}

# --- quantity ------------------------------------------------------------------------------

# 4 vials per 28 days, in whole vials, a days supply of at most 28.
_vials := {"max_units": 4, "per_days": 28, "max_days_supply": 28, "whole_units": true}

test_quantity if {
	lib.quantity(_p(4), _p(28), _vials) == "met"
	lib.quantity(_p(2), _p(14), _vials) == "met"
	lib.quantity(_p(5), _p(28), _vials) == "unmet"

	# a long supply is not pro-rated into compliance
	lib.quantity(_p(60), _p(420), _vials) == "unmet"
	lib.quantity(_absent, _p(28), _vials) == "unknown"
	lib.quantity(_p(4), _absent, _vials) == "unknown"
}

test_quantity_invalid if {
	lib.quantity(_p(1.5), _p(28), _vials) == "invalid"
	lib.quantity(_p(1.5), _p(28), object.union(_vials, {"whole_units": false})) == "met"
	lib.quantity(_p(-1), _p(28), _vials) == "invalid"
	lib.quantity(_p("4"), _p(28), _vials) == "invalid"
	lib.quantity({"state": "invalid"}, _p(28), _vials) == "invalid"
	lib.quantity(_p(4), _p(0), _vials) == "invalid"
	lib.quantity(_p(4), _p(2.5), _vials) == "invalid"
	lib.quantity(_absent, _p("28"), _vials) == "invalid"
}

# --- body measurements ---------------------------------------------------------------------

_kg := {"kg": 1, "g": 0.001, "[lb_av]": 0.45359237}

_measured(given) := lib.measurement(given, _kg, [0.2, 700], _on, "")

_weight(value, unit) := _p({"value": value, "unit": unit, "date": "2026-06-01"})

test_measurement if {
	_measured(_weight(70, "kg")) == {"state": "present", "value": 70}
	_measured(_weight(70000, "g")) == {"state": "present", "value": 70}
	_measured(_p({"value": 70, "unit": "KG"})) == {"state": "present", "value": 70}
	_measured(_absent) == {"state": "absent"}
	_measured(_weight(70, "stone")) == {"state": "unknown"}
	_measured(_weight("70", "kg")) == {"state": "unknown"}
	_measured(_p({"value": 70, "unit": 1})) == {"state": "unknown"}
	_measured(_weight(7000, "kg")) == {"state": "invalid"}
	_measured(_p(70)) == {"state": "invalid"}
	_measured({"state": "invalid"}) == {"state": "invalid"}
	_measured(_p({"value": 70, "unit": "kg", "date": "2026-02-30"})) == {"state": "invalid"}
}

_dated_weight(date) := _p({"value": 12, "unit": "kg", "date": date})

test_measurement_dated_within_the_patients_life if {
	lib.measurement(_dated_weight("2026-06-15"), _kg, [0.2, 700], _on, "2024-01-01") == {"state": "present", "value": 12}
	_measured(_dated_weight("2026-06-01T09:30:00+02:00")) == {"state": "present", "value": 12}
	lib.measurement(_dated_weight("1950-01-01"), _kg, [0.2, 700], _on, "2024-01-01") == {"state": "invalid"}
	_measured(_dated_weight("2026-06-16")) == {"state": "invalid"}
}

test_compared if {
	lib.compared({"state": "present", "value": 70}, ">=", 50) == "met"
	lib.compared({"state": "present", "value": 40}, ">=", 50) == "unmet"
	lib.compared({"state": "absent"}, ">=", 50) == "unknown"
	lib.compared({"state": "unknown"}, ">=", 50) == "unknown"
	lib.compared({"state": "invalid"}, ">=", 50) == "invalid"
}

test_bmi if {
	# BMI >= 30 from weight (kg) and height (m): 100 / 1.8^2 = 30.9, 90 / 1.8^2 = 27.8
	height := {"state": "present", "value": 1.8}
	lib.bmi({"state": "present", "value": 100}, height, _absent, ">=", 30) == "met"
	lib.bmi({"state": "present", "value": 90}, height, {"state": "present", "value": 35}, ">=", 30) == "unmet"
	lib.bmi({"state": "invalid"}, height, {"state": "present", "value": 35}, ">=", 30) == "invalid"
	lib.bmi({"state": "present", "value": 100}, {"state": "invalid"}, _absent, ">=", 30) == "invalid"

	# without both measurements, the stated BMI
	lib.bmi(_absent, height, {"state": "present", "value": 35}, ">=", 30) == "met"
	lib.bmi({"state": "unknown"}, height, {"state": "present", "value": 25}, ">=", 30) == "unmet"
	lib.bmi(_absent, _absent, _absent, ">=", 30) == "unknown"
}

# --- age in months -------------------------------------------------------------------------

test_months_between if {
	lib.months_between("2025-12-15", "2026-06-15") == 6
	lib.months_between("2025-12-16", "2026-06-15") == 5
	lib.months_between("2024-01-31", "2024-02-29") == 1
	lib.months_between("2024-01-31", "2024-02-28") == 0
}

test_age_months if {
	service := [2026, 6, 15]
	lib.age_months(_p("2025-12-15"), service, 6, null) == "met"
	lib.age_months(_p("2025-12-16"), service, 6, null) == "unmet"
	lib.age_months(_p("2025-12-16"), service, null, 6) == "met"
	lib.age_months(_absent, service, 6, null) == "unknown"
	lib.age_months({"state": "invalid"}, service, 6, null) == "invalid"
	lib.age_months(_p("2026-02-30"), service, 6, null) == "invalid"
	lib.age_months(_p("2026-07-01"), service, 6, null) == "invalid" # born after the date of service
	lib.age_months(_p("2025-12-15"), null, 6, null) == "invalid" # no valid date of service
}

# --- doses ---------------------------------------------------------------------------------

_ug := {"ug": 1, "mg": 1000}

# Romiplostim: at most 10 ug/kg a week.
_weekly_per_kg := {"max": 10, "units": _ug, "period": "week", "basis": "kg"}

_dose(amount, unit, days) := _p({"amount": amount, "unit": unit, "every_days": days})

test_dose_per_kg if {
	kg70 := {"state": "present", "value": 70}
	lib.dose(_dose(500, "ug", 7), kg70, null, _weekly_per_kg) == "met"
	lib.dose(_dose(0.5, "mg", 7), kg70, null, _weekly_per_kg) == "met"
	lib.dose(_dose(500, "ug", 3.5), kg70, null, _weekly_per_kg) == "unmet"
	lib.dose(_dose(500, "ug", 7), {"state": "present", "value": 40}, null, _weekly_per_kg) == "unmet"
	lib.dose(_dose(500, "ug", 7), {"state": "invalid"}, null, _weekly_per_kg) == "invalid"
	lib.dose(_dose(500, "ug", 7), {"state": "absent"}, null, _weekly_per_kg) == "unknown"
	lib.dose(_dose(500, "ug", 7), {"state": "unknown"}, null, _weekly_per_kg) == "unknown"
}

test_dose_unreadable if {
	kg70 := {"state": "present", "value": 70}
	lib.dose(_absent, kg70, null, _weekly_per_kg) == "unknown"
	lib.dose(_dose(500, "mL", 7), kg70, null, _weekly_per_kg) == "unknown"
	lib.dose({"state": "invalid"}, kg70, null, _weekly_per_kg) == "invalid"
	lib.dose(_p("500 ug weekly"), kg70, null, _weekly_per_kg) == "invalid"
	lib.dose(_dose(-1, "ug", 7), kg70, null, _weekly_per_kg) == "invalid"
	lib.dose(_dose("500", "ug", 7), kg70, null, _weekly_per_kg) == "invalid"
	lib.dose(_dose(500, 1, 7), kg70, null, _weekly_per_kg) == "invalid"
	lib.dose(_dose(500, "ug", 0), kg70, null, _weekly_per_kg) == "invalid"
	lib.dose(_dose(500, "ug", "weekly"), kg70, null, _weekly_per_kg) == "invalid"

	# per week without an interval: the interval is asked for, not read as malformed
	lib.dose(_p({"amount": 500, "unit": "ug"}), kg70, null, _weekly_per_kg) == "unknown"
	lib.dose(_dose(500, "ug", null), kg70, null, _weekly_per_kg) == "unknown"
}

test_dose_in_a_period_is_the_most_one_period_receives if {
	# at most 6 mg a day: a 40 mg dose a week, or 6000 mg every 1000 days, exceeds it on the
	# day it is given (the average over the interval would be under the cap)
	daily := {"max": 6, "units": {"mg": 1}, "period": "day", "basis": "none"}
	lib.dose(_dose(40, "mg", 7), null, null, daily) == "unmet"
	lib.dose(_dose(6000, "mg", 1000), null, null, daily) == "unmet"
	lib.dose(_dose(6, "mg", 7), null, null, daily) == "met"

	# three a day written in decimals is three doses, not four; 3.5 a day is four
	lib.dose(_dose(2, "mg", 0.333333), null, null, daily) == "met"
	lib.dose(_dose(2, "mg", 0.3), null, null, daily) == "unmet"

	# at most 300 mg a week: every 3 days a week can hold three doses (days 0, 3 and 6)
	weekly := {"max": 300, "units": {"mg": 1}, "period": "week", "basis": "none"}
	lib.dose(_dose(100, "mg", 3), null, null, weekly) == "met"
	lib.dose(_dose(101, "mg", 3), null, null, weekly) == "unmet"
	lib.dose(_dose(75, "mg", 2), null, null, weekly) == "met" # four doses: days 0, 2, 4, 6
	lib.dose(_dose(76, "mg", 2), null, null, weekly) == "unmet"
}

test_dose_absolute if {
	# at most 1000 ug a dose (every_days not read), at most 100 mg a day
	per_dose := {"max": 1000, "units": _ug, "period": "dose", "basis": "none"}
	lib.dose(_p({"amount": 500, "unit": "ug"}), null, null, per_dose) == "met"
	lib.dose(_p({"amount": 1.5, "unit": "mg"}), null, null, per_dose) == "unmet"
	daily := {"max": 100, "units": {"mg": 1}, "period": "day", "basis": "none"}
	lib.dose(_dose(50, "mg", 0.5), null, null, daily) == "met"
	lib.dose(_dose(50, "mg", 0.25), null, null, daily) == "unmet"
}

test_dose_with_labeled_interval if {
	# at most 1000 mg a dose, one dose every 56 days at the most often
	q8w := {"max": 1000, "units": {"mg": 1, "g": 1000}, "period": "dose", "basis": "none", "every_days": 56}
	lib.dose(_dose(1000, "mg", 56), null, null, q8w) == "met"
	lib.dose(_dose(1, "g", 84), null, null, q8w) == "met"
	lib.dose(_dose(1000, "mg", 55), null, null, q8w) == "unmet"
	lib.dose(_dose(1001, "mg", 56), null, null, q8w) == "unmet"
	lib.dose(_dose(1001, "mg", 0), null, null, q8w) == "unmet"
	lib.dose(_p({"amount": 1000, "unit": "mg"}), null, null, q8w) == "unknown"
	lib.dose(_dose(1000, "mg", 0), null, null, q8w) == "invalid"
	lib.dose(_dose(1000, "mg", "56"), null, null, q8w) == "invalid"
	lib.dose(_dose(1000, "[iU]", 56), null, null, q8w) == "unknown"
	lib.dose(_absent, null, null, q8w) == "unknown"
	lib.dose(_p("1000 mg every 8 weeks"), null, null, q8w) == "invalid"
}

test_dose_per_m2 if {
	# at most 100 mg/m2 a dose; 70 kg and 170 cm are 1.818 m2 (Mosteller): 181.8 mg
	per_m2 := {"max": 100, "units": {"mg": 1}, "period": "dose", "basis": "m2"}
	kg70 := {"state": "present", "value": 70}
	cm170 := {"state": "present", "value": 170}
	lib.dose(_p({"amount": 180, "unit": "mg"}), kg70, cm170, per_m2) == "met"
	lib.dose(_p({"amount": 185, "unit": "mg"}), kg70, cm170, per_m2) == "unmet"
	lib.dose(_p({"amount": 180, "unit": "mg"}), kg70, {"state": "invalid"}, per_m2) == "invalid"
	lib.dose(_p({"amount": 180, "unit": "mg"}), kg70, _absent, per_m2) == "unknown"
}

# --- therapy history -----------------------------------------------------------------------

_tki_set := {"agents": {"imatinib", "dasatinib"}, "classes": {"tyrosine_kinase_inhibitor"}}

_failed := {"results": {"failed"}, "n": 1, "each_agent": false, "min_days": null, "any_agent": false}

test_history if {
	lib.history(_p([{"agent": "Imatinib", "result": "failed"}]), _tki_set, _failed, _on, "") == "met"
	by_class := {"agent": "nilotinib", "class": "tyrosine_kinase_inhibitor", "result": "failed"}
	lib.history(_p([by_class]), _tki_set, _failed, _on, "") == "met"
	lib.history(_p([{"agent": "imatinib", "result": "intolerant"}]), _tki_set, _failed, _on, "") == "unmet"
	lib.history(_p([{"agent": "prednisone", "result": "failed"}]), _tki_set, _failed, _on, "") == "unmet"
	lib.history(_p([]), _tki_set, _failed, _on, "") == "unmet"

	# a result not known could still count
	lib.history(_p([{"agent": "imatinib"}]), _tki_set, _failed, _on, "") == "unknown"
	lib.history(_p([{"agent": "imatinib", "result": null}]), _tki_set, _failed, _on, "") == "unknown"
	lib.history(_absent, _tki_set, _failed, _on, "") == "unknown"

	# two distinct agents
	two := object.union(_failed, {"n": 2})
	imatinib := {"agent": "imatinib", "result": "failed"}
	lib.history(_p([imatinib, {"agent": "IMATINIB", "result": "failed"}]), _tki_set, two, _on, "") == "unmet"
	lib.history(_p([imatinib, {"agent": "dasatinib", "result": "failed"}]), _tki_set, two, _on, "") == "met"
}

test_history_invalid if {
	lib.history(_p({"agent": "imatinib"}), _tki_set, _failed, _on, "") == "invalid"
	lib.history({"state": "invalid"}, _tki_set, _failed, _on, "") == "invalid"
	lib.history(_p([{"agent": 1, "result": "failed"}]), _tki_set, _failed, _on, "") == "invalid"
	lib.history(_p(["imatinib"]), _tki_set, _failed, _on, "") == "invalid"
	lib.history(_p([{"agent": "imatinib", "class": 1, "result": "failed"}]), _tki_set, _failed, _on, "") == "invalid"
	lib.history(_p([{"agent": "imatinib", "result": true}]), _tki_set, _failed, _on, "") == "invalid"
	no_such_day := {"agent": "imatinib", "result": "failed", "start_date": "2026-02-30"}
	lib.history(_p([no_such_day]), _tki_set, _failed, _on, "") == "invalid"
	backwards := {"agent": "imatinib", "result": "failed", "start_date": "2026-03-01", "end_date": "2026-01-01"}
	lib.history(_p([backwards]), _tki_set, _failed, _on, "") == "invalid"
	no_such_end := {"agent": "imatinib", "result": "failed", "end_date": "2026-02-30"}
	lib.history(_p([no_such_end]), _tki_set, _failed, _on, "") == "invalid"

	# dated entries are read as undated ones are: an end date alone is well formed
	ended := {"agent": "imatinib", "result": "failed", "end_date": "2026-01-01"}
	lib.history(_p([ended]), _tki_set, _failed, _on, "") == "met"

	# a malformed entry beside one that counts does not matter
	lib.history(_p([{"agent": "imatinib", "result": "failed"}, {"agent": 1}]), _tki_set, _failed, _on, "") == "met"
}

# A trial dated after the date of service, or before the birth, contradicts the request.
test_history_dated_outside_the_patients_life if {
	future := {"agent": "imatinib", "result": "failed", "start_date": "2027-03-01", "end_date": "2027-06-01"}
	lib.history(_p([future]), _tki_set, _failed, _on, "") == "invalid"
	ends_later := {"agent": "imatinib", "result": "failed", "start_date": "2026-01-01", "end_date": "2026-06-16"}
	lib.history(_p([ends_later]), _tki_set, _failed, _on, "") == "invalid"
	on_the_day := {"agent": "imatinib", "result": "failed", "start_date": "2026-01-01", "end_date": "2026-06-15"}
	lib.history(_p([on_the_day]), _tki_set, _failed, _on, "") == "met"
	unborn := {"agent": "imatinib", "result": "failed", "start_date": "2019-01-01"}
	lib.history(_p([unborn]), _tki_set, _failed, _on, "2020-01-01") == "invalid"
	lib.history(_p([unborn]), _tki_set, _failed, _on, "2019-01-01") == "met"
	ended_unborn := {"agent": "imatinib", "result": "failed", "end_date": "2019-01-01"}
	lib.history(_p([ended_unborn]), _tki_set, _failed, _on, "2020-01-01") == "invalid"
}

test_history_each_agent if {
	each := object.union(_failed, {"each_agent": true})
	both := [{"agent": "imatinib", "result": "failed"}, {"agent": "dasatinib", "result": "failed"}]
	lib.history(_p(both), _tki_set, each, _on, "") == "met"
	lib.history(_p([{"agent": "imatinib", "result": "failed"}]), _tki_set, each, _on, "") == "unmet"
	one_unknown := [{"agent": "imatinib", "result": "failed"}, {"agent": "dasatinib"}]
	lib.history(_p(one_unknown), _tki_set, each, _on, "") == "unknown"

	# each agent by name: a class does not stand in for one
	by_class := {"agent": "nilotinib", "class": "tyrosine_kinase_inhibitor", "result": "failed"}
	lib.history(_p([{"agent": "imatinib", "result": "failed"}, by_class]), _tki_set, each, _on, "") == "unmet"
}

test_history_any_agent_any_result if {
	anything := {"results": {"any"}, "n": 1, "each_agent": false, "min_days": null, "any_agent": true}
	no_set := {"agents": set(), "classes": set()}
	lib.history(_p([{"agent": "prednisone", "result": "completed"}]), no_set, anything, _on, "") == "met"
	lib.history(_p([{"agent": "prednisone"}]), no_set, anything, _on, "") == "met"
	lib.history(_p([]), no_set, anything, _on, "") == "unmet"
	any_failed := object.union(_failed, {"any_agent": true})
	lib.history(_p([{"agent": "prednisone", "result": "failed"}]), no_set, any_failed, _on, "") == "met"
}

_trial(start, end) := {"agent": "imatinib", "result": "failed", "start_date": start, "end_date": end}

test_history_trial_length if {
	long := object.union(_failed, {"min_days": 56})
	lib.history(_p([_trial("2026-01-01", "2026-03-01")]), _tki_set, long, _on, "") == "met"
	lib.history(_p([_trial("2026-01-01", "2026-01-20")]), _tki_set, long, _on, "") == "unmet"

	# ongoing: to the date of service
	ongoing := {"agent": "imatinib", "result": "failed", "start_date": "2026-04-01"}
	lib.history(_p([ongoing]), _tki_set, long, _on, "") == "met"
	lib.history(_p([object.union(ongoing, {"end_date": null})]), _tki_set, long, _on, "") == "met"
	too_short := {"agent": "imatinib", "result": "failed", "start_date": "2026-06-01"}
	lib.history(_p([too_short]), _tki_set, long, _on, "") == "unmet"

	# a trial whose start or result is not known could be long enough
	lib.history(_p([{"agent": "imatinib", "result": "failed"}]), _tki_set, long, _on, "") == "unknown"
	lib.history(_p([{"agent": "imatinib", "start_date": "2026-06-01"}]), _tki_set, long, _on, "") == "unknown"

	# a contraindicated agent was never taken
	never := object.union(long, {"results": {"contraindicated"}})
	lib.history(_p([{"agent": "imatinib", "result": "contraindicated"}]), _tki_set, never, _on, "") == "met"
}

test_history_trial_length_in_months if {
	month := object.union(_failed, {"min_months": 1})

	# a calendar month from the start, the day clamped to a shorter month's end
	lib.history(_p([_trial("2026-01-05", "2026-02-05")]), _tki_set, month, _on, "") == "met"
	lib.history(_p([_trial("2026-01-05", "2026-02-04")]), _tki_set, month, _on, "") == "unmet"
	lib.history(_p([_trial("2026-01-31", "2026-02-28")]), _tki_set, month, _on, "") == "met"
	lib.history(_p([_trial("2026-01-31", "2026-02-27")]), _tki_set, month, _on, "") == "unmet"

	# ongoing: to the date of service (2026-06-15)
	from_may_15 := {"agent": "imatinib", "result": "failed", "start_date": "2026-05-15"}
	lib.history(_p([from_may_15]), _tki_set, month, _on, "") == "met"
	from_may_16 := {"agent": "imatinib", "result": "failed", "start_date": "2026-05-16"}
	lib.history(_p([from_may_16]), _tki_set, month, _on, "") == "unmet"

	# a start not known could be long enough
	lib.history(_p([{"agent": "imatinib", "result": "failed"}]), _tki_set, month, _on, "") == "unknown"
}

# --- months of the requested therapy received -------------------------------------------------

test_therapy_received if {
	lib.therapy_received(_p(6), 6, null) == "met"
	lib.therapy_received(_p(5), 6, null) == "unmet"
	lib.therapy_received(_p(24), null, 24) == "met"
	lib.therapy_received(_p(25), null, 24) == "unmet"
	lib.therapy_received(_p(0), 0, 24) == "met"
	lib.therapy_received(_absent, 6, null) == "unknown"
	lib.therapy_received(_p(6.5), 6, null) == "invalid"
	lib.therapy_received(_p(-1), null, 24) == "invalid"
	lib.therapy_received(_p("6"), 6, null) == "invalid"
	lib.therapy_received(_p(true), 6, null) == "invalid"
	lib.therapy_received({"state": "invalid"}, 6, null) == "invalid"
}

# --- concurrent therapy required -------------------------------------------------------------

_acei := {"agents": {"lisinopril"}, "classes": {"arb"}}

test_concurrent_therapy_required if {
	lib.concurrent_therapy_required(_p([{"agent": "Lisinopril"}]), _acei) == "met"
	lib.concurrent_therapy_required(_p([{"agent": "losartan", "class": "arb"}]), _acei) == "met"
	lib.concurrent_therapy_required(_p([{"agent": "lisinopril"}, {"agent": 1}]), _acei) == "met"
	lib.concurrent_therapy_required(_p([{"agent": "aspirin"}]), _acei) == "unmet"
	lib.concurrent_therapy_required(_p([]), _acei) == "unmet"
	lib.concurrent_therapy_required(_absent, _acei) == "unknown"
	lib.concurrent_therapy_required(_p([{"agent": "aspirin"}, {"agent": 1}]), _acei) == "invalid"
	lib.concurrent_therapy_required(_p({"agent": "lisinopril"}), _acei) == "invalid"
	lib.concurrent_therapy_required({"state": "invalid"}, _acei) == "invalid"
}

# --- procedures ----------------------------------------------------------------------------

_splenectomy := {"splenectomy"}

test_procedure if {
	lib.procedure(_p([{"name": "Splenectomy"}]), _splenectomy, null, _on, "") == "met"
	lib.procedure(_p([{"name": "splenectomy", "date": "2026-01-01"}]), _splenectomy, 365, _on, "") == "met"
	lib.procedure(_p([{"name": "splenectomy", "date": "2024-01-01"}]), _splenectomy, 365, _on, "") == "unmet"
	lib.procedure(_p([{"name": "appendectomy", "date": "2026-01-01"}]), _splenectomy, 365, _on, "") == "unmet"
	lib.procedure(_p([]), _splenectomy, null, _on, "") == "unmet"

	# undated, when the date matters
	lib.procedure(_p([{"name": "splenectomy"}]), _splenectomy, 365, _on, "") == "unknown"
	lib.procedure(_absent, _splenectomy, null, _on, "") == "unknown"
}

test_procedure_invalid if {
	lib.procedure({"state": "invalid"}, _splenectomy, null, _on, "") == "invalid"
	lib.procedure(_p({"name": "splenectomy"}), _splenectomy, null, _on, "") == "invalid"
	lib.procedure(_p([{"name": 1}]), _splenectomy, null, _on, "") == "invalid"
	lib.procedure(_p(["splenectomy"]), _splenectomy, null, _on, "") == "invalid"
	lib.procedure(_p([{"name": "splenectomy", "date": "2026-02-30"}]), _splenectomy, 365, _on, "") == "invalid"

	# dated after the date of service or before the birth: the request contradicts itself
	lib.procedure(_p([{"name": "splenectomy", "date": "2026-07-01"}]), _splenectomy, 365, _on, "") == "invalid"
	lib.procedure(_p([{"name": "splenectomy", "date": "2026-07-01"}]), _splenectomy, null, _on, "") == "invalid"
	lib.procedure(_p([{"name": "splenectomy", "date": "2019-12-31"}]), _splenectomy, null, _on, "2020-01-01") == "invalid"
	lib.procedure(_p([{"name": "splenectomy", "date": "2020-01-01"}]), _splenectomy, null, _on, "2020-01-01") == "met"
}

_fractures := {"hipfracture", "vertebralfracture"}

test_procedure_count if {
	two := [{"name": "hip fracture", "date": "2025-03-01"}, {"name": "vertebral fracture", "date": "2026-01-10"}]
	lib.procedure_count(_p(two), _fractures, null, 2, _on, "") == "met"
	lib.procedure_count(_p(two), _fractures, 500, 2, _on, "") == "met"
	lib.procedure_count(_p(two), _fractures, 200, 2, _on, "") == "unmet"
	lib.procedure_count(_p([two[0]]), _fractures, null, 2, _on, "") == "unmet"
	lib.procedure_count(_p([two[0], two[0]]), _fractures, null, 2, _on, "") == "unmet"
	appendectomy := {"name": "appendectomy", "date": "2026-01-10"}
	lib.procedure_count(_p([two[0], appendectomy]), _fractures, null, 2, _on, "") == "unmet"

	# the same name on two dates is two events; an undated one could be within the window
	again := {"name": "Hip Fracture", "date": "2026-02-01"}
	lib.procedure_count(_p([two[0], again]), _fractures, null, 2, _on, "") == "met"
	lib.procedure_count(_p([two[1], {"name": "hip fracture"}]), _fractures, 365, 2, _on, "") == "unknown"
	lib.procedure_count(_p([two[1], {"name": "hip fracture"}]), _fractures, null, 2, _on, "") == "met"
	lib.procedure_count(_absent, _fractures, null, 2, _on, "") == "unknown"
	lib.procedure_count(_p({"name": "hip fracture"}), _fractures, null, 2, _on, "") == "invalid"
	later := {"name": "hip fracture", "date": "2026-07-01"}
	lib.procedure_count(_p([two[0], later]), _fractures, null, 2, _on, "") == "invalid"
}

# --- who prescribes ------------------------------------------------------------------------

_hematology := {"hematology", "oncology"}

test_prescribed_by if {
	lib.prescribed_by(_p("Hematology"), _absent, _hematology, true) == "met"
	lib.prescribed_by(_p("internal medicine"), _p(["Hematology"]), _hematology, true) == "met"
	lib.prescribed_by(_absent, _p(["oncology"]), _hematology, true) == "met"
	lib.prescribed_by(_p("internal medicine"), _p([]), _hematology, true) == "unmet"
	lib.prescribed_by(_p("internal medicine"), _p(["cardiology"]), _hematology, true) == "unmet"

	# without consultation, the consulting specialties are not read
	lib.prescribed_by(_p("internal medicine"), _absent, _hematology, false) == "unmet"
	lib.prescribed_by(_p("internal medicine"), _p(["hematology"]), _hematology, false) == "unmet"
	lib.prescribed_by(_p("internal medicine"), _p(1), _hematology, false) == "unmet"
}

test_prescribed_by_unknown_or_invalid if {
	lib.prescribed_by(_absent, _p([]), _hematology, true) == "unknown"
	lib.prescribed_by(_p("internal medicine"), _absent, _hematology, true) == "unknown"
	lib.prescribed_by(_p(1), _p([]), _hematology, true) == "invalid"
	lib.prescribed_by({"state": "invalid"}, _p([]), _hematology, true) == "invalid"
	lib.prescribed_by(_p("internal medicine"), _p("hematology"), _hematology, true) == "invalid"
	lib.prescribed_by(_p("internal medicine"), _p(["cardiology", 1]), _hematology, true) == "invalid"
	lib.prescribed_by(_p("internal medicine"), {"state": "invalid"}, _hematology, true) == "invalid"
}

# --- what a reviewer decides ------------------------------------------------------------------

test_review if {
	lib.review("not_seen") == "unknown"
	lib.review("judgment") == "unknown"
	lib.review("other") == "invalid"
}
