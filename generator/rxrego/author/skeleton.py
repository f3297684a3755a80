"""`rxrego new`: a spec skeleton that teaches each section, and its golden-case file.

The spec has an age criterion and the diagnosis in both requirement sets (so no request
without a patient or a diagnosis can be approved), the case file one case (a diagnosis
outside the indication is decided as the policy says of other uses) that stays true as the
author fills in the real criteria. Every value the document must give (effective date,
durations, headings, statements, the criteria) is a TODO placeholder that `rxrego check`
(and `rxrego conformance`, `bundle` and `run`, for the case file) reports, saying what to
write, until it is replaced from the document; the skeleton invents no date, duration or
statement. Comments only teach the form.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..terminology.hcpcs import unclassified
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


def split_id(policy_id: str, spec_dir: Path, payer: str | None = None) -> tuple[str, str]:
    """(payer folder, the rest of the id) for `policy_id`.

    The folder is `payer` when given (the id's rest is what follows `payer-`, else the whole
    id); else the longest dash-separated head of the id that is already a folder under
    `spec_dir` (mn-dhs-bylvay -> mn-dhs, bylvay when policy_source/mn-dhs/ exists); else the
    id's part before the first dash (fep-5.21.200 -> fep, 5.21.200). InputError for an id
    with no dash and no `payer`: a spec never lands loose at the top of the folder."""
    if payer:
        rest = policy_id[len(payer) + 1 :] if policy_id.startswith(payer + "-") else ""
        return payer, rest or policy_id
    parts = policy_id.split("-")
    for n in range(len(parts) - 1, 0, -1):
        head = "-".join(parts[:n])
        if (spec_dir / head).is_dir():
            return head, "-".join(parts[n:])
    if len(parts) > 1 and parts[1]:
        return parts[0], "-".join(parts[1:])
    raise InputError(
        f"which payer is {policy_id!r} for? Ids start with the payer (fep-5.21.200, acme-{policy_id}), "
        "which names the folder; or give the folder with --payer"
    )


def paths_for(
    policy_id: str, title: str | None, spec_dir: Path, cases_dir: Path, payer: str | None = None
) -> tuple[Path, Path]:
    """fep-5.21.200 + 'Blincyto' -> <dir>/fep/5.21.200-blincyto.yaml and
    <cases>/fep/5.21.200-blincyto.cases.yaml (the layout of policy_source/ and conformance/).

    The folder and the file's stem are split_id's. The file is the stem, then the title's
    slug unless the stem already says it (acme-wegovy + 'Wegovy' -> acme/wegovy.yaml, not
    wegovy-wegovy.yaml)."""
    folder, stem = split_id(policy_id, spec_dir, payer)
    slug, said = (_slug(title) if title else ""), _slug(stem)
    if slug.startswith(said + "-"):
        stem += slug[len(said) :]  # wegovy + 'Wegovy 2.4 mg' -> wegovy-2-4-mg
    elif slug and slug not in said.split("-") and not said.endswith(slug):
        stem = f"{stem}-{slug}"
    return spec_dir / folder / f"{stem}.yaml", cases_dir / folder / f"{stem}.cases.yaml"


def cheat_sheet(width: int = 96) -> str:
    """The criterion test kinds as comment lines, generated from the registry
    (rxrego.spec.kinds.KINDS, kinds_clinical's included) so the skeleton lists every kind the
    language has: `key {fields}` for a kind written as a mapping, `key: [..]` for a list,
    `key: name` for a name; then the combinators and the criterion's optional parts."""
    from ..spec import model  # noqa: F401  (imports every module that registers kinds)
    from ..spec.kinds import KINDS

    def form(key: str, schema: dict) -> str:
        if schema.get("type") == "array":
            return f"{key}: [..]"
        if schema.get("type") == "string":
            return f"{key}: name"
        return f"{key} {{{', '.join(schema.get('properties', {}))}}}"

    def wrap(items: list[str], indent: str = "#   ") -> list[str]:
        lines, line = [], indent
        for item in items:
            if len(line) + len(item) > width and line != indent:
                lines.append(line.rstrip())
                line = indent
            if len(line) + len(item) > width:  # one kind with many fields: its own lines
                for word in item.split(" "):
                    if len(line) + len(word) > width:
                        lines.append(line.rstrip())
                        line = indent + "    "
                    line += word + " "
                lines.append(line.rstrip())
                line = indent
                continue
            line += item + "   "
        if line != indent:
            lines.append(line.rstrip())
        return lines

    kinds = [form(key, cls.schema) for key, cls in KINDS.items()]
    return "\n".join(
        [
            "# The tests (one per criterion; README.md and docs/semantics.md say what each reads):",
            *wrap(kinds),
            "# or a combinator over other criteria: all_of: [ids], any_of: [ids], at_least: {n, of: [ids]},",
            "# not: id (met when that criterion is unmet), or a conditional: when: [ids] + then: [ids]",
            '# ("If ..., patient must ..."). Any criterion may add documentation: [chart_notes, lab_report, ..]',
            "# (the supporting documents it requires).",
        ]
    )


def _schema_ref(target_dir: Path, schema: str) -> str:
    schemas = Path(str(resources.files("rxrego.schemas")))
    return Path(os.path.relpath(schemas / schema, target_dir.resolve())).as_posix()


# A payer folder: lower case words joined by '-' or '_' (fep, mn-dhs, point32health).
PAYER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(-[a-z0-9_]+)*$")


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
) -> Skeleton:
    """The skeleton's two files (not yet written). Its TODO placeholders make `rxrego check`
    fail until the author has replaced each from the policy document (the folder, file and
    number come from split_id). InputError for a bad
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
    if hcpcs is not None and unclassified(hcpcs):
        raise InputError(
            f"--hcpcs {hcpcs} is a code for no one drug ({unclassified(hcpcs)}): requests would reach this policy "
            "whatever the drug. Route by name (--title) and list the drug's NDCs in the spec (the code is accepted "
            "beside them, with a warning)"
        )
    if title is not None and not title.strip():
        raise InputError("--title must not be empty")
    if payer is not None and not PAYER_PATTERN.match(payer):
        raise InputError(
            f"invalid --payer {payer!r}: a folder name in lower case letters, digits, '_' and '-', e.g. fep or mn-dhs"
        )
    brand = title.strip() if title else f"TODO drug of {policy_id}"
    spec_path, cases_path = paths_for(policy_id, title, spec_dir, cases_dir, payer)
    _, rest = split_id(policy_id, spec_dir, payer)
    # A numbered id (fep-5.21.200) carries the document's number; a name (mn-dhs-bylvay) does not.
    number = (
        rest if any(c.isdigit() for c in rest) else "TODO the document's number, or a stable label when it has none"
    )
    drug_route = f"hcpcs: {hcpcs}" if hcpcs else f"name: {_q(brand)}"
    hcpcs_line = (
        f"  hcpcs: [{hcpcs}]" if hcpcs else "  # hcpcs: [J0000]           # HCPCS codes (exact match), e.g. J9229"
    )

    spec_text = f"""# yaml-language-server: $schema={_schema_ref(spec_path.parent, "policy-spec.schema.json")}
#
# {policy_id}: a new policy spec written by `rxrego new`. Every value that says TODO is a
# placeholder `rxrego check` refuses (naming file:line and field) until you replace it with
# what the document says; the comments beside them show the form. Where the document says
# nothing, delete an optional line rather than invent it; where it is ambiguous, say what you
# chose in a comment or a `note`. After each edit run `rxrego check`, then `rxrego generate`
# and the golden cases: `rxrego conformance --policy {policy_id}`.
# `rxrego render {spec_path.name} --format html -o review.html` shows it laid out as a document.
# Reference: README.md "The spec format"; the decision rules: docs/semantics.md.
schema_version: 1

# --- identity: who publishes it, its number, subject and dates ---------------------------------
# The id is stable: the Rego package (rxrego.policies.<id with _>) and every decision name it.
id: {policy_id}
number: {_q(number)}
title: {_q(brand)}             # the document's Subject
# payer: the payer, e.g. Blue Cross Blue Shield Association, Federal Employee Program
section: TODO the document's section, e.g. Prescription Drugs
# subsection: e.g. Antineoplastic Agents
effective_date: TODO the date this version takes effect, as YYYY-MM-DD (e.g. 2026-01-01)
# original_policy_date: YYYY-MM-DD
# last_review_date: YYYY-MM-DD

# --- the drug: requests are routed here by HCPCS code, NDC or brand / generic name ---------------
# Each code and name must belong to one policy only (`rxrego check` reports a clash).
drug:
  brand: {_q(brand)}
  # generic: the generic name
{hcpcs_line}
  # ndc: [12345-6789-01]      # 11-digit NDCs, 5-4-2 with hyphens

# --- the document's prose (rendered by `rxrego render`, not used in decisions) -------------------
# description: ...
# background: >-
#   ...
# related_policies: [...]
# references:
#   - "..."
# history:                    # the Policy History table: date YYYY-MM or YYYY-MM-DD, action
#   - {{date: 2026-01, action: Addition to PA}}

# --- the policy statement: quoted word for word -------------------------------------------------
coverage:
  # The document's statement of medical necessity; delete the line if it has none.
  medically_necessary: "TODO the document's policy statement, word for word (or delete this line)"
  # The criterion that defines the covered indication: a request that fails it is for another use.
  indication: diagnosis
  # What the document does with other uses: `investigational` (give its sentence as statement,
  # quoted in the denial), `not_covered` (also when it says nothing of them), or
  # `pend_for_review` (reviewed case by case, e.g. compendia-supported uses).
  other_indications:
    outcome: TODO investigational, not_covered or pend_for_review
    # statement: "the document's sentence on other uses, word for word (required for investigational)"

# --- value sets: named agents / classes that prior_therapy and concurrent_therapy_excluded use ----
# value_sets:
#   tyrosine_kinase_inhibitors:
#     description: where the list comes from
#     agents: [imatinib, dasatinib]          # case is ignored
#     classes: [tyrosine_kinase_inhibitor]   # as requests name them

# --- criteria: defined once, referred to by id from the requirement sets ------------------------
# Each has `text` (the document's wording; a denial quotes it), an optional `note` (why it is
# written so), an optional `question` (how the questionnaire asks) and exactly ONE test.
{cheat_sheet()}
criteria:
  age:
    text: TODO the age requirement, in the document's words (e.g. Age 18 years of age or older)
    # The document's bound(s): min_years / max_years, or min_months / max_months for infants.
    # Delete this criterion (and its uses below) if the document sets no age.
    age: {{min_years: TODO the document's minimum age in years}}
  diagnosis:
    text: TODO the covered diagnosis, in the document's words
    note: TODO which ICD-10-CM codes and qualifiers stand for it, and why
    diagnosis:
      icd10: [TODO the ICD-10-CM code prefixes of the diagnosis]   # e.g. C91.0 (dots and case ignored)
      # qualifiers: {{lineage: [b_cell_precursor], disease_status: [relapsed, refractory]}}
      # biomarkers: {{CD22: [positive]}}
  renewal_response:
    text: TODO what the document requires for a renewal, in its words (e.g. NO disease progression)
    clinical_status: {{name: disease_progression, required: false}}   # the test that reads it

# --- requirement sets: the document's Prior-Approval (and Renewal) Requirements ----------------
# Each: the heading, the approval duration (the document's Limits) and all_of / any_of /
# at_least over criterion ids. A document that repeats a criterion in both sets refers to the
# same id twice. A document that states no duration: write the sets with `indications`
# (README.md "Indications"), whose approvals may have no end date, rather than invent one.
requirements:
  initial:
    title: TODO the heading, e.g. Prior-Approval Requirements
    duration_months: TODO the document's approval duration in months, e.g. 6
    all_of: [age, diagnosis]    # add the other criteria, in the document's order
  renewal:                      # delete if the document has no renewal requirements
    title: TODO the heading, e.g. Prior-Approval Renewal Requirements
    duration_months: TODO the document's renewal duration in months, e.g. 12
    all_of: [age, diagnosis, renewal_response]   # as the document repeats them

# limits:                     # as the document states them; delete what it does not
#   pre_pa_allowance: None
#   quantity: e.g. 60 tablets per 30 days
"""

    cases_text = f"""# yaml-language-server: $schema={_schema_ref(cases_path.parent, "conformance-cases.schema.json")}
#
# Golden decisions for {policy_id}, written from the policy document (not from the spec): each
# case says what the document decides for one request. `expect` is a subset of the decision.
# Every TODO value is a placeholder: `rxrego conformance`, `bundle` and `run` refuse the file
# until it is replaced. `rxrego conformance --policy {policy_id}` runs the cases on OPA and
# lists, per criterion, which of met / unmet / unknown no case has shown yet: write cases
# until it is green (or waive a status with a written reason under `waivers:`).
policy: {policy_id}

bases:
  # An approvable request: every criterion met. Cases start from it and change one thing.
  typical:
    request_type: initial
    date_of_service: TODO a date the policy is in force, YYYY-MM-DD (on or after effective_date)
    patient: {{birth_date: 1980-03-20}}
    drug: {{{drug_route}}}
    diagnoses: [{{code: TODO an ICD-10-CM code of the covered diagnosis}}]
    prescriber: {{attestations: {{}}}}

cases:
  # Holds as the criteria are filled in: a diagnosis outside the covered indication is another
  # use, decided as coverage.other_indications says.
  - name: other-diagnosis
    proves: a diagnosis outside the covered indication is decided as the policy says of other uses
    base: typical
    set: {{diagnoses: [{{code: Z00.00}}]}}
    expect:
      reason: TODO investigational, not_covered or other_indication_review (for pend_for_review)
      policy: {{id: {policy_id}}}
  # Next: an approval from `typical`; each criterion unmet and unknown (absent); the boundaries
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
