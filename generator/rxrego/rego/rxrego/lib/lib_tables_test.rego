# Tests of dose tables and of labs anchored to another therapy's start (clinical.rego and
# labs.rego; docs/semantics.md, "Dose tables", "Anchored to another therapy").
package rxrego.lib_test

import data.rxrego.lib

# --- therapy_start: the earliest start of a therapy of a value set -------------------------

_statins := {"agents": {"atorvastatin", "rosuvastatin"}, "classes": {"statin"}}

_history(entries) := {"state": "present", "value": entries}

test_therapy_start_is_the_earliest_start_of_the_set if {
	entries := [
		{"agent": "Rosuvastatin", "start_date": "2025-03-01", "result": "ongoing"},
		{"agent": "ezetimibe", "start_date": "2020-01-01"},
		{"agent": "pravastatin", "class": "statin", "start_date": "2024-11-30"},
		{"agent": "atorvastatin", "start_date": "2019-01-01", "result": "contraindicated"},
	]
	lib.therapy_start(_history(entries), _statins) == {"state": "present", "value": "2024-11-30"}
}

test_therapy_start_states if {
	lib.therapy_start({"state": "absent"}, _statins) == {"state": "absent"}
	lib.therapy_start({"state": "invalid"}, _statins) == {"state": "invalid"}
	lib.therapy_start(_history("atorvastatin"), _statins) == {"state": "invalid"}
	lib.therapy_start(_history([]), _statins) == {"state": "none"}
	lib.therapy_start(_history([{"agent": "ezetimibe", "start_date": "2020-01-01"}]), _statins) == {"state": "none"}
	no_start := [{"agent": "atorvastatin"}, {"agent": "rosuvastatin", "start_date": "2020-01-01"}]
	lib.therapy_start(_history(no_start), _statins) == {"state": "absent"}
	bad := [{"agent": "atorvastatin", "start_date": "2020-01-01"}, {"agent": "x", "start_date": "2020-02-30"}]
	lib.therapy_start(_history(bad), _statins) == {"state": "invalid"}
	lib.therapy_start(_history([5]), _statins) == {"state": "invalid"}
}

# --- a baseline anchored to it ---------------------------------------------------------------

_tldl := {"names": {"ldlc"}, "comparison": ">=", "value": 190, "which": "baseline"}

_tldl_labs := {"state": "present", "value": [
	{"name": "LDL-C", "value": 200, "unit": "mg/dL", "date": "2024-10-01"},
	{"name": "LDL-C", "value": 90, "unit": "mg/dL", "date": "2026-05-01"},
]}

test_baseline_before_the_first_statin if {
	anchor := lib.therapy_start(_history([{"agent": "atorvastatin", "start_date": "2025-01-01"}]), _statins)
	lib.lab_result(_tldl_labs, _dos, anchor, _tldl, {"mg/dl": 1}) == "met"
}

test_never_started_reads_the_latest_as_the_baseline if {
	lib.lab_result(_tldl_labs, _dos, {"state": "none"}, _tldl, {"mg/dl": 1}) == "unmet"
	after := object.union(_tldl, {"which": "after", "after_days": 30})
	lib.lab_result(_tldl_labs, _dos, {"state": "none"}, after, {"mg/dl": 1}) == "unmet"
	up := {"state": "present", "value": [{"name": "ldl_c", "value": 195, "unit": "mg/dL", "date": "2026-05-01"}]}
	lib.lab_result(up, _dos, {"state": "none"}, _tldl, {"mg/dl": 1}) == "met"
}

# --- the columns of a dose table -----------------------------------------------------------------

test_product_and_measure_keys if {
	lib.product_key({"vial", "syringe"}) == {"state": "present", "values": ["syringe", "vial"]}
	lib.product_key(set()) == {"state": "absent"}
	lib.measure_key({"state": "present", "value": 80}) == {"state": "present", "values": [80]}
	lib.measure_key({"state": "unknown"}) == {"state": "unknown"}
}

test_indication_key if {
	lib.indication_key({"id": "ra"}) == {"state": "present", "values": ["ra"]}
	lib.indication_key({"gate": "unknown"}) == {"state": "absent"}
	lib.indication_key({"invalid": "the diagnoses match several indications"}) == {"state": "absent"}
}

test_dose_table_by_indication if {
	rows := [
		{"bands": [{"products": {"ra"}}], "max": 400, "every_days": 14},
		{"bands": [{"products": {"cd", "as"}}], "max": 600, "every_days": 14},
	]
	limit := {"units": {"mg": 1}, "period": "dose", "basis": "none"}
	dose := {"state": "present", "value": {"amount": 600, "unit": "mg", "every_days": 14}}
	lib.dose_table(dose, null, null, limit, [lib.indication_key({"id": "cd"})], rows) == "met"
	lib.dose_table(dose, null, null, limit, [lib.indication_key({"id": "ra"})], rows) == "unmet"
	lib.dose_table(dose, null, null, limit, [lib.indication_key({"id": "ici"})], rows) == "unmet"
	lib.dose_table(dose, null, null, limit, [lib.indication_key({"gate": "unmet"})], rows) == "unknown"
}

_ige := {"names": {"ige"}, "which": "baseline", "plausible": [0, 50000]}

_ige_factors := {"[iu]/ml": 1, "iu/ml": 1}

_ige_labs := {"state": "present", "value": [
	{"name": "IgE", "value": 150, "unit": "IU/mL", "date": "2026-01-10"},
	{"name": "IgE", "value": 900, "unit": "IU/mL", "date": "2026-05-10"},
]}

_anchor := {"state": "present", "value": "2026-02-01"}

test_lab_key_reads_the_window_as_the_lab_test_does if {
	lib.lab_key(_ige_labs, _dos, _anchor, _ige, _ige_factors) == {"state": "present", "values": [150]}
	lib.lab_key(_ige_labs, _dos, {"state": "none"}, _ige, _ige_factors) == {"state": "present", "values": [900]}
	latest := object.remove(_ige, ["which"])
	lib.lab_key(_ige_labs, _dos, null, latest, _ige_factors) == {"state": "present", "values": [900]}
	after := object.union(_ige, {"which": "after", "after_days": 0})
	lib.lab_key(_ige_labs, _dos, _anchor, after, _ige_factors) == {"state": "present", "values": [900]}
	lib.lab_key(_ige_labs, _dos, {"state": "none"}, after, _ige_factors) == {"state": "unknown"}
}

test_lab_key_states if {
	lib.lab_key({"state": "absent"}, _dos, _anchor, _ige, _ige_factors) == {"state": "absent"}
	lib.lab_key({"state": "present", "value": "IgE 150"}, _dos, _anchor, _ige, _ige_factors) == {"state": "invalid"}
	lib.lab_key({"state": "present", "value": []}, _dos, _anchor, _ige, _ige_factors) == {"state": "unknown"}
	undated := {"state": "present", "value": [{"name": "ige", "value": 150, "unit": "IU/mL"}]}
	lib.lab_key(undated, _dos, _anchor, _ige, _ige_factors) == {"state": "invalid"}
	lib.lab_key(_ige_labs, _dos, {"state": "absent"}, _ige, _ige_factors) == {"state": "unknown"}
	lib.lab_key(_ige_labs, _dos, {"state": "invalid"}, _ige, _ige_factors) == {"state": "invalid"}
	lib.lab_key(_ige_labs, _dos, {"state": "present", "value": "2020-01-01"}, _ige, _ige_factors) == {"state": "unknown"}
	other_unit := {"state": "present", "value": [{"name": "ige", "value": 150, "unit": "mg", "date": "2026-01-10"}]}
	lib.lab_key(other_unit, _dos, _anchor, _ige, _ige_factors) == {"state": "unknown"}
	huge := {"state": "present", "value": [{"name": "ige", "value": 90000, "unit": "IU/mL", "date": "2026-01-10"}]}
	lib.lab_key(huge, _dos, _anchor, _ige, _ige_factors) == {"state": "invalid"}
}

# --- dose_table ----------------------------------------------------------------------------------

_limit := {"units": {"mg": 1}, "period": "dose", "basis": "none"}

_rows := [
	{"bands": [{"bounds": [[">=", 30], ["<=", 90]]}, {"products": {"vial"}}], "max": 150, "every_days": 28},
	{"bands": [{"bounds": [[">", 90], ["<=", 150]]}, {"products": {"vial"}}], "max": 300, "every_days": null},
]

_present(values) := {"state": "present", "values": values}

_tdose(d) := {"state": "present", "value": d}

test_dose_table_reads_the_row_the_facts_fall_in if {
	keys := [_present([80]), _present(["vial"])]
	lib.dose_table(_tdose({"amount": 150, "unit": "mg", "every_days": 28}), null, null, _limit, keys, _rows) == "met"
	lib.dose_table(_tdose({"amount": 160, "unit": "mg", "every_days": 28}), null, null, _limit, keys, _rows) == "unmet"
	lib.dose_table(_tdose({"amount": 150, "unit": "mg", "every_days": 14}), null, null, _limit, keys, _rows) == "unmet"
	lib.dose_table(_tdose({"amount": 150, "unit": "mg"}), null, null, _limit, keys, _rows) == "unknown"
	lib.dose_table(_tdose({"amount": 150, "unit": "mg", "every_days": 0}), null, null, _limit, keys, _rows) == "invalid"
	lib.dose_table(_tdose({"amount": 150, "unit": "mg", "every_days": "28"}), null, null, _limit, keys, _rows) == "invalid"
	lib.dose_table({"state": "absent"}, null, null, _limit, keys, _rows) == "unknown"
	lib.dose_table(_tdose("150 mg"), null, null, _limit, keys, _rows) == "invalid"
	heavy := [_present([90.5]), _present(["vial"])]
	lib.dose_table(_tdose({"amount": 300, "unit": "mg"}), null, null, _limit, heavy, _rows) == "met"
}

test_dose_table_outside_every_row_is_unmet if {
	d := _tdose({"amount": 10, "unit": "mg", "every_days": 28})
	lib.dose_table(d, null, null, _limit, [_present([200]), _present(["vial"])], _rows) == "unmet"
	lib.dose_table(d, null, null, _limit, [_present([80]), _present(["syringe"])], _rows) == "unmet"
	lib.dose_table(d, null, null, _limit, [_present([80]), _present(["syringe", "vial"])], _rows) == "unmet"
	lib.dose_table(_tdose(5), null, null, _limit, [_present([200]), _present(["vial"])], _rows) == "unmet"
}

test_dose_table_keys_not_read if {
	d := _tdose({"amount": 10, "unit": "mg", "every_days": 28})
	lib.dose_table(d, null, null, _limit, [{"state": "unknown"}, _present(["vial"])], _rows) == "unknown"
	lib.dose_table(d, null, null, _limit, [{"state": "absent"}, {"state": "invalid"}], _rows) == "invalid"
	lib.dose_table(_tdose(5), null, null, _limit, [{"state": "absent"}, _present(["vial"])], _rows) == "invalid"
	other_unit := _tdose({"amount": 10, "unit": "tablet", "every_days": 28})
	lib.dose_table(other_unit, null, null, _limit, [_present([200]), _present(["vial"])], _rows) == "unmet"
	lib.dose_table(other_unit, null, null, _limit, [{"state": "absent"}, _present(["vial"])], _rows) == "unknown"
}
