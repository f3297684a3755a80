"""The typed model of a policy spec. Loaded once, read by everything downstream, never mutated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

# --- tests (leaf criteria) -------------------------------------------------------------


@dataclass(frozen=True)
class AgeTest:
    min_years: int | None = None
    max_years: int | None = None


@dataclass(frozen=True)
class DiagnosisTest:
    icd10: tuple[str, ...]
    qualifiers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    biomarkers: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class BiomarkerTest:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class PriorTherapyTest:
    value_set: str
    at_least: int = 1
    results: tuple[str, ...] = ("failed",)


@dataclass(frozen=True)
class AttestationTest:
    name: str


@dataclass(frozen=True)
class ClinicalStatusTest:
    name: str
    required: bool


@dataclass(frozen=True)
class LabTest:
    name: str
    comparison: str
    value: float
    unit: str
    within_days: int | None = None


@dataclass(frozen=True)
class SpecialtyTest:
    specialties: tuple[str, ...]


@dataclass(frozen=True)
class ConcurrentTherapyTest:
    value_set: str


@dataclass(frozen=True)
class QuantityLimitTest:
    max_units: float
    per_days: int


# --- combinators ----------------------------------------------------------------------


@dataclass(frozen=True)
class AllOf:
    children: tuple[str, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[str, ...]


@dataclass(frozen=True)
class AtLeast:
    n: int
    children: tuple[str, ...]


@dataclass(frozen=True)
class Conditional:
    """Met when `when` (all of) is unmet; otherwise takes the value of `then` (all of)."""

    when: tuple[str, ...]
    then: tuple[str, ...]


Test = Union[
    AgeTest,
    DiagnosisTest,
    BiomarkerTest,
    PriorTherapyTest,
    AttestationTest,
    ClinicalStatusTest,
    LabTest,
    SpecialtyTest,
    ConcurrentTherapyTest,
    QuantityLimitTest,
]
Combinator = Union[AllOf, AnyOf, AtLeast, Conditional]

# The YAML key of each test kind, in the order the README documents them.
TEST_KINDS: dict[str, type] = {
    "age": AgeTest,
    "diagnosis": DiagnosisTest,
    "biomarker": BiomarkerTest,
    "prior_therapy": PriorTherapyTest,
    "attestation": AttestationTest,
    "clinical_status": ClinicalStatusTest,
    "lab": LabTest,
    "prescriber_specialty": SpecialtyTest,
    "concurrent_therapy_excluded": ConcurrentTherapyTest,
    "quantity_limit": QuantityLimitTest,
}
# The YAML key of each combinator (a conditional is written `when` + `then`).
COMBINATOR_KINDS: dict[type, str] = {AllOf: "all_of", AnyOf: "any_of", AtLeast: "at_least", Conditional: "when"}


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    test: Test | Combinator
    note: str | None = None

    @property
    def kind(self) -> str:
        for key, cls in TEST_KINDS.items():
            if isinstance(self.test, cls):
                return key
        return COMBINATOR_KINDS[type(self.test)]

    @property
    def is_leaf(self) -> bool:
        return not isinstance(self.test, AllOf | AnyOf | AtLeast | Conditional)

    @property
    def children(self) -> tuple[str, ...]:
        """Every criterion id this one refers to (for a conditional: `when` then `then`)."""
        t = self.test
        if isinstance(t, Conditional):
            return t.when + t.then
        if isinstance(t, AllOf | AnyOf | AtLeast):
            return t.children
        return ()


@dataclass(frozen=True)
class RequirementSet:
    name: str  # initial | renewal
    title: str
    duration_months: int
    root: AllOf | AnyOf | AtLeast


@dataclass(frozen=True)
class ValueSet:
    id: str
    description: str
    agents: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drug:
    brand: str
    generic: str | None = None
    description: str | None = None
    hcpcs: tuple[str, ...] = ()
    ndc: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    date: str
    action: str


@dataclass(frozen=True)
class Coverage:
    medically_necessary: str
    investigational: str
    indication: str
    applies_to: str | None = None


@dataclass(frozen=True)
class CoverageWaiver:
    criterion: str
    status: str
    reason: str


@dataclass(frozen=True)
class Limits:
    pre_pa_allowance: str | None = None
    quantity: str | None = None


@dataclass(frozen=True)
class PolicySpec:
    id: str
    number: str
    title: str
    section: str
    effective_date: str
    drug: Drug
    coverage: Coverage
    criteria: tuple[Criterion, ...]
    requirements: tuple[RequirementSet, ...]
    value_sets: tuple[ValueSet, ...] = ()
    subsection: str | None = None
    payer: str | None = None
    example: bool = False
    original_policy_date: str | None = None
    last_review_date: str | None = None
    description: str | None = None
    background: str | None = None
    related_policies: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    limits: Limits = field(default_factory=Limits)
    coverage_waivers: tuple[CoverageWaiver, ...] = ()
    # Earlier versions, newest first: each a whole PolicySpec with its own effective_date
    # (sections it did not give are the newer version's). Empty on an earlier version itself.
    earlier_versions: tuple["PolicySpec", ...] = ()
    version_note: str | None = None
    package_suffix: str = ""  # "" for the current version, "_vYYYY_MM_DD" for earlier ones
    source: str = field(default="", compare=False)

    # --- derived views (computed, never stored) ---

    @property
    def package(self) -> str:
        """The Rego package segment under rxrego.policies."""
        return package_segment(self.id)

    @property
    def module_package(self) -> str:
        """The Rego package segment of this version's module."""
        return self.package + self.package_suffix

    @property
    def versions(self) -> tuple["PolicySpec", ...]:
        """This version and the earlier ones, newest first."""
        return (self, *self.earlier_versions)

    def criterion(self, cid: str) -> Criterion:
        return self._by_id[cid]

    @property
    def _by_id(self) -> dict[str, Criterion]:
        return {c.id: c for c in self.criteria}

    def requirement_set(self, name: str) -> RequirementSet | None:
        return next((r for r in self.requirements if r.name == name), None)

    def value_set(self, vid: str) -> ValueSet:
        return next(v for v in self.value_sets if v.id == vid)


def package_segment(policy_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", policy_id.lower()).strip("_")

