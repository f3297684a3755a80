"""The policy author's desk: render, explain, diff, questionnaire, questionnaire-decide, new, studio.

Each command is a thin shell over a module of rxrego.author, usable without click. Input
mistakes end in a message naming the file (and line where there is one) and exit 2 (see
rxrego.cli.errors); a traceback here is a bug.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import opa
from ..author import diff, skeleton
from ..author.common import InputError, load_json, load_spec_file, parse_date
from ..author.explain import explain_lines
from ..author.questionnaire import (
    DEFAULT_BASE,
    ResponseError,
    build_questionnaire,
    response_to_request,
    unknown_link_ids,
    validate_questionnaire,
)
from ..author.render import render
from ..spec.errors import SpecError
from ..spec.loader import find_specs, load_spec, load_specs
from .errors import ExitCode, fail
from .options import folder_option


def _write_output(text: str, output: str | None, what: str) -> None:
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    path = Path(output)
    if path.is_dir():
        raise InputError(f"-o {output} is a folder; give a file name")
    if not path.parent.exists():
        raise InputError(f"-o {output}: the folder {path.parent} does not exist")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {what} to {output}", err=True)


def _load_specs_dir(specs_dir: str, *, exclude: tuple[Path, ...] = ()):
    """Every spec under a folder (none when it does not exist), minus the files excluded."""
    if not Path(specs_dir).exists():
        return []
    skip = {p.resolve() for p in exclude}
    files = [p for p in find_specs([specs_dir]) if p.resolve() not in skip]
    try:
        return load_specs(files)
    except SpecError as exc:
        raise InputError(
            "\n".join(str(i) for i in exc.issues) + f"\n{len(exc.issues)} error(s) in the specs under {specs_dir}"
        ) from None


def _decide(rego_dir: str, request: object) -> dict:
    """The decision document of `request` from one local `opa eval` over `rego_dir`."""
    if not Path(rego_dir).is_dir():
        raise InputError(f"no such folder: {rego_dir} (generate the Rego with `rxrego generate`, or pass --rego)")
    value = opa.eval_batch(Path(rego_dir), "data.rxrego.decision", request)["value"]
    if not isinstance(value, dict):
        raise InputError(f"data.rxrego.decision under {rego_dir} is not a decision: {json.dumps(value)[:200]}")
    return value


# --- render ----------------------------------------------------------------------------------------


@click.command("render")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html"]),
    default="md",
    show_default=True,
    help="md: Markdown; html: one self-contained, print-friendly HTML file.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
@click.option(
    "--notes",
    is_flag=True,
    help="Append the authors' notes (criterion notes, value sets), which the payer's document does not have.",
)
@click.option(
    "--rules/--no-rules",
    default=True,
    show_default=True,
    help="Show each criterion's encoded rule in plain words beside its wording (--no-rules: the document alone).",
)
def render_command(spec_file: str, fmt: str, output: str | None, notes: bool, rules: bool) -> None:
    """Render a spec as a readable policy document, laid out like the payer's document.

    \b
    Identity block (number, section, subsection, subject, effective / original / last review
    dates, drug, each listed product with its NDCs, HCPCS codes, strengths and routes),
    description and background, related policies, the policy statement, the
    Prior-Approval and Renewal requirements with their nesting and wording ("AND ALL of the
    following:", "at least ONE of", "If ..., then:"), numbered as the document numbers them,
    the pre-PA allowance, each set's limits ("Duration 3 months"), references and the policy
    history. Reviewers can read it side by side with the source document.

    \b
    Beside each criterion's wording (HTML: a second column; Markdown: a "Rule:" line) is the
    rule the spec encodes, in plain words: thresholds, counts ("met when at least 1 of the 3
    criteria below are met"), value-set members, ICD-10-CM codes with their descriptions from
    the ICD-10-CM code set, specialties; so "2 of the following" encoded as at_least: 1 shows.
    --no-rules leaves the document alone.

    \b
    Examples:
      rxrego render policy_source/fep/5.21.100-besponsa.yaml
      rxrego render policy_source/fep/5.21.100-besponsa.yaml --format html -o besponsa.html

    HTML is one file with inline CSS and no scripts or external assets; every spec string in it
    is HTML-escaped.
    """
    spec = load_spec_file(spec_file)
    _write_output(render(spec, fmt, notes=notes, rules=rules), output, f"{spec.id} as {fmt}")


# --- explain ---------------------------------------------------------------------------------------


def _trial_options(fn):
    """--case, --cases, --stale and --watch: shared by explain and decide."""
    for option in reversed(TRIAL_OPTIONS):
        fn = option(fn)
    return fn


TRIAL_OPTIONS = (
    click.option(
        "--case",
        "case_name",
        metavar="NAME",
        help="Decide the request of this golden case (from --cases) instead of a file; FILE::NAME when two files have the name.",
    ),
    click.option(
        "--cases",
        "cases_dir",
        default="conformance",
        show_default=True,
        type=click.Path(),
        help="Folder of golden cases for --case.",
    ),
    click.option(
        "--stale",
        type=click.Choice(["generate", "fail"]),
        default="generate",
        show_default=True,
        help="When --rego is not what --specs generate: decide with Rego generated into a temporary folder (and say so), or stop with exit 1.",
    ),
    click.option(
        "--watch",
        is_flag=True,
        help="Decide again on every save of the request, the case file or a spec (Ctrl-C stops).",
    ),
)


@click.command("explain")
@click.argument("request_file", metavar="REQUEST", required=False)
@click.option(
    "--specs",
    "specs_dir",
    default="policy_source",
    show_default=True,
    type=click.Path(),
    help="Folder of policy specs (for the criteria tree, the policy's wording and the freshness of --rego).",
)
@click.option(
    "--rego",
    "rego_dir",
    default="rego",
    show_default=True,
    type=click.Path(),
    help="Folder of generated Rego that decides (when it is what --specs generate).",
)
@_trial_options
@click.option(
    "--no-color",
    is_flag=True,
    help="Plain text even on a terminal (colour is off anyway when the output is not a terminal).",
)
def explain_command(
    request_file: str | None,
    specs_dir: str,
    rego_dir: str,
    case_name: str | None,
    cases_dir: str,
    stale: str,
    watch: bool,
    no_color: bool,
) -> None:
    """Decide a request with the local OPA and show why: the criteria tree, node by node.

    \b
    REQUEST is a JSON or YAML file (or - for stdin); or name a golden case with --case NAME.
    One `opa eval` of data.rxrego.decision decides it with Rego that matches the specs: --rego
    when it is what --specs generate, else Rego generated into a temporary folder (a note
    says so; `--stale fail` stops instead), so an edited spec is never explained with old
    Rego. Shown: the outcome, reason and approval period; the unmet criteria and missing
    information as the decision lists them; then the tree of the requirement set that was
    applied (initial or renewal, and the policy version in force on the date of service):
    each criterion met / unmet / unknown, in the policy's words, and for each leaf what it
    checks and the request facts it read, e.g.
      patient.birth_date = 1980-03-20 (age 46 on 2026-06-15)
      prescriber.attestations.vod_monitoring = (absent)
    Conditional criteria show their "when" and "then" branches. no_policy and
    invalid_request decisions show the drug or the request errors.

    \b
    Examples:
      rxrego explain request.yaml
      rxrego explain --case approved-adult-ph-negative
      rxrego explain request.yaml --watch      # again on every save of it or of a spec

    Colours (green met, red unmet, yellow unknown) only on a terminal. Exit 0 when the
    decision was shown (whatever its outcome), 1 for stale Rego with --stale fail, 2 for an
    unreadable request or a missing OPA.
    """
    from ..author.trial import RegoSource, RequestSource

    source = RequestSource(request_file, case_name, cases_dir)
    rego = RegoSource(specs_dir, rego_dir, stale)
    color = False if no_color else None

    def once() -> None:
        request, label = source.load()
        if source.wrapped(label):
            click.echo(click.style(f"note: {source.wrapped(label)}", fg="yellow"), err=True, color=color)
        fresh = rego.current()
        for note in rego.notes:
            click.echo(click.style(f"note: {note}", fg="yellow"), err=True, color=color)
        decision = _decide(str(fresh.path), request)
        lines, warnings = explain_lines(decision, request, fresh.specs)
        if case_name:
            lines.insert(0, f"{'Case':<12}{label}")
        for w in warnings:
            click.echo(click.style(f"note: {w}", fg="yellow"), err=True, color=color)
        click.echo("\n".join(lines), color=color)

    try:
        if watch:
            _watch(source, rego, once)
        else:
            _stale_exit(once)
    finally:
        rego.close()


def _stale_exit(fn) -> None:
    """Run `fn`; stale Rego under --stale fail is exit 1 (a check failed), not bad input."""
    from ..author.trial import StaleRego

    try:
        fn()
    except StaleRego as exc:
        fail(str(exc), ExitCode.FAILED)


def _watch(source, rego, once) -> None:
    """`once` on every change of the request, case or spec files; a mistake is shown (as the
    group would show it) and the watch goes on."""
    from ..author.trial import watch as watch_files
    from .errors import USER_ERRORS

    def shown() -> None:
        try:
            once()
        except tuple(kind for kind, _ in USER_ERRORS) as exc:
            prefix = next(p for kind, p in USER_ERRORS if isinstance(exc, kind))
            click.secho(prefix + str(exc), fg="red", err=True)

    try:
        watch_files(
            lambda: [*source.files(), *rego.files()], shown, report=lambda line: click.secho(line, dim=True, err=True)
        )
    except KeyboardInterrupt:
        click.echo("", err=True)


# --- diff ----------------------------------------------------------------------------------------------


@click.command("diff")
@click.argument("old_file", metavar="OLD", type=click.Path(dir_okay=False))
@click.argument("new_file", metavar="NEW", type=click.Path(dir_okay=False))
@click.option(
    "--cases",
    "cases_dir",
    default="conformance",
    show_default=True,
    type=click.Path(),
    help="Golden cases: the policy's case file(s) under this folder are run on both versions.",
)
@click.option(
    "--specs",
    "specs_dir",
    default="policy_source",
    show_default=True,
    type=click.Path(),
    help="The other specs, generated beside each version so routing works as in production.",
)
@click.option("--no-cases", is_flag=True, help="Compare the specs only; do not run the golden cases.")
def diff_command(old_file: str, new_file: str, cases_dir: str, specs_dir: str, no_cases: bool) -> None:
    """What changed between two versions of a spec, and which golden cases change outcome.

    \b
    Criterion by criterion: added and removed criteria, reworded text (old and new, and the
    words that changed), changed tests and thresholds (age.min_years: 18 -> 1), combinator
    children, conditions, requirement-set membership and durations, metadata such as the
    effective date, drug codes, value-set members, history entries and earlier versions;
    everything else in the model (indications, plan years, other_indications, products,
    the plan) field by field. Only the meaning counts: comments and layout are not differences.

    \b
    Then Rego is generated for OLD and for NEW (each with the other specs of --specs) into
    scratch folders, the policy's golden cases from --cases are decided on both (one
    `opa eval` each), and every case whose outcome, reason, unmet or missing criteria or
    approval end differs is listed:  case-name: approved -> denied  (...)

    \b
    Example:
      git show HEAD~1:policy_source/fep/5.21.100-besponsa.yaml > /tmp/old.yaml
      rxrego diff /tmp/old.yaml policy_source/fep/5.21.100-besponsa.yaml

    \b
    Exit status:
      0  no difference (neither in the specs nor in any case's decision)
      1  there are differences
      2  bad input (a spec or case file with errors) or a missing tool
    """
    old, new = load_spec_file(old_file), load_spec_file(new_file)
    click.echo(f"OLD {old_file}: {old.id}, effective {old.effective_date}")
    click.echo(f"NEW {new_file}: {new.id}, effective {new.effective_date}")
    changes = diff.spec_changes(old, new)
    section = None
    for change in changes:
        if change.section != section:
            section = change.section
            click.secho(f"\n{section}", bold=True)
        click.echo(change.text())
    if not changes:
        click.echo("\nThe specs mean the same (comments and layout aside).")
    flipped = []
    if no_cases:
        pass
    elif old == new:
        click.echo("\nGolden cases: the models are equal, so no case can decide differently.")
    else:
        cases, files = diff.policy_cases(cases_dir, {old.id, new.id})
        if not cases:
            click.echo(f"\nGolden cases: none for {new.id} under {cases_dir}/")
        else:
            others = _load_specs_dir(specs_dir, exclude=(Path(old_file), Path(new_file)))
            click.echo(f"\nGolden cases ({len(cases)} from {', '.join(files)}), decided on OLD and on NEW:", err=True)
            flipped = diff.case_changes(old, new, others, cases)
            click.secho(f"\nGolden cases that change ({len(flipped)} of {len(cases)})", bold=True)
            for cc in flipped:
                click.echo(f"  {cc.text()}")
            if not flipped:
                click.echo("  none: every case decides as before")
    different = bool(changes or flipped)
    click.echo("")
    click.secho(
        f"{len(changes)} change(s) in the spec, {len(flipped)} golden case(s) decide differently"
        if different
        else "no differences",
        fg="yellow" if different else "green",
    )
    if different:
        sys.exit(ExitCode.FAILED)


# --- questionnaire ---------------------------------------------------------------------------------


@click.command("questionnaire")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the Questionnaire (JSON) here instead of standard output.",
)
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Canonical base for the Questionnaire url and answer code systems (default https://rxrego.dev/fhir).",
)
def questionnaire_command(spec_file: str, output: str | None, base_url: str | None) -> None:
    """Emit a FHIR R4 Questionnaire (JSON) asking for every fact the policy needs.

    \b
    In the spirit of Da Vinci DTR: one item per fact, its linkId the request field it fills
    (patient.birth_date, biomarkers.CD22, prescriber.attestations.vod_monitoring, ...), so
    linkIds are stable and a response maps straight back to a PA request
    (`rxrego questionnaire-decide`). Types: birth date -> date; diagnosis -> repeating group
    of code (string) and qualifiers (choice from the spec's accepted values plus "other");
    biomarkers -> choice positive/negative/unknown; prior therapies -> a yes/no question and
    a repeating group (agent, class, result); attestations and clinical statuses -> boolean;
    labs -> group (value, unit, date, and the reference range high when the threshold is a
    multiple of the ULN the spec does not give); specialty -> choice; quantity ->
    decimal/integer; dose -> group (amount, unit, every_days required when a test reads it).

    \b
    `required` marks facts every requirement set needs unconditionally. Conditional criteria
    become `enableWhen` (the prior-therapy questions appear when the Ph status is "positive");
    an age condition cannot be checked against a birth date by enableWhen, so the item stays
    enabled and its text says so. The result is checked by a structural validator before it
    is written.
    """
    spec = load_spec_file(spec_file)
    q = build_questionnaire(spec, base=base_url or DEFAULT_BASE)
    problems = validate_questionnaire(q)
    if problems:  # a bug in the builder, not the user's mistake
        fail("the generated Questionnaire is not valid (please report):\n  " + "\n  ".join(problems), ExitCode.FAILED)
    _write_output(
        json.dumps(q, indent=2, ensure_ascii=False) + "\n",
        output,
        f"the Questionnaire for {spec.id} ({len(q['item'])} top-level items)",
    )


@click.command("questionnaire-decide")
@click.argument("response_file", metavar="QR.json")
@click.option(
    "--spec",
    "spec_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The spec the questionnaire was generated from.",
)
@click.option(
    "--date-of-service",
    "date_of_service",
    required=True,
    metavar="YYYY-MM-DD",
    help="The date of service of the request.",
)
@click.option("--renewal", is_flag=True, help="Decide as a renewal request (default: initial).")
@click.option(
    "--rego",
    "rego_dir",
    default="rego",
    show_default=True,
    type=click.Path(),
    help="Folder of generated Rego that decides.",
)
@click.option("--show-request", is_flag=True, help="Also print the PA request the answers were mapped to (JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision document (JSON) instead of the explanation.")
@click.option("--no-color", is_flag=True, help="Plain text even on a terminal.")
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="The canonical base the questionnaire was built with (default https://rxrego.dev/fhir).",
)
def questionnaire_decide_command(
    response_file, spec_file, date_of_service, renewal, rego_dir, show_request, as_json, no_color, base_url
) -> None:
    """Map a completed QuestionnaireResponse to a PA request and decide it locally.

    \b
    Only a final response to THIS questionnaire is decided: status "completed" or
    "amended", and "questionnaire" naming its canonical URL and version
    (<base>/Questionnaire/<spec id>|<spec version>). A coded answer counts only in the
    code system the questionnaire offers for that question. Anything else is refused
    (exit 2), naming the field or linkId, and never decided.

    \b
    Answers are read by linkId (repeating groups become lists). Answer types read:
    valueDate, valueDateTime (its date), valueString, valueBoolean, valueCoding (its code),
    valueDecimal, valueInteger, valueAttachment (documents: its url, else title), and
    valueQuantity: its value, and its unit (the UCUM `code` when `system` is
    http://unitsofmeasure.org, else `unit`), which fills the unit question beside it
    (labs.<name>.unit, dose.unit) when that is unanswered. Each answer must be of a type
    its question takes (a yes/no question valueBoolean, a date valueDate or
    valueDateTime, a number valueDecimal, valueInteger or valueQuantity, a choice
    valueCoding or valueString): a valueString "true" to a yes/no question is refused
    (exit 2). A Quantity whose unit differs
    from the unit answered beside it, one with a comparator (<, >=, ...), one with a
    unit coded in another system, or one with a unit where no unit is asked is refused
    (exit 2), never decided with either unit. An unanswered question leaves
    its field absent, so the decision pends on it and never approves; answering "No" to
    "prior_therapies.any" sends an empty list (a known "none"). The request is decided with
    one `opa eval` over --rego and explained as `rxrego explain` does.

    \b
    Example:
      rxrego questionnaire policy_source/fep/5.21.100-besponsa.yaml -o q.json
      (fill it in a SMART on FHIR / DTR client, save the QuestionnaireResponse)
      rxrego questionnaire-decide qr.json --spec policy_source/fep/5.21.100-besponsa.yaml \\
          --date-of-service 2026-06-15

    \b
    Exit status: 0 approved; 1 any other decision (denied, pended, no_policy,
    invalid_request); 2 no decision (unreadable or refused response, bad option, OPA
    missing).
    """
    if parse_date(date_of_service) is None:
        raise InputError(f"--date-of-service {date_of_service!r} is not a date (YYYY-MM-DD, a real calendar day)")
    spec = load_spec_file(spec_file)
    qr = load_json(response_file)
    try:
        request = response_to_request(
            qr,
            spec,
            date_of_service=date_of_service,
            request_type="renewal" if renewal else "initial",
            base=base_url or DEFAULT_BASE,
        )
    except ResponseError as exc:
        raise InputError(f"{response_file}: {exc}") from None
    color = False if no_color else None
    assert isinstance(qr, dict)  # response_to_request accepted it: a QuestionnaireResponse object
    ignored = unknown_link_ids(qr, build_questionnaire(spec, base=base_url or DEFAULT_BASE))
    if ignored:
        click.echo(
            click.style(
                f"note: ignored answers to linkIds the questionnaire does not have: {', '.join(ignored)}", fg="yellow"
            ),
            err=True,
            color=color,
        )
    if show_request:
        click.echo(json.dumps(request, indent=2, ensure_ascii=False))
    decision = _decide(rego_dir, request)
    if as_json:
        click.echo(json.dumps(decision, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        lines, warnings = explain_lines(decision, request, [spec])
        for w in warnings:
            click.echo(click.style(f"note: {w}", fg="yellow"), err=True, color=color)
        click.echo("\n".join(lines), color=color)
    approved = decision.get("outcome") == "approved" and isinstance(decision.get("approval"), dict)
    sys.exit(ExitCode.APPROVED if approved else ExitCode.NOT_APPROVED)


# --- new -----------------------------------------------------------------------------------------------


@click.command("new")
@click.argument("policy_id", metavar="ID")
@folder_option("--dir", "spec_dir", "Folder of policy specs to write the skeleton into.", default="policy_source")
@folder_option("--cases", "cases_dir", "Folder of golden cases (default: 'conformance' beside --dir).")
@click.option(
    "--payer",
    metavar="FOLDER",
    help="The payer's folder, e.g. fep or mn-dhs (default: from the id, see above).",
)
@click.option("--title", help="The document's subject, usually the brand name (also the drug's brand).")
@click.option("--hcpcs", metavar="CODE", help="The drug's HCPCS code, e.g. J9229 (requests are routed by it).")
def new_command(
    policy_id: str, spec_dir: str, cases_dir: str | None, payer: str | None, title: str | None, hcpcs: str | None
) -> None:
    """Start a new policy: a spec skeleton and its golden-case file.

    \b
    ID is the policy's stable id, e.g. fep-5.21.200; the payer prefix becomes the folder:
      rxrego new fep-5.21.200 --title Blincyto --hcpcs J9039
    writes policy_source/fep/5.21.200-blincyto.yaml and
    conformance/fep/5.21.200-blincyto.cases.yaml. The payer prefix is the longest
    dash-separated head of the id that is already a folder under --dir
    (rxrego new mn-dhs-bylvay: mn-dhs/bylvay.yaml when policy_source/mn-dhs/ exists), else
    the part before the first dash; --payer names it outright (rxrego new mn-dhs-bylvay
    --payer mn-dhs, or rxrego new wegovy --payer acme: acme/wegovy.yaml). The rest of the id
    is the file name, and the document's number when it holds a digit (5.21.200); else the
    number is a placeholder. The title is added to the file name only when the id does not
    already say it.

    \b
    The spec carries the editor's schema line, a comment teaching each section and the list
    of every test the language has, an age criterion and the diagnosis in both requirement
    sets; the case file has one case (a diagnosis outside the indication is decided as the
    policy says of other uses). Every value the document must give (effective date,
    durations, headings, the policy's statements, the criteria) is a TODO placeholder:
    `rxrego check` fails, naming each by file:line and field and saying what to write, until
    all are replaced from the policy document; `conformance`, `bundle` and `run` refuse a case
    file holding one. So an unfinished skeleton is never generated or approves anything.
    Existing files are never overwritten, and an id, HCPCS code or brand another spec
    already claims is refused.
    """

    spec_root = Path(spec_dir)
    cases_root = Path(cases_dir) if cases_dir else spec_root.parent / "conformance"
    hcpcs = skeleton.normalise_hcpcs(hcpcs)
    sk = skeleton.build(policy_id, title=title, hcpcs=hcpcs, spec_dir=spec_root, cases_dir=cases_root, payer=payer)
    brand = (title or "").strip().lower()
    for source, other_id, codes, names in _claims(spec_root):
        clash = (
            "id"
            if other_id == policy_id
            else f"HCPCS code {hcpcs}"
            if hcpcs and hcpcs in codes
            else f"drug name {title!r}"
            if brand and brand in names
            else None
        )
        if clash:
            raise InputError(f"{source} ({other_id}) already claims the {clash}; each must name one policy")
    skeleton.write(sk)
    try:
        load_spec(sk.spec_path)  # only placeholders may be left to report
        todo = []
    except SpecError as exc:
        todo = exc.issues
        if any(not i.message.startswith("placeholder left to fill in") for i in todo):  # a bug in the skeleton
            raise InputError("the skeleton does not load (please report):\n" + "\n".join(map(str, todo))) from None
    click.secho(f"wrote {sk.spec_path}", fg="green")
    click.secho(f"wrote {sk.cases_path}", fg="green")
    click.echo(
        f"{len(todo)} placeholder(s) to fill in from the policy document (`rxrego check` lists them until done,"
        " saying what to write):"
    )
    for issue in todo:
        click.echo(f"  {issue.file}:{issue.line}: {issue.path}")
    click.echo(
        "next:\n"
        f"  1. replace every TODO in {sk.spec_path} and {sk.cases_path}; `rxrego check` after each edit\n"
        f"  2. `rxrego generate` (the new policy's Rego goes to rego/)\n"
        f"  3. write golden cases in {sk.cases_path} until `rxrego conformance --policy {policy_id}` is green"
    )


def _claims(spec_dir: Path) -> list[tuple[str, object, list, set]]:
    """(file, id, HCPCS codes, drug names) of every spec under `spec_dir` that parses as YAML,
    valid or not: a skeleton still full of placeholders claims its id and codes too."""
    from ..spec.errors import SpecError
    from ..spec.loader import display_path, find_specs
    from ..spec.yamlsource import parse, read_text

    out = []
    for path in find_specs([spec_dir]) if spec_dir.exists() else ():
        try:
            data = parse(read_text(path, str(path)), str(path)).data
        except SpecError:
            continue  # `rxrego check` reports it
        if not isinstance(data, dict):
            continue
        drug = data.get("drug")
        if not isinstance(drug, dict):
            drug = {}
        codes = (
            [c for c in drug.get("hcpcs") or [] if isinstance(c, str)] if isinstance(drug.get("hcpcs"), list) else []
        )
        names = {str(drug[k]).strip().lower() for k in ("brand", "generic") if isinstance(drug.get(k), str)}
        out.append((display_path(path), data.get("id"), codes, names))
    return out


# --- studio --------------------------------------------------------------------------------------------


@click.command("studio")
@folder_option(
    "--specs",
    "specs_dir",
    "Folder of policy specs (watched: an edit is used by the next decision).",
    default="policy_source",
)
@folder_option(
    "--cases", "cases_dir", "Folder of golden cases that saved cases go to (default: 'conformance' beside --specs)."
)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option("--quiet", is_flag=True, help="Do not log each HTTP request.")
def studio_command(specs_dir: str, cases_dir: str | None, port: int, quiet: bool) -> None:
    """A local web page for authors: fill in a request as a form, see OPA's decision live.

    \b
    Open the URL it prints (it listens on 127.0.0.1 only). Pick a policy; the form is the
    policy's FHIR Questionnaire (the items `rxrego questionnaire` emits, shown and hidden by
    their enableWhen); as you type, OPA decides the request and the page shows the outcome,
    the unmet criteria or missing information, and the criteria tree with the facts each
    criterion read, beside the policy laid out as `rxrego render` does. "Save case" appends
    the filled form and the decision shown to the policy's golden-case file
    (conformance/<payer>/<policy>.cases.yaml), which `rxrego conformance` then checks.

    \b
    Every decision is OPA's: the studio generates Rego from --specs into a private folder,
    bundles it and runs `opa run --server` on another loopback port; when a spec file
    changes it regenerates and swaps OPA before the next decision. Ctrl-C stops both.

    \b
    Example:
      rxrego studio                 # then open http://127.0.0.1:8765/
    """
    import signal

    from ..author.studio import Studio, StudioError, default_cases_dir

    cases = Path(cases_dir) if cases_dir else default_cases_dir(Path(specs_dir))
    log = None if quiet else (lambda line: click.echo(line, err=True))
    try:
        studio = Studio(Path(specs_dir), cases, port=port, log=log).start()
    except StudioError as exc:
        raise InputError(f"the studio cannot start:\n{exc}") from None
    click.secho(
        f"rxrego studio: {studio.url}/  (specs {specs_dir}/, cases {cases}/; Ctrl-C stops it)", fg="green", err=True
    )
    old = {s: signal.signal(s, lambda *_: studio.shutdown()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        studio.serve_forever()
    finally:
        studio.stop()
        for s, handler in old.items():
            signal.signal(s, handler)
    click.echo("stopped", err=True)


COMMANDS = (
    render_command,
    explain_command,
    diff_command,
    questionnaire_command,
    questionnaire_decide_command,
    new_command,
    studio_command,
)
