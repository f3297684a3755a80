"""UCUM units: validation and conversion factors, computed when Rego is generated.

A policy names a lab threshold in one unit (`LDL-C >= 70 mg/dL`); results arrive in
whatever unit the lab reported. The generator asks this module for the factor that turns
each unit a result may carry into the policy's unit, and writes a table of them into the
generated Rego, so OPA only multiplies and never parses a unit. A unit that is not in the
table is unknown to the policy, never skipped and never compared.

Units are UCUM codes, case-sensitive (The Unified Code for Units of Measure,
https://ucum.org/ucum): `mg/dL`, `meq/L`, `10*9/L`, `[IU]/mL`, `mL/min/{1.73_m2}`. They are
parsed and converted by `ucumvert` (a UCUM grammar) over `pint`, not by a table of ours.
Laboratories often write a few units in forms that are not UCUM (`mEq/L`, `IU/mL`, `mcg`,
`x10^9/L`, `mL/min/1.73m2`); `LAB_SPELLINGS` maps the common ones to their UCUM code, after
the UCUM organisation's table of example codes for electronic messaging, so that such a
result is read as the lab meant it rather than refused.

An equivalent (UCUM `eq`, `meq`) is a mole of charge, not of substance: 1 mmol/L of calcium
(Ca2+) is 2 meq/L, of potassium (K+) 1 meq/L. UCUM (and so ucumvert) defines `eq` as a mole,
which is true only for a univalent ion; so a unit counting equivalents converts into one
counting moles (or mass) only when the caller gives the analyte's valence (the charge of
its ion: `valence`), and is not commensurable with it otherwise.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

# Spellings seen in lab reports and prescriptions that are not valid case-sensitive UCUM,
# each mapped to the UCUM code it stands for. `K/uL` is "thousands per microlitre" in a
# blood count, although in UCUM it would read "kelvin per microlitre".
LAB_SPELLINGS: dict[str, str] = {
    "mEq/L": "meq/L",
    "mEq": "meq",
    "IU/L": "[IU]/L",
    "IU/mL": "[IU]/mL",
    "IU": "[IU]",
    "mIU/mL": "m[IU]/mL",
    "mcg": "ug",
    "mcg/kg": "ug/kg",
    "mcg/mL": "ug/mL",
    "mcg/dL": "ug/dL",
    "x10^9/L": "10*9/L",
    "x10^3/uL": "10*3/uL",
    "10^9/L": "10*9/L",
    "10^3/uL": "10*3/uL",
    "K/uL": "10*3/uL",
    "cells/uL": "{cells}/uL",
    "cells/mm3": "{cells}/mm3",
    "mL/min/1.73m2": "mL/min/{1.73_m2}",
    "mL/min/1.73 m2": "mL/min/{1.73_m2}",
    "mL/min/1.73m^2": "mL/min/{1.73_m2}",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "in": "[in_i]",
    "kg/m^2": "kg/m2",
    "mg/m^2": "mg/m2",
}

# The units a lab result, a dose or a body measurement is commonly reported in, as UCUM
# codes. `accepted_units` offers each one that is commensurable with a policy's unit.
COMMON_UNITS: tuple[str, ...] = (
    # mass and substance concentrations
    "g/L",
    "g/dL",
    "mg/dL",
    "mg/L",
    "ug/mL",
    "ug/dL",
    "ug/L",
    "ng/mL",
    "ng/dL",
    "ng/L",
    "pg/mL",
    "mol/L",
    "mmol/L",
    "umol/L",
    "nmol/L",
    "pmol/L",
    "meq/L",
    "mmol/mol",
    # arbitrary and enzyme units
    "[IU]/L",
    "[IU]/mL",
    "m[IU]/mL",
    "k[IU]/L",
    "U/L",
    "U/mL",
    "kU/L",
    "ukat/L",
    # counts
    "10*9/L",
    "10*3/uL",
    "10*6/uL",
    "10*12/L",
    "/uL",
    "/mm3",
    "/L",
    "{cells}/uL",
    "{cells}/mm3",
    # fractions
    "%",
    "1",
    # rates and clearances
    "mL/min",
    "mL/min/{1.73_m2}",
    "mL/s",
    "/h",
    "{events}/h",
    # body measurements
    "kg",
    "g",
    "[lb_av]",
    "cm",
    "m",
    "[in_i]",
    "kg/m2",
    "m2",
    # doses
    "mg",
    "ug",
    "g",
    "[IU]",
    "mg/kg",
    "ug/kg",
    "mg/m2",
    "mg/d",
    "mg/kg/d",
    "mg/kg/wk",
    "ug/kg/wk",
    "mL",
)


class UnitError(ValueError):
    """A unit that is not UCUM, or two units that cannot be converted into each other.
    `args[0]` is a message for a policy author."""


@functools.cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


def load() -> None:
    """Build the unit registry now (about a second, once a process) rather than at the first
    conversion: a process about to fork workers that convert units pays it once."""
    _registry()


@functools.lru_cache(maxsize=4096)
def _from_ucum(code: str) -> Any:
    # Parsing a code (a lark Earley parse, then pint) takes milliseconds, and loading a
    # catalog asks for the same few codes thousands of times (every threshold's table of
    # accepted units converts each common unit). The pint quantity it returns is never
    # changed in place here (only `*`, `/`, `.to`, which make new ones), so one is shared.
    # A code that fails to parse raises every time: lru_cache keeps no exceptions.
    return _registry().from_ucum(code)


def ucum_code(unit: str) -> str:
    """The UCUM code for `unit`: itself when it is UCUM, else its entry in LAB_SPELLINGS.
    Raises UnitError when it is neither."""
    code = LAB_SPELLINGS.get(unit, unit)
    _parse(code, unit)
    return code


def _parse(code: str, as_written: str) -> Any:
    from ucumvert import InvalidUcumError

    try:
        return _from_ucum(code)
    except (InvalidUcumError, ValueError, TypeError) as exc:
        raise UnitError(
            f"{as_written!r} is not a UCUM unit (write it as UCUM, e.g. mg/dL, meq/L, 10*9/L, [IU]/mL)"
        ) from exc
    except Exception as exc:  # pint raises its own errors for atoms it does not define
        raise UnitError(f"{as_written!r} is not a unit rxrego can convert: {exc}") from exc


def factor(source: str, target: str, molar_mass_g_per_mol: float | None = None, valence: int | None = None) -> float:
    """The number that turns a value in `source` into `target`: 2.5 (mmol/L) x
    factor("mmol/L", "meq/L", valence=2) = 5 (meq/L). Both units are UCUM codes or
    LAB_SPELLINGS.

    Between a mass and a substance concentration (mg/dL and mmol/L) the analyte's molar mass
    is needed (`molar_mass_g_per_mol`, e.g. 386.65 for cholesterol); without it they are
    incommensurable. Between equivalents and moles (meq/L and mmol/L, or mg/dL through the
    molar mass) the analyte's `valence` is needed (the charge of its ion, e.g. 1 for K+, 2
    for Ca2+: 1 meq = 1/valence mmol); without it they are incommensurable. Annotations
    (`{1.73_m2}`, `{cells}`) do not take part in conversion.

    Raises UnitError when either unit is not UCUM, or the two cannot be converted.
    """
    src_code, dst_code = ucum_code(source), ucum_code(target)
    if _annotation_only(src_code) or _annotation_only(dst_code):
        if src_code == dst_code:
            return 1.0
        raise UnitError(
            f"{source!r} cannot be converted to {target!r}: a unit that is only an annotation"
            " ({score}, {count}) names its own scale and converts only into itself"
        )
    src, dst = _parse(src_code, source), _parse(dst_code, target)
    if _arbitrary(src_code) != _arbitrary(dst_code):
        raise UnitError(
            f"{source!r} cannot be converted to {target!r}: arbitrary units ([IU], ...) convert only into themselves"
        )
    if (
        _ratio(src)
        and _ratio(dst)
        and not {_ratio_family(src_code), _ratio_family(dst_code)} <= {"fraction"}
        and src_code != dst_code
    ):
        raise UnitError(f"{source!r} cannot be converted to {target!r}: different kinds of ratio")
    if _kind(src) != _kind(dst):
        raise UnitError(
            f"{source!r} cannot be converted to {target!r}: they measure different quantities"
            " (the same dimension after cancelling, e.g. mg/kg/d and /h, is not the same quantity)"
        )
    quantity = 1.0 * src
    try:
        if quantity.is_compatible_with(dst):
            value = float(quantity.to(dst).magnitude)
        elif molar_mass_g_per_mol is not None:
            value = _through_molar_mass(quantity, dst, molar_mass_g_per_mol)
        else:
            raise UnitError(f"{source!r} cannot be converted to {target!r}")
    except UnitError:
        raise
    except Exception as exc:
        raise UnitError(f"{source!r} cannot be converted to {target!r}") from exc
    # UCUM's eq is a mole: right for a univalent ion only (see the module's docstring).
    charge = equivalents(dst_code) - equivalents(src_code)
    if charge:
        if valence is None:
            raise UnitError(
                f"{source!r} cannot be converted to {target!r}: an equivalent is a mole of charge, so it"
                " converts into moles only with the analyte's valence"
            )
        value *= float(valence) ** charge
    if not math.isfinite(value) or value == 0:
        raise UnitError(f"{source!r} cannot be converted to {target!r}")
    return _tidy(value)


def equivalents(code: str) -> float:
    """The power of equivalents (UCUM `eq`, with any prefix) in a UCUM code or LAB_SPELLINGS
    form: 1 for `meq/L` and `mEq`, -1 for `L/meq`, 0 for `mmol/L`. Raises UnitError when the
    unit is not UCUM."""
    ucum = LAB_SPELLINGS.get(code, code)
    unit = _parse(ucum, code)
    if _annotation_only(ucum):  # `{score}`: a label on unity, no atom
        return 0.0
    return float(sum(p for name, p in (1.0 * unit).unit_items() if "equivalent" in name))


def _annotation_only(code: str) -> bool:
    # A code that is nothing but an annotation (`{score}`, `{count}`) is, in UCUM, the unity
    # `1` with a label. Clinical scores use it (an IGA of 3 is `3 {score}`): a score on its
    # own scale, so it is commensurable with nothing but itself, not with `1` or `%`.
    return re.fullmatch(r"\{[^{}]*\}", code) is not None


def _arbitrary(code: str) -> tuple[str, ...]:
    # UCUM's arbitrary units (the international unit and its kin) are defined by a
    # reference preparation, not by a quantity: commensurable with nothing but themselves.
    return tuple(sorted(a.lower() for a in re.findall(r"\[[^\]]*(?:IU|iU|U'?|arb'U)[^\]]*\]", code)))


def _kind(unit: Any) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]:
    """What a unit measures, before its dimensions cancel: the base dimensions of its
    numerator and of its denominator, each summed apart. UCUM (and pint) call two units
    commensurable when their dimensions are equal after cancelling, so a dose per body mass
    per day (mg/kg/d: mass / (mass x time)) would convert into an hourly rate (/h) and be
    read as an apnea-hypopnea index. Kept apart, mg/kg/d is ([mass], [mass][time]) and /h is
    ((), [time]): not the same quantity. Substance counts as mass here, since a molar mass
    converts between them (mmol/L and mg/dL measure the same concentration)."""
    registry = _registry()
    sides: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for name, exponent in (1.0 * unit).units._units.items():
        side = sides[0] if exponent > 0 else sides[1]
        for dimension, power in registry.get_dimensionality(name).items():
            key = "[mass]" if dimension == "[substance]" else dimension
            side[key] = side.get(key, 0.0) + abs(exponent) * power
    numerator, denominator = ({d: p for d, p in side.items() if p} for side in sides)
    return tuple(sorted(numerator.items())), tuple(sorted(denominator.items()))


def _ratio(unit: Any) -> bool:
    return bool((1.0 * unit).dimensionless)


def _ratio_family(code: str) -> str:
    # `%` and `1` are plain fractions; mmol/mol (HbA1c in IFCC units) or mg/kg are ratios
    # of other kinds, whose relation to a percentage is not a factor (HbA1c: NGSP % =
    # 0.0915 x IFCC mmol/mol + 2.15), so they never convert into one.
    return "fraction" if code in {"%", "1"} else code


def _through_molar_mass(quantity: Any, dst: Any, molar_mass: float) -> float:
    # mass <-> substance: grams = moles x molar mass (g/mol); the rest of the unit (per
    # volume, per day) converts as usual.
    registry = _registry()
    mw = molar_mass * registry.from_ucum("g/mol")
    for converted in (quantity * mw, quantity / mw):
        if converted.is_compatible_with(dst):
            return float(converted.to(dst).magnitude)
    raise UnitError(f"{quantity.units} cannot be converted to {dst}")


def _tidy(value: float) -> float:
    # Float noise from chained prefixes (0.1 * 10 = 1.0000000000000002) would make the
    # generated tables read badly and differ across platforms; 12 significant digits are
    # far beyond any lab's precision.
    return float(f"{value:.12g}")


def accepted_units(
    target: str, molar_mass_g_per_mol: float | None = None, valence: int | None = None
) -> dict[str, float]:
    """Every unit of COMMON_UNITS and LAB_SPELLINGS commensurable with `target`, and the
    target itself, each mapped to its factor into `target`, sorted by unit. This is the table
    the generated Rego multiplies by. Units counting equivalents (meq/L, mEq/L) are in it for
    a target counting moles or mass only with the analyte's `valence` (see `factor`).
    Raises UnitError when `target` is not UCUM.

    The table is computed once per (target, molar mass) and a fresh copy returned on each
    call: checking, generating and the reference evaluator ask for the same few tables many
    times, and each costs some 90 conversions. With the spec cache on (rxrego.spec.cache,
    RXREGO_CACHE_DIR) a table computed in an earlier run is read back, without loading pint's
    unit registry."""
    from ..spec import cache

    question = repr((target, molar_mass_g_per_mol, valence))
    return dict(
        cache.remembered("ucum-accepted", question, lambda: _accepted_units(target, molar_mass_g_per_mol, valence))
    )


@functools.lru_cache(maxsize=512)
def _accepted_units(target: str, molar_mass_g_per_mol: float | None, valence: int | None) -> dict[str, float]:
    ucum_code(target)
    table = {target: 1.0}
    for unit in (*COMMON_UNITS, *LAB_SPELLINGS):
        try:
            table[unit] = factor(unit, target, molar_mass_g_per_mol, valence)
        except UnitError:
            continue
    # UCUM ignores annotations in conversion, so mL/min is commensurable with
    # mL/min/{1.73_m2}; but a normalising annotation makes another measurement (a clearance
    # not normalised to body surface area must not meet an eGFR threshold). Labels such as
    # {cells} change nothing. Keep only units whose normalising annotations match.
    wanted = _annotations(ucum_code(target))
    return {u: f for u, f in sorted(table.items()) if _annotations(ucum_code(u)) == wanted}


def _annotations(code: str) -> tuple[str, ...]:
    return tuple(sorted(a for a in re.findall(r"\{[^}]*\}", code) if any(ch.isdigit() for ch in a)))
