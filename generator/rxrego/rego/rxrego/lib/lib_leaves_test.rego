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

_tkis := {"agents": {"imatinib", "dasatinib"}, "classes": {"tyrosine_kinase_inhibitor"}}

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
