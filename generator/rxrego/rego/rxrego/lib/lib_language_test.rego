# Tests of the shared library's negation and documentation required (docs/semantics.md,
# "Combinators", "Documentation required"), and of how a decision reads through them.
package rxrego.lib_test

import data.rxrego.lib

# --- not ----------------------------------------------------------------------------------

test_negation_truth_table if {
	lib.negation("met") == "unmet"
	lib.negation("unmet") == "met"
	lib.negation("unknown") == "unknown"
	lib.negation("invalid") == "invalid"
}

# --- documentation required ---------------------------------------------------------------

_doc(value) := {"state": "present", "value": value}

test_documentation_met_by_a_document_of_a_listed_type if {
	lib.documentation(_doc([{"id": "a1", "type": "lab_report"}]), "ldl", {"lab_report"}) == "met"
	lib.documentation(_doc([{"id": "a1", "type": "lab_report", "supports": ["ldl"]}]), "ldl", {"lab_report"}) == "met"
	lib.documentation(_doc([{"id": "a1", "type": "lab_report", "supports": null}]), "ldl", {"lab_report"}) == "met"

	# one good entry is enough, whatever the others are
	two := [{"id": "a1", "type": "chart_notes"}, "not an entry", {"id": "a2", "type": "lab_report"}]
	lib.documentation(_doc(two), "ldl", {"lab_report", "imaging_report"}) == "met"
}

test_documentation_unknown_without_a_supporting_document if {
	lib.documentation({"state": "absent"}, "ldl", {"lab_report"}) == "unknown"
	lib.documentation(_doc([]), "ldl", {"lab_report"}) == "unknown"
	lib.documentation(_doc([{"id": "a1", "type": "chart_notes"}]), "ldl", {"lab_report"}) == "unknown"
	lib.documentation(_doc([{"id": "a1", "type": "other"}]), "ldl", {"lab_report"}) == "unknown"
	other := [{"id": "a1", "type": "lab_report", "supports": ["statin_trial"]}]
	lib.documentation(_doc(other), "ldl", {"lab_report"}) == "unknown"
	lib.documentation(_doc([{"id": "a1", "type": "lab_report", "supports": []}]), "ldl", {"lab_report"}) == "unknown"
}

test_documentation_invalid_when_malformed if {
	lib.documentation({"state": "invalid"}, "ldl", {"lab_report"}) == "invalid"
	lib.documentation(_doc("lab_report"), "ldl", {"lab_report"}) == "invalid"
	lib.documentation(_doc({"id": "a1", "type": "lab_report"}), "ldl", {"lab_report"}) == "invalid"
	every entry in [
		"a1",
		{"type": "lab_report"},
		{"id": "", "type": "lab_report"},
		{"id": 7, "type": "lab_report"},
		{"id": "a1"},
		{"id": "a1", "type": "Lab Report"},
		{"id": "a1", "type": ["lab_report"]},
		{"id": "a1", "type": "lab_report", "supports": "ldl"},
		{"id": "a1", "type": "lab_report", "supports": [1]},
	] {
		lib.documentation(_doc([entry]), "ldl", {"lab_report"}) == "invalid"
	}
}

test_documented_is_all_of_the_test_and_its_documentation if {
	docs := _doc([{"id": "a1", "type": "lab_report"}])
	lib.documented("met", docs, "ldl", {"lab_report"}) == "met"
	lib.documented("met", {"state": "absent"}, "ldl", {"lab_report"}) == "unknown"
	lib.documented("unmet", {"state": "absent"}, "ldl", {"lab_report"}) == "unmet"
	lib.documented("unmet", docs, "ldl", {"lab_report"}) == "unmet"
	lib.documented("unknown", docs, "ldl", {"lab_report"}) == "unknown"
	lib.documented("invalid", docs, "ldl", {"lab_report"}) == "invalid"
	lib.documented("met", _doc(["x"]), "ldl", {"lab_report"}) == "invalid"
}

# --- a decision through a negation and a documented leaf -----------------------------------
# `n` negates `p`; `d` requires a document (fields x.d and documents).

_lang_derived := {
	"order": {"initial": ["n", "p", "d"]},
	"requires": {},
	"conditions": {},
	"asked": {"n": ["p"]},
	"fields": {"p": ["x.p"], "d": ["x.d", "documents"]},
	"negates": {"n": ["p"]},
	"documents": {"d": ["lab_report"]},
}

_lang_decide(p, d) := lib.decide(
	{"request_type": "initial", "date_of_service": "2026-11-30"},
	{"id": "p"},
	{"indication": null, "investigational": null},
	{"n": "Not P", "p": "P", "d": "D"},
	{"title": "Requirements", "duration_months": 3, "all_of": ["n", "d"]},
	{"n": lib.negation(p), "p": p, "d": d},
	_lang_derived,
)

test_decide_quotes_the_negation_never_what_it_negates if {
	denied := _lang_decide("met", "met")
	denied.outcome == "denied"
	denied.unmet == [{"id": "n", "text": "Not P"}]
	invalid := _lang_decide("invalid", "met")
	invalid.unmet == [{"id": "n", "text": "Not P", "fields": ["x.p"]}]
}

test_decide_asks_through_a_negation_and_names_documents if {
	d := _lang_decide("unknown", "unknown")
	d.outcome == "pended"
	d.missing == [
		{"id": "p", "text": "P", "fields": ["x.p"]},
		{"id": "d", "text": "D", "fields": ["x.d", "documents"], "documents": ["lab_report"]},
	]
	_lang_decide("unmet", "met").outcome == "approved"
}

test_indicated_decision_asks_through_a_negation_and_names_documents if {
	d := lib.decide_indicated(
		{"request_type": "initial", "date_of_service": "2026-01-31"},
		{"id": "p"},
		{"other_indications": {"outcome": "not_covered"}},
		{"dx": "Dx", "n": "Not P", "p": "P", "d": "D"},
		{"title": "Initial", "indications": {"i": {
			"heading": "I",
			"codes": ["C921"],
			"all_of": ["dx", "n", "d"],
			"duration": {},
		}}},
		{"id": "i"},
		{"dx": "met", "n": "unknown", "p": "unknown", "d": "unknown"},
		["dx", "n", "p", "d"],
		object.union(_lang_derived, {"fields": {"dx": ["diagnoses"], "p": ["x.p"], "d": ["x.d", "documents"]}}),
	)
	d.outcome == "pended"
	d.missing == [
		{"id": "p", "text": "P", "fields": ["x.p"]},
		{"id": "d", "text": "D", "fields": ["x.d", "documents"], "documents": ["lab_report"]},
	]
}
