"""The typed model of a policy spec. Loaded once, read by everything downstream, never mutated."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

# The kinds over clinical facts register themselves in the registry when imported.
from . import kinds_clinical as kinds_clinical

# The leaf tests: one class per kind, each declared in the registry (kinds.py). The first
# ten are re-exported here under their old names; code names a kind as kinds.<Class>.
from .kinds import (
    KINDS,
    Kind,
)
from .kinds import (
    AgeTest as AgeTest,
)
from .kinds import (
    AttestationTest as AttestationTest,
)
from .kinds import (
    BiomarkerTest as BiomarkerTest,
)
from .kinds import (
    ClinicalStatusTest as ClinicalStatusTest,
)
from .kinds import (
    ConcurrentTherapyTest as ConcurrentTherapyTest,
)
from .kinds import (
    DiagnosisTest as DiagnosisTest,
)
from .kinds import (
    LabTest as LabTest,
)
from .kinds import (
    PriorTherapyTest as PriorTherapyTest,
)
from .kinds import (
    ProductTest as ProductTest,
)
from .kinds import (
    QuantityLimitTest as QuantityLimitTest,
)
from .kinds import (
    SpecialtyTest as SpecialtyTest,
)

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


@dataclass(frozen=True)
class Negation:
    """`not: <criterion>`: met when the criterion is unmet and unmet when it is met; unknown
    and invalid stay as they are (docs/semantics.md, "Combinators")."""

    child: str


Test = Kind
Combinator = AllOf | AnyOf | AtLeast | Conditional | Negation

# The YAML key of each test kind, in the order the README documents them (the registry).
TEST_KINDS: dict[str, type[Kind]] = KINDS
# The YAML key of each combinator (a conditional is written `when` + `then`).
COMBINATOR_KINDS: dict[type, str] = {
    AllOf: "all_of",
    AnyOf: "any_of",
    AtLeast: "at_least",
    Conditional: "when",
    Negation: "not",
}

# The closed list of document types a request's `documents` entries carry and a criterion's
# `documentation` may require (docs/semantics.md, "Documentation required"). `other` is a
# document of none of these types: a request may carry one, a spec cannot require it.
DOCUMENT_TYPES = (
    "chart_notes",
    "lab_report",
    "pathology_report",
    "imaging_report",
    "genetic_test_report",
    "medication_history",
    "consultation_note",
    "procedure_note",
    "letter_of_medical_necessity",
    "other",
)


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    test: Test | Combinator
    note: str | None = None
    question: str | None = None  # how the questionnaire asks for its fact (the document's words)
    # Document types (DOCUMENT_TYPES) any of which, referenced by the request, must support
    # this leaf's fact; empty: none required.
    documentation: tuple[str, ...] = ()

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
        if isinstance(t, Negation):
            return (t.child,)
        if isinstance(t, AllOf | AnyOf | AtLeast):
            return t.children
        return ()


# The request types a request may name (docs/semantics.md, "The request envelope").
REQUEST_TYPES = ("initial", "renewal", "continuation", "new_to_plan", "restart")

# What a policy does with a request for an indication it does not list
# (docs/semantics.md, "Indications").
OTHER_INDICATION_OUTCOMES = ("investigational", "not_covered", "pend_for_review")


@dataclass(frozen=True)
class Duration:
    """How long an approval lasts (docs/semantics.md, "Durations").

    months: calendar months from the date of service (the day clamped to a shorter month's
    end); weeks: 7-day weeks from the date of service (a policy's "16 weeks"); plan_year_start:
    "MM-DD", the first day of the plan (contract) year: the approval ends on the last day of
    the plan year the date of service falls in. Exactly one is set (a cap goes with months or
    the plan year, never with weeks).
    lifetime_cap_months: a cumulative cap on months of therapy; the approval ends when the
    request's `therapy.months_received` plus the approval reaches it.
    """

    months: int | None = None
    plan_year_start: str | None = None
    lifetime_cap_months: int | None = None
    weeks: int | None = None

    def as_data(self) -> dict:
        """The duration as the generated Rego and the spec write it."""
        out: dict = {}
        if self.months is not None:
            out["months"] = self.months
        if self.weeks is not None:
            out["weeks"] = self.weeks
        if self.plan_year_start is not None:
            out["plan_year_start"] = self.plan_year_start
        if self.lifetime_cap_months is not None:
            out["lifetime_cap_months"] = self.lifetime_cap_months
        return out


@dataclass(frozen=True)
class Indication:
    """One covered indication of a requirement set: its id, the policy's heading, the
    diagnosis criterion that selects it (its ICD-10-CM codes gate the request), its own
    criteria (all of them, beside the set's common ones) and its own duration (None: the
    set's)."""

    id: str
    heading: str
    diagnosis: str
    all_of: tuple[str, ...] = ()
    duration: Duration | None = None
    # Durations by branch: (criterion id, duration), the first whose criterion is met wins.
    duration_when: tuple[tuple[str, Duration], ...] = ()


@dataclass(frozen=True)
class RequirementSet:
    name: str  # the set's key: initial | renewal | any lower_snake_case name
    title: str
    duration_months: int | None
    root: AllOf | AnyOf | AtLeast
    # The request types this set decides (default: the set's own name).
    applies_to: tuple[str, ...] = ()
    indications: tuple[Indication, ...] = ()
    duration: Duration | None = None

    @property
    def request_types(self) -> tuple[str, ...]:
        return self.applies_to or (self.name,)

    @property
    def default_duration(self) -> Duration | None:
        if self.duration is not None:
            return self.duration
        if self.duration_months is not None:
            return Duration(months=self.duration_months)
        return None

    def indication(self, iid: str) -> Indication | None:
        return next((i for i in self.indications if i.id == iid), None)

    def indication_root(self, ind: Indication) -> AllOf:
        """The root an indication is decided by: the set's common criteria, the
        indication's diagnosis, then its own criteria (each once, in that order)."""
        ids = dict.fromkeys((*self.root.children, ind.diagnosis, *ind.all_of))
        return AllOf(tuple(ids))

    def duration_of(self, ind: Indication | None) -> Duration | None:
        """The indication's duration, else the set's; None when the policy states none (the
        approval then has no end date)."""
        return (ind.duration if ind is not None else None) or self.default_duration


@dataclass(frozen=True)
class ValueSet:
    id: str
    description: str
    agents: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Product:
    """One product a policy covers (brand, biosimilar or generic) and the identifiers that
    route a request to it: names (brand and generic; compared case-insensitively, trademark
    signs ignored), HCPCS codes, NDCs (11-digit 5-4-2), strengths and routes (as written)."""

    id: str
    name: str
    kind: str = "brand"  # brand | biosimilar | generic
    generic: str | None = None
    hcpcs: tuple[str, ...] = ()
    ndc: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drug:
    brand: str
    generic: str | None = None
    description: str | None = None
    hcpcs: tuple[str, ...] = ()
    ndc: tuple[str, ...] = ()
    # Several products under one policy (biosimilars, strengths, routes); empty: the policy's
    # one product is the drug itself.
    products: tuple[Product, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    date: str
    action: str


@dataclass(frozen=True)
class OtherIndications:
    """What the policy does with a request outside every indication it lists:
    investigational (quoting `statement`, the policy's sentence), not_covered, or
    pend_for_review (e.g. for compendia-supported uses). `statement` is the policy's own
    sentence when it has one, never invented."""

    outcome: str = "not_covered"
    statement: str | None = None


@dataclass(frozen=True)
class Coverage:
    """The policy statement. The single-indication form names its indication criterion
    (`indication`); a request that fails it is for another use, which is investigational
    (quoting `investigational`) unless `other_indications` says not_covered or
    pend_for_review (docs/semantics.md, "Other indications")."""

    medically_necessary: str | None = None
    investigational: str | None = None
    # The single-indication form: the criterion that defines the covered indication.
    indication: str | None = None
    applies_to: str | None = None
    other_indications: OtherIndications | None = None


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
    # The plan id a request names to reach this policy when several payers cover one drug.
    plan: str | None = None
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
    earlier_versions: tuple[PolicySpec, ...] = ()
    version_note: str | None = None
    package_suffix: str = ""  # "" for the current version, "_vYYYY_MM_DD" for earlier ones
    source: str = field(default="", compare=False)
    # The loader's key for the file this spec came from (rxrego.spec.cache.key of its bytes,
    # its path and the generator); "" for a spec built in memory. Derived data may be cached
    # under it (rxrego.catalog).
    source_digest: str = field(default="", compare=False, repr=False)

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
    def versions(self) -> tuple[PolicySpec, ...]:
        """This version and the earlier ones, newest first."""
        return (self, *self.earlier_versions)

    def criterion(self, cid: str) -> Criterion:
        return self._by_id[cid]

    @functools.cached_property
    def _by_id(self) -> dict[str, Criterion]:
        # Built once per spec object (a frozen dataclass: the criteria never change).
        return {c.id: c for c in self.criteria}

    def requirement_set(self, name: str) -> RequirementSet | None:
        return next((r for r in self.requirements if r.name == name), None)

    def set_for(self, request_type: str) -> RequirementSet | None:
        """The requirement set that decides requests of this type (None: the policy has none)."""
        return next((r for r in self.requirements if request_type in r.request_types), None)

    @property
    def has_indications(self) -> bool:
        """Whether the policy is written with indications (the model of docs/semantics.md,
        "Indications"); otherwise it is the single-indication form with coverage.indication."""
        return any(r.indications for r in self.requirements)

    @property
    def products(self) -> tuple[Product, ...]:
        """The policy's products; a policy that lists none has one, the drug itself."""
        if self.drug.products:
            return self.drug.products
        d = self.drug
        return (Product(package_segment(d.brand), d.brand, "brand", d.generic, d.hcpcs, d.ndc),)

    def product_names(self, product: Product) -> tuple[str, ...]:
        """The names that route a request to `product` (docs/semantics.md, "The request
        envelope"): its own brand and generic names and, on a policy that lists products, the
        drug's brand and generic names where no product carries them, which then name every
        product (a request naming only these leaves the product undetermined when the policy
        lists several). A drug name a product carries names that product (the more specific
        reading). Names are compared trimmed and case-insensitively."""
        names = [product.name, product.generic]
        if self.drug.products:
            carried = {n.strip().casefold() for p in self.drug.products for n in (p.name, p.generic) if n}
            names += [n for n in (self.drug.brand, self.drug.generic) if n and n.strip().casefold() not in carried]
        return tuple(dict.fromkeys(n for n in names if n))

    def value_set(self, vid: str) -> ValueSet:
        return next(v for v in self.value_sets if v.id == vid)


def package_segment(policy_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", policy_id.lower()).strip("_")


OTHER_USE_DEFAULT = "The diagnosis is not the indication the policy covers: {}."


def other_use_text(spec: PolicySpec) -> str:
    """What a single-indication policy's `not_covered` denial or `pend_for_review` pend
    quotes for a request that fails its indication criterion: the policy's own sentence
    (coverage.other_indications.statement), else one naming the criterion's text (never an
    invented statement of the policy). docs/semantics.md, "Other indications"."""
    other = spec.coverage.other_indications
    if other is not None and other.statement:
        return other.statement
    indication = spec.coverage.indication
    return OTHER_USE_DEFAULT.format(spec.criterion(indication).text if indication else "none")
