# Tests of the shared library's coverage model (coverage.rego): choosing the indication,
# the decision for it and at the gate, durations and the product test (docs/semantics.md).
package rxrego.lib_test

import data.rxrego.lib

# --- choosing the indication ---------------------------------------------------------------

_cov_set := {
	"name": "initial",
	"title": "Initial",
	"indications": {
		# codes as the generator writes them: expanded to every code under each listed one
		"cml": {
			"heading": "CML",
			"codes": ["C921", "C9210", "C9211", "C9212"],
			"all_of": ["cml", "a"],
			"duration": {"months": 7},
		},
		"all": {
			"heading": "ALL",
			"codes": ["C835", "C8350", "C8351", "C910", "C9100", "C9101", "C9102"],
			"all_of": ["all", "b"],
			"duration": {"months": 12},
		},
	},
}

test_indication_by_code if {
	lib.indication({"diagnoses": [{"code": "c92.10"}]}, _cov_set) == {"id": "cml"}
	lib.indication({"diagnoses": [{"code": "C83.50"}, {"code": "Z00"}]}, _cov_set) == {"id": "all"}
}

test_indication_named if {
	lib.indication({"indication": "all", "diagnoses": [{"code": "C92.10"}]}, _cov_set) == {"id": "all"}
}

test_indication_named_unknown if {
	unknown := lib.indication({"indication": "gist"}, _cov_set)
	unknown == {"invalid": "not an indication of these requirements; expected one of: all, cml"}
}

test_indication_several_match if {
	several := lib.indication({"diagnoses": [{"code": "C92.10"}, {"code": "C91.00"}]}, _cov_set)
	several == {"invalid": "the diagnoses match several indications (all, cml): name one"}
}

test_indication_gate if {
	lib.indication({}, _cov_set) == {"gate": "unknown"}
	lib.indication({"diagnoses": []}, _cov_set) == {"gate": "unmet"}
	lib.indication({"diagnoses": [{"code": "C49.A0"}]}, _cov_set) == {"gate": "unmet"}
	lib.indication({"diagnoses": "C92.10"}, _cov_set) == {"gate": "invalid"}
	lib.indication({"diagnoses": {"code": "C92.10"}}, _cov_set) == {"gate": "invalid"}
	lib.indication({"diagnoses": [{"code": "C49.A0"}, {"lineage": "b"}]}, _cov_set) == {"gate": "unknown"}
	lib.indication({"diagnoses": [{"code": "C49.A0"}, "C92.10"]}, _cov_set) == {"gate": "invalid"}
	lib.indication({"diagnoses": [{"code": 9210}]}, _cov_set) == {"gate": "invalid"}

	# a code not of ICD-10-CM form selects no indication, as the diagnosis test reads it
	lib.indication({"diagnoses": [{"code": "C.9.2.1.0"}]}, _cov_set) == {"gate": "invalid"}
	lib.indication({"diagnoses": [{"code": "C92.10XYZ"}]}, _cov_set) == {"gate": "invalid"}
	lib.indication({"diagnoses": [{"code": "C92 10"}]}, _cov_set) == {"gate": "invalid"}
}

# --- the decision for an indication and at the gate -------------------------------------

_cov_texts := {"cml": "CML dx", "a": "A", "all": "ALL dx", "b": "B", "c": "C", "d": "D"}

_cov_derived := {
	"requires": {"a": ["c", "d"]},
	"conditions": {},
	"asked": {"a": ["c", "d"]},
	"fields": {"cml": ["diagnoses"], "c": ["x.c"], "d": ["x.d"], "all": ["diagnoses"], "b": ["x.b"]},
}

_cov_request := {"request_type": "initial", "date_of_service": "2026-01-31", "request_id": "r"}

_cov_decide(statuses, choice, coverage) := lib.decide_indicated(
	{"request_type": "initial", "date_of_service": "2026-01-31", "request_id": "r"},
	{"id": "p"},
	coverage,
	{"cml": "CML dx", "a": "A", "all": "ALL dx", "b": "B", "c": "C", "d": "D"},
	{"title": "Initial", "indications": {
		# codes as the generator writes them: expanded to every code under each listed one
		"cml": {
			"heading": "CML",
			"codes": ["C921", "C9210", "C9211", "C9212"],
			"all_of": ["cml", "a"],
			"duration": {"months": 7},
		},
		"all": {
			"heading": "ALL",
			"codes": ["C835", "C8350", "C8351", "C910", "C9100", "C9101", "C9102"],
			"all_of": ["all", "b"],
			"duration": {"months": 12},
		},
	}},
	choice,
	statuses,
	["cml", "a", "c", "d"],
	{
		"requires": {"a": ["c", "d"]},
		"conditions": {},
		"asked": {"a": ["c", "d"]},
		"fields": {"cml": ["diagnoses"], "c": ["x.c"], "d": ["x.d"]},
	},
)

_cov_not_covered := {"other_indications": {"outcome": "not_covered"}}

test_indicated_approved if {
	d := _cov_decide({"cml": "met", "a": "met", "c": "met", "d": "met"}, {"id": "cml"}, _cov_not_covered)
	d.outcome == "approved"
	d.indication == {"id": "cml", "heading": "CML"}
	d.approval == {"start": "2026-01-31", "end": "2026-08-31", "duration_months": 7}
	d.unmet == []
	d.missing == []
	d.request_id == "r"
}

test_indicated_denied_has_no_missing if {
	d := _cov_decide({"cml": "met", "a": "unmet", "c": "unmet", "d": "unknown"}, {"id": "cml"}, _cov_not_covered)
	d.outcome == "denied"
	d.reason == "criteria_unmet"
	[u.id | some u in d.unmet] == ["a", "c"]
	d.missing == []
}

test_indicated_pended_asks_through_unknown_only if {
	# a is any-of-like unknown: c unknown, d unmet: only c is asked for.
	d := _cov_decide({"cml": "met", "a": "unknown", "c": "unknown", "d": "unmet"}, {"id": "cml"}, _cov_not_covered)
	d.outcome == "pended"
	d.missing == [{"id": "c", "text": "C", "fields": ["x.c"]}]
	d.unmet == []
	d.criteria == {"cml": "met", "a": "unknown", "c": "unknown", "d": "unmet"}
}

test_indicated_invalid_choice if {
	d := _cov_decide({}, {"invalid": "bad"}, _cov_not_covered)
	d.outcome == "invalid_request"
	d.errors == [{"field": "indication", "message": "bad"}]
	d.request_id == "r"
}

test_gate_unknown if {
	d := _cov_decide({}, {"gate": "unknown"}, _cov_not_covered)
	d.outcome == "pended"
	d.missing == [{
		"id": "indication",
		"text": "The diagnosis, to tell which of the policy's indications the request is for: ALL; CML",
		"fields": ["diagnoses"],
	}]
}

test_gate_invalid if {
	d := _cov_decide({}, {"gate": "invalid"}, {"other_indications": {"outcome": "pend_for_review"}})
	d.outcome == "denied"
	d.unmet == [{
		"id": "indication",
		"text": "The diagnosis is not one of the indications the policy covers: ALL; CML.",
		"fields": ["diagnoses"],
	}]
}

test_gate_other_indications if {
	_cov_decide({}, {"gate": "unmet"}, _cov_not_covered).reason == "not_covered"
	inv := _cov_decide({}, {"gate": "unmet"}, _cov_other("investigational", "X is investigational."))
	inv.reason == "investigational"
	inv.unmet == [{"id": "investigational", "text": "X is investigational."}]
	review := _cov_decide({}, {"gate": "unmet"}, _cov_other("pend_for_review", "Compendia."))
	review.outcome == "pended"
	review.reason == "other_indication_review"
	review.review == "Compendia."
	review.missing == []
}

test_duration_by_branch if {
	branchy := json.patch(_cov_set, [{
		"op": "add", "path": "/indications/cml/duration_when",
		"value": [{"criterion": "c", "duration": {"months": 3}}],
	}])
	met := {"cml": "met", "a": "met", "c": "met", "d": "met"}
	d := lib.decide_indicated(
		_cov_request, {"id": "p"}, _cov_not_covered, _cov_texts,
		branchy, {"id": "cml"}, met, ["cml", "a", "c", "d"], _cov_derived,
	)
	d.approval.duration_months == 3
	_cov_decide(met, {"id": "cml"}, _cov_not_covered).approval.duration_months == 7
}

# --- durations ---------------------------------------------------------------------------

test_approval_months if {
	three := lib.approval({"months": 3}, {"date_of_service": "2026-11-30"})
	three.approval == {"start": "2026-11-30", "end": "2027-02-28", "duration_months": 3}
}

test_approval_without_duration if {
	lib.approval({}, {"date_of_service": "2026-11-30"}).approval == {"start": "2026-11-30"}
}

test_weeks_end if {
	lib.add_weeks("2026-11-30", 16) == "2027-03-22"
	lib.add_weeks("2028-02-01", 4) == "2028-02-29"
	four := lib.approval({"weeks": 4}, {"date_of_service": "2026-12-20"})
	four.approval == {"start": "2026-12-20", "end": "2027-01-17", "duration_weeks": 4}
	four.outcome == "approved"
}

test_plan_year_end if {
	lib.plan_year_end("2026-06-15", "01-01") == "2026-12-31"
	lib.plan_year_end("2026-06-15", "07-01") == "2026-06-30"
	lib.plan_year_end("2026-07-01", "07-01") == "2027-06-30"
	lib.plan_year_end("2028-02-29", "03-01") == "2028-02-29"
	june := lib.approval({"plan_year_start": "07-01"}, {"date_of_service": "2026-06-15"})
	june.approval == {"start": "2026-06-15", "end": "2026-06-30", "plan_year_start": "07-01"}
}

_cov_capped := {"months": 12, "lifetime_cap_months": 24}

test_cap_partial if {
	d := lib.approval(_cov_capped, {"date_of_service": "2026-01-31", "therapy": {"months_received": 20}})
	d.outcome == "approved"
	d.approval == {
		"start": "2026-01-31", "end": "2026-05-31", "duration_months": 4,
		"lifetime_cap_months": 24, "capped": true,
	}
}

test_cap_not_binding if {
	d := lib.approval(_cov_capped, {"date_of_service": "2026-01-31", "therapy": {"months_received": 6}})
	d.approval == {"start": "2026-01-31", "end": "2027-01-31", "duration_months": 12, "lifetime_cap_months": 24}
}

test_cap_plan_year if {
	d := lib.approval(
		{"plan_year_start": "01-01", "lifetime_cap_months": 24},
		{"date_of_service": "2026-01-31", "therapy": {"months_received": 22}},
	)
	d.approval == {
		"start": "2026-01-31", "end": "2026-03-31", "plan_year_start": "01-01",
		"lifetime_cap_months": 24, "capped": true,
	}
}

test_cap_reached_absent_invalid if {
	lib.approval(_cov_capped, _cov_received(24)).reason == "lifetime_cap_reached"
	lib.approval(_cov_capped, {"date_of_service": "2026-01-31"}).missing[0].fields == ["therapy.months_received"]
	lib.approval(_cov_capped, _cov_received(2.5)).reason == "criteria_unmet"
	lib.approval(_cov_capped, _cov_received(2.5)).unmet[0].fields == ["therapy.months_received"]
	lib.approval(_cov_capped, _cov_received(24)).unmet == [{
		"id": "lifetime_cap",
		"text": "Lifetime cap: at most 24 months of therapy in a lifetime",
	}]
	lib.approval(_cov_capped, _cov_received("3")).reason == "criteria_unmet"
}

# --- the product test --------------------------------------------------------------------

test_product if {
	lib.requested_product(set(), {"a"}) == "unknown"
	lib.requested_product({"a"}, {"a", "b"}) == "met"
	lib.requested_product({"a", "b"}, {"a", "b"}) == "met"
	lib.requested_product({"c"}, {"a", "b"}) == "unmet"
	lib.requested_product({"a", "c"}, {"a"}) == "unknown"
}

_cov_other(outcome, statement) := {"other_indications": {"outcome": outcome, "statement": statement}}

_cov_received(months) := {"date_of_service": "2026-01-31", "therapy": {"months_received": months}}
