"""ICD-10-CM codes and UCUM units: what the generator will accept, expand and convert."""

from __future__ import annotations

import pytest

from rxrego.terminology import icd10cm, ucum

# --- ICD-10-CM ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "well_formed", "exists"),
    [
        ("C91.00", True, True),
        ("c9100", True, True),
        (" C91.00 ", True, True),
        ("C91", True, True),
        ("C50", True, True),  # a block and a category share this name
        ("C49.A", True, True),
        ("S72.001A", True, True),  # seventh character
        ("C91.0Z", True, False),  # the shape of a code, but no such code
        ("C91.02XYZ", False, False),
        ("C91.0-", False, False),
        ("C.9.1.0.2", False, False),
        ("C9.100", False, False),
        ("C81-C96", False, False),  # a block, not a code
        ("", False, False),
    ],
)
def test_code_shape_and_membership(code, well_formed, exists):
    assert icd10cm.well_formed(code) is well_formed
    assert icd10cm.exists(code) is exists


def test_canonical_form_puts_the_dot_after_the_category():
    assert icd10cm.canonical(" c9100 ") == "C91.00"
    assert icd10cm.canonical("C91") == "C91"


def test_description_comes_from_the_code_set():
    assert icd10cm.description("C49.A") == "Gastrointestinal stromal tumor"
    with pytest.raises(icd10cm.CodeError, match=r"C91\.0Z"):
        icd10cm.description("C91.0Z")


def test_an_exception_removes_its_subtree_and_the_codes_above_it():
    covered = icd10cm.expand(["C49"], ["C49.A"])
    assert "C49.A" not in covered and "C49.A0" not in covered
    assert "C49" not in covered  # a bare C49 might be the excepted disease
    assert "C49.0" in covered and "C49.9" in covered
    assert icd10cm.cover(["C49"], ["C49.A"]) == tuple(f"C49.{x}" for x in "01234568" + "9")


def test_cover_is_the_fewest_whole_subtrees():
    assert icd10cm.cover(["C91.0"]) == ("C91.0",)
    assert icd10cm.cover(["C50"]) == ("C50",)
    assert icd10cm.cover(["C81-C83"]) == ("C81", "C82", "C83")
    assert icd10cm.cover(["D69.3-D69.6"]) == ("D69.3", "D69.4", "D69.5", "D69.6")
    # Every expanded code lies under exactly one code of the cover.
    expanded = icd10cm.expand(["C81-C83"])
    assert all(sum(code.startswith(c) for c in ("C81", "C82", "C83")) == 1 for code in expanded)


@pytest.mark.parametrize(
    ("include", "exclude", "message"),
    [
        (["C91.0Z"], [], "'C91.0Z' is not an ICD-10-CM code"),
        (["C96-C81"], [], "runs backwards"),
        (["C81-C81.0"], [], "same level"),
        (["C49"], ["C50"], "not inside the codes"),
        (["C49"], ["C49.Q"], "not an ICD-10-CM code"),
    ],
)
def test_bad_code_lists_are_refused_with_the_entry_named(include, exclude, message):
    with pytest.raises(icd10cm.CodeError, match=message):
        icd10cm.expand(include, exclude)


# --- UCUM -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "molar_mass", "expected"),
    [
        ("mEq/L", "meq/L", None, 1.0),  # a lab spelling of the UCUM code
        ("meq/L", "eq/L", None, 0.001),  # equivalents into equivalents need no charge
        ("g/dL", "g/L", None, 10.0),
        ("g/L", "g/dL", None, 0.1),
        ("10*3/uL", "10*9/L", None, 1.0),
        ("K/uL", "10*9/L", None, 1.0),
        ("/uL", "10*9/L", None, 0.001),
        ("[lb_av]", "kg", None, 0.45359237),
        ("[in_i]", "cm", None, 2.54),
        ("mL/min/1.73m2", "mL/min/{1.73_m2}", None, 1.0),
        ("%", "1", None, 0.01),
        # cholesterol, 386.65 g/mol: 1 mmol/L = 38.665 mg/dL
        ("mmol/L", "mg/dL", 386.65, 38.665),
    ],
)
def test_factor(source, target, molar_mass, expected):
    assert ucum.factor(source, target, molar_mass) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("source", "target", "molar_mass", "valence", "expected"),
    [
        ("mmol/L", "meq/L", None, 1, 1.0),  # potassium (K+): 5.8 mmol/L is 5.8 mEq/L
        ("mmol/L", "meq/L", None, 2, 2.0),  # calcium (Ca2+): 2.5 mmol/L is 5 mEq/L
        ("mEq/L", "mmol/L", None, 2, 0.5),
        ("mEq/L", "mg/dL", 40.078, 2, 2.0039),  # calcium, 40.078 g/mol: 1 mEq/L = 2.0039 mg/dL
        ("mg/dL", "meq/L", 39.0983, 1, 1 / 3.90983),  # potassium, 39.0983 g/mol
    ],
)
def test_equivalents_convert_by_the_valence(source, target, molar_mass, valence, expected):
    assert ucum.factor(source, target, molar_mass, valence) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("source", "target", "molar_mass"),
    [("mEq/L", "mmol/L", None), ("meq/L", "mg/dL", 386.65), ("mmol/L", "meq/L", None), ("mEq", "mg", 39.0983)],
)
def test_equivalents_do_not_convert_into_moles_without_the_valence(source, target, molar_mass):
    # UCUM's eq is a mole: true of a univalent ion only; an LDL-C of 5.5 mEq/L is no LDL-C
    # of 5.5 mmol/L (212 mg/dL), and calcium in mEq/L is half its value in mmol/L.
    with pytest.raises(ucum.UnitError, match="valence"):
        ucum.factor(source, target, molar_mass)
    assert "mEq/L" not in ucum.accepted_units("mg/dL", 386.65)
    assert ucum.equivalents("mEq/L") == 1 and ucum.equivalents("mmol/L") == 0


@pytest.mark.parametrize(
    ("source", "target", "molar_mass"),
    [
        ("mg/dL", "mmol/L", None),  # needs the analyte's molar mass
        ("[IU]/mL", "10*9/L", None),  # arbitrary units convert only into themselves
        ("U/L", "[IU]/L", None),
        ("mmol/mol", "%", None),  # HbA1c IFCC vs NGSP is not a factor
        ("mg/kg", "%", None),
        ("kg", "cm", None),
        ("mg/dl2x", "mg/dL", None),  # not UCUM
        ("K/uL", "K", None),
        ("{score}", "%", None),  # a score is on its own scale, not a fraction
        ("{score}", "1", None),
        ("1", "{score}", None),
        ("{score}", "{count}", None),
        # the same dimension once cancelled, but not the same quantity: a weight-based daily
        # dose is not an hourly rate, and a dose per body mass is not a concentration
        ("mg/kg/d", "/h", None),
        ("/h", "mg/kg/d", None),
        ("mg/kg/wk", "{events}/h", None),
        ("mg/kg", "1", None),
        ("kg/m2", "mg/m2/kg", None),
    ],
)
def test_incommensurable_or_unknown_units_are_refused(source, target, molar_mass):
    with pytest.raises(ucum.UnitError):
        ucum.factor(source, target, molar_mass)


def test_not_ucum_names_the_unit_as_written():
    with pytest.raises(ucum.UnitError, match="'cells' is not a UCUM unit"):
        ucum.ucum_code("cells")


def test_accepted_units_keep_normalised_measurements_apart():
    egfr = ucum.accepted_units("mL/min/{1.73_m2}")
    assert egfr["mL/min/1.73 m2"] == 1.0 and egfr["mL/min/1.73m2"] == 1.0
    assert "mL/min" not in egfr  # a clearance not normalised to body surface area
    counts = ucum.accepted_units("10*9/L")
    assert counts["{cells}/uL"] == 0.001 and "[IU]/L" not in counts
    assert set(ucum.accepted_units("%")) == {"%", "1"}
    potassium = ucum.accepted_units("meq/L", valence=1)
    assert potassium["mmol/L"] == 1.0 and "mg/dL" not in potassium
    calcium = ucum.accepted_units("meq/L", valence=2)
    assert calcium["mmol/L"] == 2.0 and calcium["mEq/L"] == 1.0
    assert set(ucum.accepted_units("meq/L")) == {"meq/L", "mEq/L"}  # no charge: equivalents only


def test_a_rate_accepts_no_dose_per_body_mass():
    ahi = ucum.accepted_units("{events}/h")
    assert ahi["/h"] == 1.0
    assert not {"mg/kg/d", "mg/kg/wk", "ug/kg/wk"} & set(ahi)
    dose = ucum.accepted_units("mg/kg/d")
    assert dose["mg/kg/wk"] == pytest.approx(1 / 7, rel=1e-12) and dose["ug/kg/wk"] == pytest.approx(
        1 / 7000, rel=1e-12
    )
    assert "/h" not in dose and "{events}/h" not in dose


def test_a_score_unit_accepts_only_itself():
    # An Investigator's Global Assessment of 3 is 3 {score}: the lab table offers no other
    # unit, so a result written in % or 1 is unreadable, never rescaled.
    assert ucum.accepted_units("{score}") == {"{score}": 1.0}
    assert ucum.factor("{score}", "{score}") == 1.0
