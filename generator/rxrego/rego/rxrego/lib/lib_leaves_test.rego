# Tests of the shared library's leaf tests: each kind of leaf criterion met, unmet, unknown
# and invalid (docs/semantics.md, "Tests").
package rxrego.lib_test

import data.rxrego.lib

# --- leaf tests ------------------------------------------------------------------------------

_birth(value) := lib.fact({"patient": {"birth_date": value}}, ["patient", "birth_date"])

test_age if {
	on := [2026, 5, 10]
	lib.age(_birth("2025-05-10"), on, 1, null) == "met"
	lib.age(_birth("2025-05-11"), on, 1, null) == "unmet"
	lib.age(_birth("2024-02-29"), [2025, 3, 1], 1, null) == "met"
	lib.age(_birth("2024-02-29"), [2025, 2, 28], 1, null) == "unmet"
	lib.age(_birth("2010-01-01"), on, 1, 17) == "met"
	lib.age(_birth("2008-05-10"), on, 1, 17) == "unmet"
	lib.age(_birth("2026-05-10"), on, null, 0) == "met"
	lib.age({"state": "absent"}, on, 1, null) == "unknown"
	lib.age({"state": "invalid"}, on, 1, null) == "invalid"
	lib.age(_birth("2026-02-30"), on, 1, null) == "invalid"
	lib.age(_birth(19800320), on, 1, null) == "invalid"
	lib.age(_birth("2026-05-11"), on, null, null) == "invalid" # born after the date of service
	lib.age(_birth("1980-03-20"), null, 1, null) == "invalid" # no valid date of service
}

_marker(value) := lib.fact({"biomarkers": {"CD22": value}}, ["biomarkers", "CD22"])

test_biomarker if {
	lib.biomarker(_marker("positive"), {"positive"}) == "met"
	lib.biomarker(_marker("negative"), {"negative"}) == "met"
	lib.biomarker(_marker("negative"), {"positive"}) == "unmet"
	lib.biomarker(_marker("unknown"), {"positive"}) == "unknown"
	lib.biomarker({"state": "absent"}, {"positive"}) == "unknown"
	lib.biomarker(_marker("Positive"), {"positive"}) == "invalid"
	lib.biomarker(_marker(true), {"positive"}) == "invalid"
	lib.biomarker({"state": "invalid"}, {"positive"}) == "invalid"
}

_diagnoses(value) := lib.fact({"diagnoses": value}, ["diagnoses"])

_all_entry := {"code": "C91.02", "lineage": "b_cell_precursor"}

test_diagnosis if {
	prefixes := ["C910"]
	qualifiers := {"lineage": {"b_cell_precursor"}}
	lib.diagnosis(_diagnoses([_all_entry]), prefixes, qualifiers, []) == "met"
	lib.diagnosis(_diagnoses([{"code": "c91 02", "lineage": "B_Cell_Precursor"}]), prefixes, qualifiers, []) == "met"
	lib.diagnosis(_diagnoses([{"code": "C92.10"}, _all_entry]), prefixes, qualifiers, []) == "met"
	lib.diagnosis(_diagnoses([{"code": "C92.10", "lineage": "b_cell_precursor"}]), prefixes, qualifiers, []) == "unmet"
	lib.diagnosis(_diagnoses([{"code": "C91.02", "lineage": "t_cell"}]), prefixes, qualifiers, []) == "unmet"
	lib.diagnosis(_diagnoses([]), prefixes, qualifiers, []) == "unmet"
	lib.diagnosis(_diagnoses([{"code": "C91.02"}]), prefixes, qualifiers, []) == "unknown"
	lib.diagnosis(_diagnoses([{"lineage": "b_cell_precursor"}]), prefixes, qualifiers, []) == "unknown"
	lib.diagnosis({"state": "absent"}, prefixes, qualifiers, []) == "unknown"
	lib.diagnosis(_diagnoses([{"code": 9102, "lineage": "b_cell_precursor"}]), prefixes, qualifiers, []) == "invalid"
	lib.diagnosis(_diagnoses([{"code": "C91.02", "lineage": 1}]), prefixes, qualifiers, []) == "invalid"
	lib.diagnosis(_diagnoses(["C91.02"]), prefixes, qualifiers, []) == "invalid"
	lib.diagnosis(_diagnoses({"code": "C91.02"}), prefixes, qualifiers, []) == "invalid"
}

test_diagnosis_is_all_of_the_entries_and_the_biomarkers if {
	entries := _diagnoses([_all_entry])
	lib.diagnosis(entries, ["C910"], {}, ["met", "met"]) == "met"
	lib.diagnosis(entries, ["C910"], {}, ["met", "unknown"]) == "unknown"
	lib.diagnosis(entries, ["C910"], {}, ["unmet"]) == "unmet"
	lib.diagnosis(entries, ["C910"], {}, ["invalid"]) == "invalid"
	lib.diagnosis(_diagnoses([]), ["C910"], {}, ["unknown"]) == "unmet"
}

_therapies(value) := lib.fact({"prior_therapies": value}, ["prior_therapies"])

_tkis := {"agents": {"imatinib", "dasatinib"}, "classes": {"tyrosine_kinase_inhibitor"}}

test_prior_therapy_met if {
	lib.prior_therapy(_therapies([{"agent": "Imatinib", "result": "failed"}]), _tkis, {"failed"}, 1) == "met"
	by_class := {"agent": "olverembatinib", "class": "tyrosine_kinase_inhibitor", "result": "failed"}
	lib.prior_therapy(_therapies([by_class]), _tkis, {"failed"}, 1) == "met"
	two := [{"agent": "imatinib", "result": "failed"}, {"agent": "dasatinib", "result": "intolerant"}]
	lib.prior_therapy(_therapies(two), _tkis, {"failed", "intolerant"}, 2) == "met"
	lib.prior_therapy(_therapies([{"agent": "imatinib", "result": "failed"}, "x"]), _tkis, {"failed"}, 1) == "met"
}

test_prior_therapy_unmet if {
	lib.prior_therapy(_therapies([]), _tkis, {"failed"}, 1) == "unmet"
	lib.prior_therapy(_therapies([{"agent": "imatinib", "result": "intolerant"}]), _tkis, {"failed"}, 1) == "unmet"
	lib.prior_therapy(_therapies([{"agent": "hyper-CVAD", "result": "failed"}]), _tkis, {"failed"}, 1) == "unmet"
	same_agent := [{"agent": "imatinib", "result": "failed"}, {"agent": "IMATINIB", "result": "failed"}]
	lib.prior_therapy(_therapies(same_agent), _tkis, {"failed"}, 2) == "unmet"
}

test_prior_therapy_unknown if {
	lib.prior_therapy({"state": "absent"}, _tkis, {"failed"}, 1) == "unknown"
	lib.prior_therapy(_therapies([{"agent": "imatinib"}]), _tkis, {"failed"}, 1) == "unknown"
	lib.prior_therapy(_therapies([{"agent": "imatinib", "result": null}]), _tkis, {"failed"}, 1) == "unknown"
	one_and_maybe := [{"agent": "imatinib", "result": "failed"}, {"agent": "dasatinib"}]
	lib.prior_therapy(_therapies(one_and_maybe), _tkis, {"failed"}, 2) == "unknown"
}

test_prior_therapy_invalid if {
	lib.prior_therapy(_therapies("none"), _tkis, {"failed"}, 1) == "invalid"
	lib.prior_therapy({"state": "invalid"}, _tkis, {"failed"}, 1) == "invalid"
	every entry in ["imatinib", {"agent": 5}, {"agent": "x", "class": 1}, {"agent": "x", "result": true}, {}] {
		lib.prior_therapy(_therapies([entry]), _tkis, {"failed"}, 1) == "invalid"
	}
}

_concurrent(value) := lib.fact({"concurrent_therapies": value}, ["concurrent_therapies"])

test_concurrent_therapy_excluded if {
	lib.concurrent_therapy_excluded(_concurrent([]), _tkis) == "met"
	lib.concurrent_therapy_excluded(_concurrent([{"agent": "aspirin", "class": null}]), _tkis) == "met"
	lib.concurrent_therapy_excluded(_concurrent([{"agent": "Dasatinib"}]), _tkis) == "unmet"
	lib.concurrent_therapy_excluded(_concurrent([{"agent": "x", "class": "tyrosine_kinase_inhibitor"}]), _tkis) == "unmet"
	lib.concurrent_therapy_excluded(_concurrent([{"agent": "imatinib"}, "x"]), _tkis) == "unmet"
	lib.concurrent_therapy_excluded({"state": "absent"}, _tkis) == "unknown"
	lib.concurrent_therapy_excluded(_concurrent("none"), _tkis) == "invalid"
	lib.concurrent_therapy_excluded(_concurrent([{"agent": "aspirin"}, {"agent": 5}]), _tkis) == "invalid"
	lib.concurrent_therapy_excluded(_concurrent([{"agent": "aspirin", "class": 1}]), _tkis) == "invalid"
}

_answer(value) := lib.fact({"a": {"x": value}}, ["a", "x"])

test_attestation if {
	lib.attestation(_answer(true)) == "met"
	lib.attestation(_answer(false)) == "unmet"
	lib.attestation({"state": "absent"}) == "unknown"
	lib.attestation(_answer("yes")) == "invalid"
	lib.attestation(_answer(1)) == "invalid"
	lib.attestation({"state": "invalid"}) == "invalid"
}

test_clinical_status if {
	lib.clinical_status(_answer(false), false) == "met"
	lib.clinical_status(_answer(true), false) == "unmet"
	lib.clinical_status(_answer(true), true) == "met"
	lib.clinical_status({"state": "absent"}, false) == "unknown"
	lib.clinical_status(_answer("no"), false) == "invalid"
}

test_prescriber_specialty if {
	accepted := {"hematology", "oncology"}
	lib.prescriber_specialty(_answer("Hematology"), accepted) == "met"
	lib.prescriber_specialty(_answer("cardiology"), accepted) == "unmet"
	lib.prescriber_specialty({"state": "absent"}, accepted) == "unknown"
	lib.prescriber_specialty(_answer(5), accepted) == "invalid"
	lib.prescriber_specialty({"state": "invalid"}, accepted) == "invalid"
}

_quantity(amount, days) := [
	lib.fact({"quantity": {"units": amount}}, ["quantity", "units"]),
	lib.fact({"quantity": {"days_supply": days}}, ["quantity", "days_supply"]),
]

# 60 units per 30 days: units * 30 <= 60 * days_supply.
test_quantity_limit if {
	every row in [
		[60, 30, "met"], [2, 1, "met"], [0, 1, "met"], [61, 30, "unmet"], [2.5, 1, "unmet"],
		[null, 30, "unknown"], [60, null, "unknown"],
		[-1, 30, "invalid"], ["60", 30, "invalid"], [true, 30, "invalid"],
		[60, 0, "invalid"], [60, 1.5, "invalid"], [60, "30", "invalid"],
		[-1, null, "invalid"], [null, 1.5, "invalid"],
	] {
		[amount, days] := _quantity(row[0], row[1])
		lib.quantity_limit(amount, days, 60, 30) == row[2]
	}
	lib.quantity_limit({"state": "invalid"}, {"state": "absent"}, 60, 30) == "invalid"
}

_labs(value) := lib.fact({"labs": value}, ["labs"])

_anc := {"name": "ANC", "comparison": ">=", "value": 1000, "unit": "cells/uL", "within_days": 30}

_result(value, date) := {"name": "anc", "value": value, "unit": "Cells/uL", "date": date}

test_lab if {
	on := "2026-05-10"
	lib.lab(_labs([_result(1500, "2026-05-01")]), on, _anc) == "met"
	lib.lab(_labs([_result(1000, "2026-04-10")]), on, _anc) == "met" # 30 days before
	lib.lab(_labs([_result(900, "2026-05-01")]), on, _anc) == "unmet"
	lib.lab(_labs([_result(1500, "2026-04-09")]), on, _anc) == "unmet" # 31 days before
	lib.lab(_labs([_result(1500, "2026-01-01")]), on, object.union(_anc, {"within_days": null})) == "met"
	lib.lab(_labs([]), on, _anc) == "unmet"
	lib.lab(_labs([{"name": "hgb", "value": 12, "unit": "g/dL", "date": "2026-05-01"}, "x"]), on, _anc) == "unmet"
	lib.lab({"state": "absent"}, on, _anc) == "unknown"
	lib.lab(_labs("none"), on, _anc) == "invalid"
	lib.lab(_labs([_result("1500", "2026-05-01")]), on, _anc) == "invalid"
	lib.lab(_labs([_result(1500, "2026-05-11")]), on, _anc) == "invalid" # after the date of service
	lib.lab(_labs([_result(1500, "2026-02-30")]), on, _anc) == "invalid"
	lib.lab(_labs([object.union(_result(1500, "2026-05-01"), {"unit": "g/dL"})]), on, _anc) == "invalid"
	lib.lab(_labs([_result(1500, "2026-05-01")]), null, _anc) == "invalid"
}

test_lab_reads_the_latest_usable_results if {
	on := "2026-05-10"
	lib.lab(_labs([_result(900, "2026-04-20"), _result(1500, "2026-05-01")]), on, _anc) == "met"
	lib.lab(_labs([_result(1500, "2026-04-20"), _result(900, "2026-05-01")]), on, _anc) == "unmet"
	lib.lab(_labs([_result(1500, "2026-05-01"), _result(900, "2026-05-01")]), on, _anc) == "unmet"
	lib.lab(_labs([_result(1500, "2026-05-01"), _result("x", "2026-05-09")]), on, _anc) == "met"
}

test_lab_comparisons if {
	on := "2026-05-10"
	every row in [
		["<", 999, "met"], ["<", 1000, "unmet"], ["<=", 1000, "met"], ["<=", 1001, "unmet"],
		[">", 1001, "met"], [">", 1000, "unmet"], [">=", 1000, "met"], [">=", 999, "unmet"],
		["==", 1000, "met"], ["==", 1000.5, "unmet"],
	] {
		test := object.union(_anc, {"comparison": row[0]})
		lib.lab(_labs([_result(row[1], "2026-05-01")]), on, test) == row[2]
	}
}
