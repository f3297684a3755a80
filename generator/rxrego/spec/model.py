"""The typed model of a policy spec. Loaded once, read by everything downstream, never mutated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

# The leaf tests: one class per kind, each declared in the registry (kinds.py). The first
# ten are re-exported here under their old names; code names a kind as kinds.<Class>.
from .kinds import (
    KINDS,
    AgeTest as AgeTest,
    AttestationTest as AttestationTest,
    BiomarkerTest as BiomarkerTest,
    ClinicalStatusTest as ClinicalStatusTest,
    ConcurrentTherapyTest as ConcurrentTherapyTest,
    DiagnosisTest as DiagnosisTest,
    Kind,
    LabTest as LabTest,
    PriorTherapyTest as PriorTherapyTest,
    QuantityLimitTest as QuantityLimitTest,
    SpecialtyTest as SpecialtyTest,
)

# The kinds over clinical facts register themselves in the registry when imported.
from . import kinds_clinical as kinds_clinical  # noqa: E402

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


Test = Kind
Combinator = Union[AllOf, AnyOf, AtLeast, Conditional]

# The YAML key of each test kind, in the order the README documents them (the registry).
TEST_KINDS: dict[str, type[Kind]] = KINDS
# The YAML key of each combinator (a conditional is written `when` + `then`).
COMBINATOR_KINDS: dict[type, str] = {AllOf: "all_of", AnyOf: "any_of", AtLeast: "at_least", Conditional: "when"}


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    test: Test | Combinator
    note: str | None = None
    question: str | None = None  # how the questionnaire asks for its fact (the document's words)

    @property
    def kind(self) -> str:
        """The YAML key of its test: a kind's or a combinator's."""
        if isinstance(self.test, Kind):
            return self.test.key
        return COMBINATOR_KINDS[type(self.test)]

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.test, Kind)

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

