"""`rxrego new`: a spec skeleton that teaches each section, and its golden-case file.

The spec has an age criterion and the diagnosis in both requirement sets (so no request
without a patient or a diagnosis can be approved), the case file one case (a diagnosis
outside the indication is denied as investigational) that stays true as the author fills in
the real criteria. Every TODO left in a value is a placeholder that `rxrego check` (and
`rxrego conformance`, for the case file) reports until it is replaced from the document;
TODOs in comments are only advice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .common import InputError

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*(\.[0-9a-z]+)*$")
HCPCS_PATTERN = re.compile(r"^[A-Z][0-9]{4}$")


@dataclass(frozen=True)
class Skeleton:
    spec_path: Path
    cases_path: Path
    spec_text: str
    cases_text: str


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def paths_for(
    policy_id: str, title: str | None, spec_dir: Path, cases_dir: Path, payer: str | None = None
) -> tuple[Path, Path]:
    """fep-5.21.200 + 'Blincyto' -> <dir>/fep/5.21.200-blincyto.yaml and
    <cases>/fep/5.21.200-blincyto.cases.yaml (the layout of policy_source/ and conformance/).

    The folder is the payer: `payer` when given, else the id's part before the first dash
    (an id without one needs `payer`: a spec never lands loose at the top of the folder).
    The file is the rest of the id, then the title's slug unless the id already says it
    (acme-wegovy + 'Wegovy' -> acme/wegovy.yaml, not wegovy-wegovy.yaml)."""
    prefix, sep, rest = policy_id.partition("-")
    if payer:
        folder, stem = payer, (rest if sep and rest and prefix == payer else policy_id)
    elif sep and rest:
        folder, stem = prefix, rest
    else:
        raise InputError(
            f"which payer is {policy_id!r} for? Ids start with the payer (fep-5.21.200, acme-{policy_id}), "
            "which names the folder; or give the folder with --payer"
        )
    slug, said = (_slug(title) if title else ""), _slug(stem)
    if slug.startswith(said + "-"):
        stem += slug[len(said) :]  # wegovy + 'Wegovy 2.4 mg' -> wegovy-2-4-mg
    elif slug and slug not in said.split("-") and not said.endswith(slug):
        stem = f"{stem}-{slug}"
    return spec_dir / folder / f"{stem}.yaml", cases_dir / folder / f"{stem}.cases.yaml"


def _schema_ref(target_dir: Path, schema: str) -> str:
    schemas = Path(str(resources.files("rxrego.schemas")))
    return Path(os.path.relpath(schemas / schema, target_dir.resolve())).as_posix()


PAYER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def normalise_hcpcs(code: str | None) -> str | None:
    """`code` as the spec writes it: spaces trimmed, upper case (HCPCS Level II codes are a
    capital letter and four digits; the router upper-cases the request's code too)."""
    return code.strip().upper() if isinstance(code, str) else code


def build(
    policy_id: str,
    *,
    title: str | None,
    hcpcs: str | None,
    spec_dir: Path,
    cases_dir: Path,
    payer: str | None = None,
    today: dt.date | None = None,
) -> Skeleton:
    """The skeleton's two files (not yet written). Its TODO placeholders make `rxrego check`
    fail until the author has replaced each from the policy document. InputError for a bad
    id, HCPCS code, title or payer folder. A HCPCS code is taken in any case (j9039 is
    J9039: requests are routed by it upper-cased)."""
    hcpcs = normalise_hcpcs(hcpcs)
    if not ID_PATTERN.match(policy_id) or len(policy_id) > 64:
        raise InputError(
            f"invalid policy id {policy_id!r}: use lower case letters, digits, '-' and '.', starting with a letter "
            "(e.g. fep-5.21.200), at most 64 characters"
        )
    if hcpcs is not None and not HCPCS_PATTERN.match(hcpcs):
        raise InputError(f"invalid --hcpcs {hcpcs!r}: a HCPCS code is a letter and four digits, e.g. J9229")
    if title is not None and not title.strip():
        raise InputError("--title must not be empty")
    if payer is not None and not PAYER_PATTERN.match(payer):
        raise InputError(f"invalid --payer {payer!r}: a folder name in lower case letters, digits and '_', e.g. fep")
    brand = title.strip() if title else f"TODO drug of {policy_id}"
    number = policy_id.partition("-")[2] or policy_id
    effective = (today or dt.date.today()).isoformat()
    spec_path, cases_path = paths_for(policy_id, title, spec_dir, cases_dir, payer)
    drug_route = f"hcpcs: {hcpcs}" if hcpcs else f"name: {_q(brand)}"
    hcpcs_line = (
        f"  hcpcs: [{hcpcs}]" if hcpcs else "  # hcpcs: [J0000]           # HCPCS codes (exact match), e.g. J9229"
    )

    spec_text = f"""# yaml-language-server: $schema={_schema_ref(spec_path.parent, "policy-spec.schema.json")}
#
# {policy_id}: a new policy spec written by `rxrego new`. Replace each TODO with the document's
# own words; where the document is ambiguous, say what you chose in a comment or a `note`.
# After each edit run `rxrego check` (every mistake, with file:line:column), then
# `rxrego generate` and the golden cases: `rxrego conformance --policy {policy_id}`.
# `rxrego render {spec_path.name} --format html -o review.html` shows it laid out as a document.
# Reference: README.md "The spec format"; the decision rules: docs/semantics.md.
schema_version: 1

# --- identity: who publishes it, its number, subject and dates ---------------------------------
# The id is stable: the Rego package (rxrego.policies.<id with _>) and every decision name it.
id: {policy_id}
number: {_q(number)}
title: {_q(brand)}             # the document's Subject
# payer: TODO the payer, e.g. Blue Cross Blue Shield Association, Federal Employee Program
section: TODO section, e.g. Prescription Drugs
# subsection: TODO e.g. Antineoplastic Agents
effective_date: {effective}        # TODO the date this version takes effect (YYYY-MM-DD)
# original_policy_date: YYYY-MM-DD
# last_review_date: YYYY-MM-DD

# --- the drug: requests are routed here by HCPCS code, NDC or brand / generic name ---------------
# Each code and name must belong to one policy only (`rxrego check` reports a clash).
drug:
  brand: {_q(brand)}
  # generic: TODO generic name
{hcpcs_line}
  # ndc: [12345-6789-01]      # 11-digit NDCs, 5-4-2 with hyphens

# --- the document's prose (rendered by `rxrego render`, not used in decisions) -------------------
# description: TODO
# background: >-
#   TODO
# related_policies: [TODO]
# references:
#   - "TODO"
# history:                    # the Policy History table: date YYYY-MM or YYYY-MM-DD, action
#   - {{date: {effective[:7]}, action: Addition to PA}}

# --- the policy statement: quoted word for word --------------------------------------------------
coverage:
  medically_necessary: {_q(brand + " may be considered medically necessary if the conditions indicated below are met.")}
  # Quoted when a request is outside the covered indication (denied as investigational).
  investigational: {_q(brand + " may be considered investigational for all other indications.")}
  # The criterion that defines the covered indication: unmet -> investigational.
  indication: diagnosis

# --- value sets: named agents / classes that prior_therapy and concurrent_therapy_excluded use ----
# value_sets:
#   tyrosine_kinase_inhibitors:
#     description: TODO where the list comes from
#     agents: [imatinib, dasatinib]          # case is ignored
#     classes: [tyrosine_kinase_inhibitor]   # as requests name them

# --- criteria: defined once, referred to by id from the requirement sets ------------------------
# Each has `text` (the document's wording; a denial quotes it), an optional `note` (why it is
# written so) and exactly ONE test:
#   age {{min_years, max_years}}            diagnosis {{icd10, qualifiers, biomarkers}}
#   biomarker {{name, values}}              prior_therapy {{value_set, at_least, results}}
#   attestation: name                     clinical_status {{name, required}}
#   lab {{name, comparison, value, unit, within_days}}   prescriber_specialty: [..]
#   concurrent_therapy_excluded {{value_set}}            quantity_limit {{max_units, per_days}}
# or a combinator over other criteria: all_of: [ids], any_of: [ids], at_least: {{n, of: [ids]}},
# or a conditional: when: [ids] + then: [ids] ("If ..., patient must ...").
criteria:
  age:
    text: TODO the age requirement, in the document's words (e.g. Age 18 years of age or older)
    age: {{min_years: 18}}      # TODO the document's bound(s): min_years, max_years
  diagnosis:
    text: TODO the covered diagnosis, in the document's words
    note: TODO which ICD-10-CM codes and qualifiers stand for it, and why
    diagnosis:
      icd10: [TODO]             # ICD-10-CM code prefixes, e.g. C91.0 (dots and case ignored)
      # qualifiers: {{lineage: [b_cell_precursor], disease_status: [relapsed, refractory]}}
      # biomarkers: {{CD22: [positive]}}
  no_disease_progression:
    text: NO disease progression
    clinical_status: {{name: disease_progression, required: false}}

# --- requirement sets: the document's Prior-Approval (and Renewal) Requirements ----------------
# Each: the heading, the approval duration (the document's Limits) and all_of / any_of /
# at_least over criterion ids. A document that repeats a criterion in both sets refers to the
# same id twice.
requirements:
  initial:
    title: Prior-Approval Requirements
    duration_months: 3          # the document's "Prior - Approval Limits: Duration N months"
    all_of: [age, diagnosis]    # add the other criteria, in the document's order
  renewal:                      # delete if the document has no renewal requirements
    title: Prior-Approval Renewal Requirements
    duration_months: 12         # the document's "Prior - Approval Renewal Limits"
    all_of: [age, diagnosis, no_disease_progression]   # as the document repeats them

limits:
  pre_pa_allowance: None        # TODO as the document says
  # quantity: TODO e.g. 60 tablets per 30 days
"""

    cases_text = f"""# yaml-language-server: $schema={_schema_ref(cases_path.parent, "conformance-cases.schema.json")}
#
# Golden decisions for {policy_id}, written from the policy document (not from the spec): each
# case says what the document decides for one request. `expect` is a subset of the decision.
# `rxrego conformance --policy {policy_id}` runs them on OPA and lists, per criterion, which of
# met / unmet / unknown no case has shown yet: write cases until it is green (or waive a status
# with a written reason under `waivers:`).
policy: {policy_id}

bases:
  # TODO an approvable request: every criterion met. Cases start from it and change one thing.
  typical:
    request_type: initial
    date_of_service: {effective}
    patient: {{birth_date: 1980-03-20}}
    drug: {{{drug_route}}}
    diagnoses: [{{code: TODO}}]
    prescriber: {{attestations: {{}}}}

cases:
  # Holds for the skeleton and keeps holding as the criteria are filled in: a diagnosis outside
  # the covered indication is denied as investigational, quoting the policy.
  - name: other-diagnosis-investigational
    proves: a diagnosis outside the covered indication is denied as investigational
    base: typical
    set: {{diagnoses: [{{code: Z00.00}}]}}
    expect: {{outcome: denied, reason: investigational, policy: {{id: {policy_id}}}}}
  # TODO: an approval from `typical`; each criterion unmet and unknown (absent); the boundaries
  # (a birthday, a lab threshold); a renewal.
"""
    return Skeleton(spec_path, cases_path, spec_text, cases_text)


def write(sk: Skeleton) -> None:
    """Write both files, refusing to overwrite either (nothing is written if one exists)."""
    existing = [p for p in (sk.spec_path, sk.cases_path) if p.exists()]
    if existing:
        raise InputError(f"refusing to overwrite {', '.join(map(str, existing))}; choose another id or remove the file")
    for path, text in ((sk.spec_path, sk.spec_text), (sk.cases_path, sk.cases_text)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as f:  # "x": fail rather than overwrite in a race
            f.write(text)
