"""Kinds of leaf test over clinical facts beyond the first policy's: concurrent therapy
required, who prescribes (or is consulted), procedures, body measurements (weight, height,
BMI), doses and pregnancy. Registered in the registry (kinds.KINDS) like every other kind;
docs/semantics.md ("Clinical facts") says what each value means.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import regotext
from ..prose import counted
from .kinds import (
    BIRTH_DAY,
    CHOSEN_INDICATION,
    DATE_OF_SERVICE,
    IDENTIFIER,
    OTHER,
    REQUESTED_PRODUCTS,
    Answers,
    Asking,
    ConcurrentTherapyKind,
    Filling,
    Kind,
    LabTest,
    _not_a_list,
    _num,
    _or,
    call,
    coding,
    fact,
    humanize,
    kind,
    lab_name,
    lower_set,
    options,
    question,
    unit_factors,
)

UCUM_SYSTEM = "http://unitsofmeasure.org"
PREGNANCY_STATUSES = ("pregnant", "not_pregnant", "unknown")

# Body measurements: each fact, its policy unit, and the range outside which a value
# contradicts the request (an adult of 2000 kg is a unit or typing error, not a patient).
MEASURES: dict[str, tuple[str, str, tuple[float, float]]] = {
    "weight": ("patient.weight", "kg", (0.2, 700)),
    "height": ("patient.height", "cm", (20, 280)),
    "bmi": ("patient.bmi", "kg/m2", (5, 250)),
}
_MEASUREMENT_SCHEMA = {
    "type": "object",
    "required": ["value", "unit"],
    "properties": {
        "value": {"type": "number"},
        "unit": {"type": "string", "description": "UCUM, e.g. kg, [lb_av], cm, [in_i], kg/m2"},
        "date": {
            "type": "string",
            "description": (
                "YYYY-MM-DD it was measured, or a date with a time (FHIR dateTime, read as the day"
                " written); not after the date of service, not before the birth date"
            ),
        },
    },
}


def measure_units(unit: str) -> dict[str, float]:
    """{lower-case unit: factor into `unit`} for a body measurement (rxrego.terminology.ucum)."""
    return unit_factors(unit)


def measure_unit_fact(measure: str) -> dict:
    """A body measurement as Kind.unit_facts gives it: its path, its number's key, the unit
    the policy reads it in and the lower-case units that convert into it."""
    path, unit, _ = MEASURES[measure]
    return {"path": path.split("."), "value": "value", "unit": unit, "units": sorted(measure_units(unit))}


def dose_unit_fact(unit: str) -> dict:
    """The request's `dose` as Kind.unit_facts gives it, read in `unit`."""
    return {"path": ["dose"], "value": "amount", "unit": unit, "units": sorted(measure_units(unit))}


def measurement_expr(measure: str) -> str:
    """The Rego reading one body measurement in its policy unit."""
    path, unit, (low, high) = MEASURES[measure]
    return call(
        "measurement",
        fact(path),
        regotext.value(measure_units(unit)),
        regotext.value([low, high]),
        DATE_OF_SERVICE,
        BIRTH_DAY,
    )


def _measure_question(measure: str, a: Asking) -> dict:
    path, unit, _ = MEASURES[measure]
    from ..terminology import ucum

    units = [u for u in ucum.accepted_units(unit) if u not in ucum.LAB_SPELLINGS]
    units = [unit, *[u for u in units if u != unit]]
    choices = [{"valueCoding": {"system": UCUM_SYSTEM, "code": u, "display": u}} for u in units]
    children = [
        question(f"{path}.value", f"{humanize(measure)} ({unit})", "decimal", required=True),
        question(f"{path}.unit", "Unit (UCUM)", "choice", required=True, answerOption=choices, initial=[choices[0]]),
        question(f"{path}.date", "Date measured", "date"),
    ]
    return question(
        path,
        f"Patient's {measure}{a.scope}. {a.policy}{a.note}",
        "group",
        required=a.required,
        item=children,
        **a.enable,
    )


def _fill_measurement(path: str, answers: Answers, request: Filling) -> None:
    entries = answers.entries(path, ("value", "unit", "date"))
    if entries:
        request.put(path, entries[0])


@kind
@dataclass(frozen=True)
class ConcurrentTherapyRequiredTest(ConcurrentTherapyKind):
    key = "concurrent_therapy"
    rego_function = "concurrent_therapy_required"
    schema: ClassVar[dict] = ConcurrentTherapyKind.value_set_schema(
        "some concurrent therapy is in the value set (e.g. in combination with chemotherapy)"
    )

    def describe(self) -> str:
        return f"a concurrent therapy from value set {self.value_set}"


@kind
@dataclass(frozen=True)
class PrescribedByTest(Kind):
    specialties: tuple[str, ...]
    consultation: bool = True

    key = "prescribed_by"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["specialties"],
        "description": "prescribed by (or, with consultation, in consultation with) one of the specialties",
        "properties": {
            "specialties": {"type": "array", "items": IDENTIFIER, "minItems": 1, "uniqueItems": True},
            "consultation": {"type": "boolean", "description": "a consulting specialist counts too (default true)"},
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "prescriber.consulting_specialties": {
            "type": "array",
            "items": {"type": "string"},
            "description": "specialties of the specialists consulted on this request; [] = none",
        },
    }

    def dump(self) -> object:
        out: dict[str, Any] = {"specialties": list(self.specialties)}
        if not self.consultation:
            out["consultation"] = False
        return out

    def fields(self) -> list[str]:
        return (
            ["prescriber.specialty", "prescriber.consulting_specialties"]
            if self.consultation
            else ["prescriber.specialty"]
        )

    def rego(self) -> str:
        consulting = (
            fact("prescriber.consulting_specialties") if self.consultation else regotext.value({"state": "absent"})
        )
        return call(
            "prescribed_by",
            fact("prescriber.specialty"),
            consulting,
            regotext.block(lower_set(self.specialties), 1),
            regotext.value(self.consultation),
        )

    def describe(self) -> str:
        how = "prescribed by or in consultation with" if self.consultation else "prescribed by"
        return f"{how} {_or(self.specialties)}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        values = [s for t in a.tests for s in t.specialties]
        if a.key == "prescriber.consulting_specialties":
            return [
                question(
                    a.key,
                    f"Specialties of the specialists consulted (none: leave empty){a.scope}. {a.policy}{a.note}",
                    "choice",
                    repeats=True,
                    answerOption=options(a.system("specialty"), [*values, OTHER]),
                    **a.enable,
                )
            ]
        return [
            question(
                a.key,
                f"Prescriber's specialty{a.scope}. {a.policy}{a.note}",
                "choice",
                required=a.required,
                answerOption=options(a.system("specialty"), [*values, OTHER]),
                **a.enable,
            )
        ]

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        if key == "prescriber.consulting_specialties":
            value = answers.one(key)
            request.put(key, [value] if isinstance(value, str) else value)
            return
        request.put(key, answers.one(key))


@kind
@dataclass(frozen=True)
class ProcedureTest(Kind):
    names: tuple[str, ...]
    within_days: int | None = None
    min_count: int | None = None

    key = "procedure"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["names"],
        "description": "the patient has had one of the procedures (e.g. splenectomy)",
        "properties": {
            "names": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 80},
                "minItems": 1,
                "uniqueItems": True,
            },
            "within_days": {"type": "integer", "minimum": 0, "maximum": 36500},
            "min_count": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "description": "at least this many distinct entries (one per name and date), e.g. multiple fractures",
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "procedures": {
            "type": "array",
            "description": "procedures the patient has had; absent = unknown; [] = none",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "date": {
                        "type": "string",
                        "description": "YYYY-MM-DD; not after the date of service, not before the birth date",
                    },
                },
            },
        },
    }

    def fields(self) -> list[str]:
        return ["procedures"]

    def rego(self) -> str:
        names = frozenset(lab_name(n) for n in self.names)
        if self.min_count is not None:
            return call(
                "procedure_count",
                fact("procedures"),
                regotext.value(names),
                regotext.value(self.within_days),
                regotext.value(self.min_count),
                DATE_OF_SERVICE,
                BIRTH_DAY,
            )
        return call(
            "procedure",
            fact("procedures"),
            regotext.value(names),
            regotext.value(self.within_days),
            DATE_OF_SERVICE,
            BIRTH_DAY,
        )

    def describe(self) -> str:
        recent = (
            f" at most {counted(self.within_days, 'day')} before the date of service"
            if self.within_days is not None
            else ""
        )
        if self.min_count is not None:
            return f"at least {self.min_count} distinct entries (name and date) of procedure {_or(self.names)}{recent}"
        return f"procedure {_or(self.names)}{recent}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        names = [n for t in a.tests for n in t.names]
        any_item = question(
            f"{a.key}.any",
            f"Has the patient had any of these procedures: {', '.join(dict.fromkeys(names))}?{a.scope} {a.policy}{a.note}",
            "boolean",
            required=a.required,
            **a.enable,
        )
        group = question(
            a.key,
            "Each procedure",
            "group",
            repeats=True,
            enableWhen=[{"question": f"{a.key}.any", "operator": "=", "answerBoolean": True}],
            item=[
                question(f"{a.key}.name", "Procedure", "string", required=True),
                question(f"{a.key}.date", "Date", "date"),
            ],
        )
        return [any_item, group]

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        request.put(key, answers.therapies(key, ("name", "date")))

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _not_a_list(value)


@kind
@dataclass(frozen=True)
class BodyMeasureTest(Kind):
    measure: str
    comparison: str
    value: float

    key = "body_measure"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["measure", "comparison", "value"],
        "description": "a body measurement compares with a threshold: weight in kg, height in cm, BMI in kg/m2 (computed from weight and height when both are given)",
        "properties": {
            "measure": {"enum": list(MEASURES)},
            "comparison": {"enum": ["<", "<=", ">", ">=", "=="]},
            "value": {"type": "number"},
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        path: {**_MEASUREMENT_SCHEMA, "description": f"{m}, converted to {unit}"}
        for m, (path, unit, _) in MEASURES.items()
    }

    def unit_facts(self) -> list[dict]:
        return [
            measure_unit_fact(m) for m in (("weight", "height", "bmi") if self.measure == "bmi" else (self.measure,))
        ]

    def fields(self) -> list[str]:
        if self.measure == "bmi":
            return ["patient.weight", "patient.height", "patient.bmi"]
        return [MEASURES[self.measure][0]]

    def rego(self) -> str:
        c, v = regotext.string(self.comparison), regotext.value(self.value)
        if self.measure == "bmi":
            # BMI from kg and m: the height is read in cm and scaled.
            return call("bmi", measurement_expr("weight"), measurement_expr("height_m"), measurement_expr("bmi"), c, v)
        return call("compared", measurement_expr(self.measure), c, v)

    def describe(self) -> str:
        unit = MEASURES[self.measure][1]
        computed = " (from weight and height when both are given)" if self.measure == "bmi" else ""
        return f"{self.measure}{computed} {self.comparison} {_num(self.value)} {unit}"

    def question_keys(self) -> list[str]:
        return self.fields()

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        measure = next(m for m, (path, _, _) in MEASURES.items() if path == a.key)
        return [_measure_question(measure, a)]

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        _fill_measurement(key, answers, request)


# The height in metres, for BMI (weight kg / height m^2).
MEASURES["height_m"] = ("patient.height", "m", (0.2, 2.8))


# --- dose tables (docs/semantics.md, "Dose tables") -----------------------------------------

# The facts a dose table's column may read besides a lab: the products requested, a body
# measurement, the indication the request is decided under.
TABLE_FACTS = ("product", "weight", "height", "indication")
# The columns whose rows list ids (of products, of indications) rather than numeric bands.
ID_COLUMNS = ("product", "indication")
# A numeric band's bounds and how each compares a value with it.
BOUNDS = {"min": ">=", "over": ">", "max": "<=", "under": "<"}
_BAND = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": "min / max inclusive, over / under exclusive, in the key's unit",
    "properties": {b: {"type": "number"} for b in BOUNDS},
}
_LAB_KEY_FIELDS = (
    "name",
    "loinc",
    "aliases",
    "unit",
    "plausible",
    "result",
    "after_days",
    "molar_mass",
    "valence",
    "therapy_start",
)


def _lab_key_schema() -> dict:
    props = LabTest.schema["properties"]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "unit"],
        "description": "a lab read as the lab test reads it (which lab, which result, its unit); its value places the row",
        "properties": {k: props[k] for k in _LAB_KEY_FIELDS},
    }


@dataclass(frozen=True)
class DoseRow:
    """One row of a dose table: per key, a band (("products", ids) or ("bounds", ((op,
    number), ...))), and the row's limit: `max` in the test's unit per period, and the
    labeled interval `every_days` (None: not stated)."""

    bands: tuple[tuple[str, tuple], ...]
    max: float
    every_days: float | None = None

    def band(self, key: str) -> tuple:
        return next(b for k, b in self.bands if k == key)


@dataclass(frozen=True)
class DoseTable:
    """A label's dosing table: `keys` (name, source), the source "product", "weight",
    "height" or a LabTest whose value is read (its comparison is not used); `rows` in order."""

    keys: tuple[tuple[str, str | LabTest], ...]
    rows: tuple[DoseRow, ...]

    @classmethod
    def parse(cls, data: dict) -> DoseTable:
        keys = tuple(
            (name, LabTest.parse({**src["lab"], "comparison": ">="}) if isinstance(src, dict) else src)
            for name, src in data["keys"].items()
        )
        rows = []
        for row in data["rows"]:
            bands = []
            for name, band in row.items():
                if name in ("max", "every_days"):
                    continue
                if isinstance(band, list):
                    bands.append((name, ("products", tuple(band))))
                else:
                    bands.append((name, ("bounds", tuple((BOUNDS[b], band[b]) for b in BOUNDS if b in band))))
            rows.append(DoseRow(tuple(bands), row["max"], row.get("every_days")))
        return cls(keys, tuple(rows))

    def dump(self) -> dict:
        keys: dict[str, object] = {}
        for name, src in self.keys:
            if isinstance(src, str):
                keys[name] = src
            else:
                lab = src.dump()
                assert isinstance(lab, dict)
                keys[name] = {"lab": {k: v for k, v in lab.items() if k in _LAB_KEY_FIELDS}}
        rows = []
        inverse = {op: b for b, op in BOUNDS.items()}
        for row in self.rows:
            out: dict[str, object] = {}
            for name, (kind_, band) in row.bands:
                out[name] = list(band) if kind_ == "products" else {inverse[op]: v for op, v in band}
            out["max"] = row.max
            if row.every_days is not None:
                out["every_days"] = row.every_days
            rows.append(out)
        return {"keys": keys, "rows": rows}

    def labs(self) -> list:
        return [src for _, src in self.keys if not isinstance(src, str)]


def _interval(band: tuple) -> tuple[float, bool, float, bool]:
    """(low, low included, high, high included) of a numeric band."""
    low, low_in, high, high_in = float("-inf"), True, float("inf"), True
    for op, v in band:
        if op in (">=", ">") and (v > low or (v == low and op == ">")):
            low, low_in = v, op == ">="
        if op in ("<=", "<") and (v < high or (v == high and op == "<")):
            high, high_in = v, op == "<="
    return low, low_in, high, high_in


def _meet(a: tuple, b: tuple) -> bool:
    """Whether two bands (of one key) hold a value in common."""
    if a[0] == "products":
        return bool(set(a[1]) & set(b[1]))
    (l1, li1, h1, hi1), (l2, li2, h2, hi2) = _interval(a[1]), _interval(b[1])
    low, low_in = max((l1, li1), (l2, li2), key=lambda x: (x[0], not x[1]))
    high, high_in = min((h1, hi1), (h2, hi2), key=lambda x: (x[0], x[1]))
    return low < high or (low == high and low_in and high_in)


def _rows_overlap(a: DoseRow, b: DoseRow, keys: list[str]) -> bool:
    """Whether one request could fall in both rows: every key's bands hold a value in common
    (rows missing a key's band, or giving bands of another kind, are reported on their own)."""
    bands_a, bands_b = dict(a.bands), dict(b.bands)
    for k in keys:
        if k not in bands_a or k not in bands_b or bands_a[k][0] != bands_b[k][0]:
            return False
        if not _meet(bands_a[k], bands_b[k]):
            return False
    return True


@kind
@dataclass(frozen=True)
class DoseTest(Kind):
    """The prescribed dose (request `dose`: amount, unit, every_days, route) does not exceed
    `max` `unit` per dose, day or week; per kg of body weight or per m2 of body surface area
    (Mosteller: sqrt(height cm x weight kg / 3600)) with `per`; with `every_days`, given no
    more often than one dose every that many days (the labeled interval, as a table row's:
    "100 billable units every 8 weeks" is max 1000 mg, every_days 56). With `table` instead
    of `max`, the maximum (and the labeled interval) is the row of a label's dosing table
    that the request's facts fall in (docs/semantics.md, "Dose tables")."""

    max: float | None = None
    unit: str = ""
    period: str = "dose"
    per: str = "none"
    table: DoseTable | None = None
    every_days: float | None = None

    key = "dose"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["unit"],
        "description": "the prescribed dose does not exceed a maximum (or the row of a dosing table)",
        "properties": {
            "max": {"type": "number", "exclusiveMinimum": 0},
            "unit": {
                "type": "string",
                "minLength": 1,
                "maxLength": 20,
                "description": "UCUM unit of the amount, e.g. mg, ug, [IU]",
            },
            "period": {"enum": ["dose", "day", "week"], "description": "per dose (default), per day or per week"},
            "per": {
                "enum": ["none", "kg", "m2"],
                "description": "per kg of body weight, per m2 of body surface area (Mosteller), or absolute (default)",
            },
            "every_days": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "with `max`: the labeled interval, a dose every this many days at the most often",
            },
            "table": {
                "type": "object",
                "additionalProperties": False,
                "required": ["keys", "rows"],
                "description": "a label's dosing table: the row the request's facts fall in gives the maximum",
                "properties": {
                    "keys": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": {**IDENTIFIER, "not": {"enum": ["max", "every_days"]}},
                        "description": "column name -> its fact: product, weight, height, indication, or {lab: {...}}",
                        "additionalProperties": {
                            "oneOf": [
                                {"enum": list(TABLE_FACTS)},
                                {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["lab"],
                                    "properties": {"lab": _lab_key_schema()},
                                },
                            ]
                        },
                    },
                    "rows": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["max"],
                            "properties": {
                                "max": {
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                    "description": "the row's maximum, in `unit` per `period` (per `per`)",
                                },
                                "every_days": {
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                    "description": "the labeled interval: a dose every this many days at the most often",
                                },
                            },
                            "additionalProperties": {
                                "oneOf": [
                                    _BAND,
                                    {
                                        "type": "array",
                                        "items": IDENTIFIER,
                                        "minItems": 1,
                                        "uniqueItems": True,
                                        "description": "product ids, or indication ids",
                                    },
                                ]
                            },
                        },
                    },
                },
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "dose": {
            "type": "object",
            "required": ["amount", "unit"],
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "unit": {"type": "string", "description": "UCUM, e.g. mg, ug, [IU]"},
                "every_days": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "one dose every this many days (1 daily, 7 weekly, 0.5 twice daily)",
                },
                "route": {"type": "string", "description": "e.g. subcutaneous, intravenous, oral"},
            },
        },
    }

    @classmethod
    def parse(cls, data: Any) -> DoseTest:
        d = dict(data)
        table = d.pop("table", None)
        return cls(**d, table=None if table is None else DoseTable.parse(table))

    def dump(self) -> object:
        out: dict[str, Any] = {} if self.max is None else {"max": self.max}
        out["unit"] = self.unit
        if self.period != "dose":
            out["period"] = self.period
        if self.per != "none":
            out["per"] = self.per
        if self.every_days is not None:
            out["every_days"] = self.every_days
        if self.table is not None:
            out["table"] = self.table.dump()
        return out

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        from ..terminology import ucum

        issues: list[tuple[tuple, str]] = []
        if (self.max is None) == (self.table is None):
            issues.append(((), "give exactly one of `max` and `table`"))
        if self.table is not None and self.every_days is not None:
            issues.append((("every_days",), "a table gives the interval in its rows (`every_days` of a row)"))
        try:
            ucum.ucum_code(self.unit)
        except ucum.UnitError as exc:
            issues.append((("unit",), str(exc)))
        if self.table is not None:
            issues += [(("table", *where), message) for where, message in self._table_issues(value_sets)]
        return issues

    def _table_issues(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        assert self.table is not None
        issues: list[tuple[tuple, str]] = []
        sources = dict(self.table.keys)
        for name, src in self.table.keys:
            if not isinstance(src, str):
                for where, message in src.check(value_sets):
                    # a column reads a lab, it compares nothing: no threshold is asked of it
                    if "exactly one of `value`" not in message:
                        issues.append((("keys", name, "lab", *where), message))
        for i, row in enumerate(self.table.rows):
            names = [k for k, _ in row.bands]
            for name in sources:
                if name not in names:
                    issues.append((("rows", i), f"the row gives no band for key '{name}'"))
            for name, (kind_, band) in row.bands:
                if name not in sources:
                    issues.append(
                        (("rows", i, name), f"'{name}' is not one of the table's keys ({', '.join(sources)})")
                    )
                elif (kind_ == "products") != (sources[name] in ID_COLUMNS):
                    want = (
                        f"a list of {sources[name]} ids"
                        if sources[name] in ID_COLUMNS
                        else "a band {min, max, over, under}"
                    )
                    issues.append((("rows", i, name), f"key '{name}' takes {want}"))
                elif kind_ == "bounds":
                    low, low_in, high, high_in = _interval(band)
                    if low > high or (low == high and not (low_in and high_in)):
                        issues.append((("rows", i, name), "the band holds no value"))
        for i, a in enumerate(self.table.rows):
            for j in range(i):
                if _rows_overlap(a, self.table.rows[j], list(sources)):
                    issues.append((("rows", i), f"overlaps row {j}: a request could fall in both"))
        return issues

    def product_refs(self) -> list[tuple[tuple, str]]:
        return self._id_refs("product")

    def indication_refs(self) -> list[tuple[tuple, str]]:
        """(where, indication id) of every id a row of an indication column lists."""
        return self._id_refs("indication")

    def _id_refs(self, source: str) -> list[tuple[tuple, str]]:
        if self.table is None:
            return []
        sources = dict(self.table.keys)
        return [
            (("table", "rows", i, name, n), pid)
            for i, row in enumerate(self.table.rows)
            for name, (kind_, band) in row.bands
            if kind_ == "products" and sources.get(name) == source
            for n, pid in enumerate(band)
        ]

    def reads_products(self) -> bool:
        return self.table is not None and "product" in dict(self.table.keys).values()

    def reads_indication(self) -> bool:
        return self.table is not None and "indication" in dict(self.table.keys).values()

    def unit_facts(self) -> list[dict]:
        body = {"none": [], "kg": ["weight"], "m2": ["weight", "height"]}[self.per]
        for _, src in self.table.keys if self.table is not None else ():
            if src in ("weight", "height") and src not in body:
                body.append(src)
        return [dose_unit_fact(self.unit), *(measure_unit_fact(m) for m in body)]

    def fields(self) -> list[str]:
        body = {"none": [], "kg": ["patient.weight"], "m2": ["patient.weight", "patient.height"]}[self.per]
        out = ["dose", *body]
        for _, src in self.table.keys if self.table is not None else ():
            if src == "indication":  # known wherever the test is decided: under its indication
                continue
            more = ["drug"] if src == "product" else [MEASURES[src][0]] if isinstance(src, str) else src.fields()
            out += [f for f in more if f not in out]
        return out

    def rego(self) -> str:
        limit: dict[str, object] = {
            "max": self.max,
            "units": measure_units(self.unit),
            "period": self.period,
            "basis": self.per,
        }
        if self.every_days is not None:
            limit["every_days"] = self.every_days
        weight = measurement_expr("weight") if self.per != "none" else regotext.value(None)
        height = measurement_expr("height") if self.per == "m2" else regotext.value(None)
        if self.table is None:
            return call("dose", fact("dose"), weight, height, regotext.value(limit))
        limit.pop("max")
        keys = [self._key_expr(src) for _, src in self.table.keys]
        rows = [
            {
                "bands": [
                    {"products": frozenset(band)} if kind_ == "products" else {"bounds": [list(b) for b in band]}
                    for kind_, band in (row.band(name) for name, _ in self.table.keys)
                ],
                "max": row.max,
                "every_days": row.every_days,
            }
            for row in self.table.rows
        ]
        return call(
            "dose_table",
            fact("dose"),
            weight,
            height,
            regotext.value(limit),
            regotext.array(keys),
            regotext.block(rows, 1),
        )

    @staticmethod
    def _key_expr(src: object) -> str:
        if src == "product":
            return call("product_key", REQUESTED_PRODUCTS)
        if src == "indication":
            return call("indication_key", CHOSEN_INDICATION)
        if isinstance(src, str):
            return call("measure_key", measurement_expr(src))
        return src.rego_call("lab_key")  # type: ignore[attr-defined]

    def describe(self) -> str:
        per = {"none": "", "kg": "/kg", "m2": "/m2 (Mosteller)"}[self.per]
        if self.table is None:
            every = "" if self.every_days is None else f", one every {_num(self.every_days)} days at the most often"
            return f"dose at most {_num(self.max or 0)} {self.unit}{per} per {self.period}{every}"
        keys = ", ".join(name for name, _ in self.table.keys)
        return f"dose at most the maximum ({self.unit}{per} per {self.period}) of the dosing table's row by {keys} ({len(self.table.rows)} rows)"

    def question_keys(self) -> list[str]:
        # the product is the order's drug (nothing to ask); a column's lab is asked per lab
        keys = [f for f in self.fields() if f not in ("drug", "labs")]
        labs = self.table.labs() if self.table is not None else []
        return [*keys, *(f"labs.{lab.name}" for lab in labs if f"labs.{lab.name}" not in keys)]

    @staticmethod
    def _column_labs(tests: Sequence[Kind]) -> tuple:
        return tuple(lab for t in tests if isinstance(t, DoseTest) and t.table is not None for lab in t.table.labs())

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        if a.key.startswith("labs.") or a.key in ("prior_therapies", "treatment.start_date"):
            # a column's lab, or what anchors it: asked as the lab test asks
            return LabTest.questions(dataclasses.replace(a, tests=cls._column_labs(a.tests)))
        if a.key != "dose":
            measure = next(m for m, (path, _, _) in MEASURES.items() if path == a.key)
            return [_measure_question(measure, a)]
        units = list(dict.fromkeys(t.unit for t in a.tests))
        choices = [{"valueCoding": {"system": UCUM_SYSTEM, "code": u, "display": u}} for u in units]
        children = [
            question("dose.amount", "Amount per dose", "decimal", required=True),
            question("dose.unit", "Unit (UCUM)", "choice", required=True, answerOption=choices, initial=[choices[0]]),
            question(
                "dose.every_days",
                "One dose every ... days (1 daily, 7 weekly)",
                "decimal",
                # required when a test reads the interval (a regimen, a daily or weekly
                # maximum, a table's labeled interval): without it none can be met
                required=any(_reads_interval(t) for t in a.tests),
            ),
            question("dose.route", "Route", "string"),
        ]
        return [
            question(
                "dose",
                f"Prescribed dose{a.scope}. {a.policy}{a.note}",
                "group",
                required=a.required,
                item=children,
                **a.enable,
            )
        ]

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        if key.startswith("labs.") or key in ("prior_therapies", "treatment.start_date"):
            LabTest.fill(key, cls._column_labs(tests), answers, request)
            return
        if key == "dose":
            for f in ("amount", "unit", "every_days", "route"):
                request.put(f"dose.{f}", answers.one(f"dose.{f}"))
            return
        _fill_measurement(key, answers, request)

    def missing_hint(self) -> str:
        return _INTERVAL_HINT if _reads_interval(self) else ""

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _interval_note(self, path, value)


def _reads_interval(test: Kind) -> bool:
    """Whether `test` reads the request's dose.every_days: a regimen always, a dose test
    when its maximum is per day or week or its table labels an interval."""
    if isinstance(test, DoseRegimenTest):
        return True
    if isinstance(test, DoseTest):
        rows = test.table.rows if test.table is not None else ()
        return test.period != "dose" or any(r.every_days is not None for r in rows)
    return False


_INTERVAL_HINT = "dose.every_days, the interval between doses (1 daily, 7 weekly), beside the amount"


def _interval_note(test: Kind, path: str, value: object) -> str:
    """explain's note on a dose given without the interval a test reads."""
    if path == "dose" and isinstance(value, dict) and value.get("every_days") is None and _reads_interval(test):
        return f" (no every_days: this test reads {_INTERVAL_HINT})"
    return ""


@kind
@dataclass(frozen=True)
class PregnancyTest(Kind):
    allowed: tuple[str, ...]

    key = "pregnancy"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["allowed"],
        "description": "the patient's pregnancy status is one of `allowed`",
        "properties": {
            "allowed": {
                "type": "array",
                "items": {"enum": ["pregnant", "not_pregnant"]},
                "minItems": 1,
                "uniqueItems": True,
            }
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "patient.pregnancy_status": {
            "enum": [*PREGNANCY_STATUSES, None],
            "description": "pregnant, not_pregnant; unknown or null = not known",
        },
    }

    def fields(self) -> list[str]:
        return ["patient.pregnancy_status"]

    def rego(self) -> str:
        return call(
            "coded",
            fact("patient.pregnancy_status"),
            regotext.value(frozenset(self.allowed)),
            regotext.value(frozenset({"pregnant", "not_pregnant"})),
        )

    def describe(self) -> str:
        return f"pregnancy status {_or(self.allowed)}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return [
            question(
                a.key,
                f"Is the patient pregnant?{a.scope} {a.policy}{a.note}",
                "choice",
                required=a.required,
                answerOption=options(a.system("pregnancy_status"), PREGNANCY_STATUSES),
                **a.enable,
            )
        ]

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        return [
            {
                "question": "patient.pregnancy_status",
                "operator": "=",
                "answerCoding": coding(system("pregnancy_status"), c),
            }
            for c in self.allowed
        ]


# --- the course of the requested therapy ------------------------------------------------

_START_DATE = "treatment.start_date"
_DURATION_OPERATORS = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least"}


@kind
@dataclass(frozen=True)
class TreatmentDurationTest(Kind):
    """How long the patient has been on the requested drug: from `treatment.start_date` to
    the date of service, compared with `months` calendar months (the day clamped to a
    shorter month's end, as approvals are) or `days` days ("therapy of 6 months or less",
    "at least 1 year of therapy", "fewer than 52 weeks")."""

    comparison: str
    months: int | None = None
    days: int | None = None

    key = "treatment_duration"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["comparison"],
        "description": "time on the requested drug (treatment.start_date to the date of service) compares with a number of calendar months or days",
        "properties": {
            "comparison": {"enum": list(_DURATION_OPERATORS)},
            "months": {"type": "integer", "minimum": 1, "maximum": 600},
            "days": {"type": "integer", "minimum": 1, "maximum": 36500},
        },
    }

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        if (self.months is None) == (self.days is None):
            return [((), "give exactly one of `months` and `days`")]
        return []

    def fields(self) -> list[str]:
        return [_START_DATE]

    def rego(self) -> str:
        rule = {"comparison": self.comparison, "months": self.months, "days": self.days}
        return call(
            "treatment_duration",
            fact(_START_DATE),
            DATE_OF_SERVICE,
            BIRTH_DAY,
            regotext.value({k: v for k, v in rule.items() if v is not None}),
        )

    def describe(self) -> str:
        span = counted(self.months, "calendar month") if self.months is not None else counted(self.days or 0, "day")
        return f"on the requested drug (since treatment.start_date) {_DURATION_OPERATORS[self.comparison]} {span} at the date of service"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return [
            question(
                a.key,
                f"Date the patient started the requested drug{a.scope}. {a.policy}{a.note}",
                "date",
                required=a.required,
                **a.enable,
            )
        ]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        if not isinstance(value, str) or date_of_service is None:
            return ""
        try:
            start = dt.date.fromisoformat(value)
        except ValueError:
            return " (not a date: never met)"
        if start > date_of_service:
            return " (after the date of service: never met)"
        return f" ({(date_of_service - start).days} days before the date of service)"


@kind
@dataclass(frozen=True)
class DoseRegimenTest(Kind):
    """The prescribed regimen (request `dose`) is one of the listed amounts, in `unit`, given
    every `every_days` days ("a maintenance dose of 10 mg or 15 mg once weekly"). An amount
    counts when, converted into `unit`, it is within a part in a million of a listed one."""

    amounts: tuple[float, ...]
    unit: str
    every_days: float

    key = "dose_regimen"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["amounts", "unit", "every_days"],
        "description": "the prescribed dose is one of the amounts, given every so many days",
        "properties": {
            "amounts": {
                "type": "array",
                "items": {"type": "number", "exclusiveMinimum": 0},
                "minItems": 1,
                "uniqueItems": True,
            },
            "unit": {
                "type": "string",
                "minLength": 1,
                "maxLength": 20,
                "description": "UCUM unit of the amounts, e.g. mg",
            },
            "every_days": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 366,
                "description": "one dose every this many days (7: once weekly)",
            },
        },
    }

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        from ..terminology import ucum

        try:
            ucum.ucum_code(self.unit)
        except ucum.UnitError as exc:
            return [(("unit",), str(exc))]
        return []

    def unit_facts(self) -> list[dict]:
        return [dose_unit_fact(self.unit)]

    def fields(self) -> list[str]:
        return ["dose"]

    def rego(self) -> str:
        regimen = {"amounts": list(self.amounts), "every_days": self.every_days, "units": measure_units(self.unit)}
        return call("dose_regimen", fact("dose"), regotext.value(regimen))

    def describe(self) -> str:
        every = (
            "once weekly"
            if self.every_days == 7
            else "once daily"
            if self.every_days == 1
            else f"every {_num(self.every_days)} days"
        )
        return f"dose of {_or([_num(x) for x in self.amounts])} {self.unit}, {every}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return DoseTest.questions(a)

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        DoseTest.fill(key, tests, answers, request)

    def missing_hint(self) -> str:
        return _INTERVAL_HINT

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _interval_note(self, path, value)


@kind
@dataclass(frozen=True)
class TherapyReceivedTest(Kind):
    """Months of the requested therapy the patient has already received, within bounds:
    "has already received at least 6 months of therapy" (a renewal's time on drug), "has not
    exceeded 24 months of cumulative use". Reads `therapy.months_received`, the fact a
    lifetime cap counts against (docs/semantics.md, "Durations")."""

    min_months: int | None = None
    max_months: int | None = None

    key = "therapy_received"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "description": "the months of the requested therapy already received (therapy.months_received) are within the bounds",
        "properties": {
            "min_months": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1200,
                "description": "at least this many months received",
            },
            "max_months": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1200,
                "description": "at most this many months received",
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "therapy.months_received": {
            "type": "integer",
            "minimum": 0,
            "description": "months of this therapy already received (counts against a lifetime cap; read by therapy_received criteria)",
        },
    }

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        if self.min_months is not None and self.max_months is not None and self.min_months > self.max_months:
            return [(("min_months",), f"min_months {self.min_months} is above max_months {self.max_months}")]
        return []

    def fields(self) -> list[str]:
        return ["therapy.months_received"]

    def rego(self) -> str:
        return call(
            "therapy_received",
            fact("therapy.months_received"),
            regotext.value(self.min_months),
            regotext.value(self.max_months),
        )

    def describe(self) -> str:
        bounds = []
        if self.min_months is not None:
            bounds.append(f"at least {self.min_months}")
        if self.max_months is not None:
            bounds.append(f"at most {self.max_months}")
        return f"months of the therapy already received {' and '.join(bounds)}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return [
            question(
                a.key,
                f"Months of this therapy the patient has already received{a.scope}. {a.policy}{a.note}",
                "integer",
                required=a.required,
                **a.enable,
            )
        ]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
            return " (not a whole number of months: never met)"
        return ""


# --- what a reviewer decides ------------------------------------------------------------

REVIEW_REASONS = ("not_seen", "judgment")


@kind
@dataclass(frozen=True)
class ReviewTest(Kind):
    """A criterion the engine never decides: a reviewer does. `not_seen`: the policy states
    more criteria than the encoding saw (its public copy is cut off), so a request that
    meets every criterion seen is never approved on the ones not seen, nor denied on them:
    it pends, with this criterion in `missing` (no request field can decide it). `judgment`:
    the encoding saw the criterion, but it turns on something no request field carries (a
    dose relative to the one before it, an approval end set by a date still to come), so a
    reviewer decides it the same way."""

    reason: str

    key = "review"
    schema: ClassVar[dict] = {
        "enum": list(REVIEW_REASONS),
        "description": (
            "never met or unmet: a reviewer decides it (not_seen: criteria of the policy the encoding"
            " did not see; judgment: a criterion seen that no request field can decide); a request"
            " it stands before pends"
        ),
    }

    @classmethod
    def parse(cls, data: Any) -> ReviewTest:
        return cls(data)

    def dump(self) -> object:
        return self.reason

    def fields(self) -> list[str]:
        return []

    def rego(self) -> str:
        return call("review", regotext.value(self.reason))

    def describe(self) -> str:
        if self.reason == "judgment":
            return "decided by a reviewer, never by the engine (no request field can decide it)"
        return "decided by a reviewer, never by the engine (policy text not seen by this encoding)"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return []
