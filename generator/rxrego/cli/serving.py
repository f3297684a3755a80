"""Serving decisions: bundle, serve, decide and deploy-config.

`bundle` builds the OPA bundle (rxrego.bundle), `serve` runs the real `opa run --server`
with it (rxrego.sidecar), `decide` asks a sidecar or a local `opa eval` for one decision
(rxrego.client), `deploy-config` writes what a fleet of sidecars needs (rxrego.deploy).
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

import click

from .. import bundle as bundle_mod
from .. import deploy, limits, opa
from .. import sidecar as sidecar_mod
from ..client.decision import Decision
from ..client.errors import SidecarUnavailable
from ..client.http import RxRegoClient
from ..prose import counted
from ..sidecar import Sidecar
from ..spec.errors import SpecError
from .errors import ExitCode, fail, spec_error
from .options import folder_option

# --- bundle --------------------------------------------------------------------------------------


def _require_current(rego_dir: str, specs_dir: str, allow_stale: bool) -> None:
    """For `bundle` and `serve`: exit 1 naming each file when rego/ is not what the specs
    generate or holds files the generator did not write (rxrego.bundle.drift); with
    --allow-stale, a loud warning instead."""
    try:
        problems = bundle_mod.drift(Path(rego_dir), Path(specs_dir))
    except (bundle_mod.BundleError, SpecError) as exc:
        if not allow_stale or not Path(rego_dir).is_dir():
            if isinstance(exc, SpecError):
                raise spec_error(
                    exc, consequence=f"{rego_dir}/ cannot be checked against them (--allow-stale skips the check)"
                ) from exc
            raise
        problems = [f"not checked: {str(exc).splitlines()[-1]}"]
    if not problems:
        return
    listing = "\n".join(f"  {p}" for p in problems)
    if allow_stale:
        click.secho(
            f"WARNING: --allow-stale: {rego_dir}/ is NOT what {specs_dir}/ generates; these decisions are not the "
            f"policy's as specified. For experiments only, never for production:\n{listing}",
            fg="red",
            bold=True,
            err=True,
        )
        return
    fail(
        f"{rego_dir}/ is not what {specs_dir}/ generates: run `rxrego generate` (or --allow-stale for an experiment)",
        ExitCode.FAILED,
        details=problems,
    )


def _require_no_case_placeholders(cases_dir: Path) -> None:
    """Exit 2 naming file:line: field of each TODO left in a case file under `cases_dir`."""
    from ..conformance.cases import case_placeholders

    todo = case_placeholders([cases_dir]) if cases_dir.is_dir() else []
    if todo:
        raise spec_error(
            SpecError(todo), "golden-case file(s)", consequence="replace each TODO from the policy document first"
        )


_specs_option = folder_option(
    "--specs", "specs_dir", "Folder of policy specs --rego must match.", default="policy_source"
)
_allow_stale_option = click.option(
    "--allow-stale",
    is_flag=True,
    help="Use --rego even when it does not match --specs or holds files the generator did not write (experiments only; warns loudly).",
)


# The request size limits a sidecar's OPA enforces (server.decoding): option, default, help.
_DECODING_LIMITS = (
    (
        "--max-body-bytes",
        limits.MAX_BODY_BYTES,
        "OPA refuses a request body larger than this (server.decoding.max_length).",
    ),
    (
        "--max-decompressed-bytes",
        limits.MAX_DECOMPRESSED_BYTES,
        "OPA refuses a gzip body inflating to more than this (server.decoding.gzip.max_length).",
    ),
)


def _decoding_limit_options(command):
    """The options of _DECODING_LIMITS, in that order, for `serve` and `deploy-config` alike."""
    for flag, default, text in reversed(_DECODING_LIMITS):
        command = click.option(flag, default=default, show_default=True, type=click.IntRange(1), help=text)(command)
    return command


# The algorithm --verification-key is for; OPA verifies the algorithms `rxrego bundle` signs with.
_verification_alg_option = click.option(
    "--verification-alg",
    type=click.Choice(sidecar_mod.VERIFICATION_ALGS),
    default="RS256",
    show_default=True,
    help="Signature algorithm the key is for.",
)


@click.command("bundle")
@click.option(
    "-o",
    "--output",
    default="build/bundle.tar.gz",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where to write the bundle.",
)
@folder_option("--rego", "rego_dir", "Folder of generated Rego.", default="rego")
@_specs_option
@folder_option(
    "--cases",
    "cases_dir",
    "Folder of golden cases, refused while one holds a TODO (default: 'conformance' beside --specs).",
)
@_allow_stale_option
@click.option(
    "--signing-key", type=click.Path(dir_okay=False), help="PEM private key: sign the bundle (opa build --signing-key)."
)
@click.option(
    "--signing-alg",
    type=click.Choice(bundle_mod.SIGNING_ALGS),
    default="RS256",
    show_default=True,
    help="Signature algorithm (with --signing-key).",
)
@click.option(
    "--form",
    type=click.Choice(bundle_mod.FORMS),
    default="modules",
    show_default=True,
    help="modules: a Rego package per policy version (rego/ as generated); data: every policy version as bundle "
    "data (rxrego/catalog/data.json, from --specs) decided by one shared interpreter, for catalogs of thousands.",
)
def bundle_command(
    output: str,
    rego_dir: str,
    specs_dir: str,
    cases_dir: str | None,
    allow_stale: bool,
    signing_key: str | None,
    signing_alg: str,
    form: str,
) -> None:
    """Build the OPA bundle the sidecar serves: the Rego of rego/ with a .manifest whose
    roots are ["rxrego"] and whose revision is a hash of the content.

    rego/ must be exactly what `rxrego generate` writes from --specs (the check
    `rxrego generate --check` makes): a stale file, a hand edit or a file the generator
    did not write (a stray data.json) is refused with exit 1, unless --allow-stale.
    The same inputs always give the same bytes (sorted entries, fixed times and owners);
    with RS256/384/512 signing too. Verify a signed bundle with `rxrego serve
    --verification-key PUB.pem` (OPA refuses it if the signature does not verify).

    \b
    A golden-case file under --cases that still holds a TODO placeholder (as `rxrego new`
    writes it) is refused too, as `rxrego check` refuses such a spec: the policy is not done
    until its cases say what the document decides.

    --form data bundles the same decisions in the data form: the library and the router of
    rego/, one shared interpreter, and each policy version's content as bundle data
    (data.rxrego.catalog.policies) instead of a compiled module, so OPA's memory and the
    bundle's activation stop growing with compiled Rego (BENCHMARKS.md, G3).
    """
    _require_no_case_placeholders(Path(cases_dir) if cases_dir else Path(specs_dir).parent / "conformance")
    _require_current(rego_dir, specs_dir, allow_stale)
    key = Path(signing_key) if signing_key else None
    if form == "data":
        try:
            info = bundle_mod.build_data_form(
                Path(rego_dir), Path(specs_dir), Path(output), signing_key=key, signing_alg=signing_alg
            )
        except SpecError as exc:
            raise spec_error(exc, consequence="no bundle was written") from exc
    else:
        info = bundle_mod.build(Path(rego_dir), Path(output), signing_key=key, signing_alg=signing_alg)
    signed = f"signed {signing_alg}" if info.signed else "unsigned"
    click.secho(
        f"wrote {info.path}: revision {info.revision}, {len(info.files)} file(s), {signed}, {form} form", fg="green"
    )
    click.echo(f"sha256 {info.sha256}")


# --- serve ---------------------------------------------------------------------------------------


def _read_token(token_file: str) -> str:
    path = Path(token_file)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        fail(f"cannot read the token file {token_file}: {exc.strerror or exc}")
    if not token or any(c.isspace() for c in token):
        fail(f"the token file {token_file} must hold one token: non-empty, no spaces")
    if path.stat().st_mode & 0o077:
        click.secho(f"warning: {token_file} is readable by other users (chmod 600 it)", fg="yellow", err=True)
    return token


@click.command("serve")
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Bundle to serve (default: build one from --rego).",
)
@folder_option("--rego", "rego_dir", "Rego to bundle when --bundle is not given.", default="rego")
@_specs_option
@_allow_stale_option
@click.option(
    "--port",
    default=sidecar_mod.DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port on 127.0.0.1.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="File holding the bearer token callers must send (enables OPA token authn + authz).",
)
@click.option(
    "--decision-log",
    type=click.Path(dir_okay=False),
    help="Append decision logs (JSON lines) to this file instead of printing them.",
)
@click.option(
    "--verification-key",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM public key: OPA activates the bundle only if its signature verifies.",
)
@_verification_alg_option
@_decoding_limit_options
def serve_command(
    bundle_path,
    rego_dir,
    specs_dir,
    allow_stale,
    port,
    token_file,
    decision_log,
    verification_key,
    verification_alg,
    max_body_bytes,
    max_decompressed_bytes,
) -> None:
    """Serve decisions: the real `opa run --server` on 127.0.0.1:PORT with the rxrego bundle.

    \b
    Waits until GET /health?bundles is 200 (as long as OPA keeps working on the bundle: a
    catalog of thousands of policies takes minutes; a line every 5 s says how far it is),
    prints how to query it, and runs until Ctrl-C
    or SIGTERM (then stops OPA and exits 0).
    With --token-file, callers must send `Authorization: Bearer <token>` and may only POST
    /v1/data/rxrego/decision and /v1/data/rxrego/decisions (and GET /health).
    Decision logs go to stdout (one JSON line each), or to --decision-log FILE (created
    0600); each entry keeps only the request's id, type, date of service and drug, and the
    answer (docs/decision-log.md). A body over --max-body-bytes, or inflating over
    --max-decompressed-bytes, is refused; a batch holds at most 500 requests.
    Without --bundle, --rego must be exactly what `rxrego generate` writes from --specs;
    a stale file or one the generator did not write is refused (exit 1) unless
    --allow-stale, which warns loudly.
    Exit 2 when OPA is missing, cannot start or refuses the bundle; 1 if it dies while
    serving, its decision logs cannot be written (OPA is then stopped: no decision
    without its log), or --rego is stale.
    """
    token = _read_token(token_file) if token_file else None
    if verification_key and not bundle_path:
        fail("--verification-key needs --bundle: build a signed one with `rxrego bundle --signing-key KEY.pem`")
    if not bundle_path:
        _require_current(rego_dir, specs_dir, allow_stale)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    with tempfile.TemporaryDirectory(prefix="rxrego-serve-") as tmp:
        path = Path(bundle_path) if bundle_path else None
        if path is None:
            info = bundle_mod.build(Path(rego_dir), Path(tmp) / "bundle.tar.gz")
            path = info.path
            click.echo(f"built a bundle of {rego_dir}/ (revision {info.revision})", err=True)
        sidecar = Sidecar(
            path,
            port=port,
            token=token,
            decision_log=Path(decision_log) if decision_log else None,
            decision_stream=sys.stdout,
            log_stream=sys.stderr,
            verification_key=Path(verification_key) if verification_key else None,
            verification_alg=verification_alg,
            max_body_bytes=max_body_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
        )
        old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            sidecar.start()
            try:
                sidecar.wait_until_healthy(progress=_activation_progress)
            except sidecar_mod.SidecarError as exc:
                # Ctrl-C or SIGTERM during start-up reaches OPA too and ends the wait:
                # that is a requested stop, not a failure to start.
                if stop.wait(0.5):
                    click.echo("stopped before OPA was ready", err=True)
                    return
                fail(f"the sidecar did not start: {exc}")
            _print_ready(sidecar, token_file, decision_log)
            while not stop.wait(0.25):
                if sidecar.failure:
                    fail(f"stopped serving: {sidecar.failure}", ExitCode.FAILED)
                if not sidecar.running:
                    if stop.wait(0.5):  # Ctrl-C reaches OPA too; it may exit first
                        break
                    status = sidecar.process.returncode if sidecar.process else None
                    fail(f"OPA exited with status {status}: {sidecar.last_words()}", ExitCode.FAILED)
            click.echo("stopping OPA", err=True)
        finally:
            sidecar.stop()
            for s, handler in old.items():
                signal.signal(s, handler)


def example_drug(bundle: Path | None) -> dict:
    """A drug the bundle at `bundle` routes, for the sample query `serve` prints: its first
    HCPCS code ({"hcpcs": "J9229"}), else its first name or NDC, read from the bundle's
    data.json (`rxrego.routing.routes`); {"name": "DRUG"} when the bundle has no routes or
    cannot be read (the sample is a hint, never a reason to stop serving)."""
    if bundle is None:
        return {"name": "DRUG"}
    try:
        routes = bundle_mod.read_json_member(bundle, "data.json")["rxrego"]["routing"]["routes"]
        for key in ("hcpcs", "name", "ndc"):
            if routes.get(key):
                return {key: min(routes[key])}
    except (bundle_mod.BundleError, KeyError, TypeError, AttributeError, ValueError):
        pass
    return {"name": "DRUG"}


def _activation_progress(elapsed: float, cpu: float | None, rss: int | None) -> None:
    """A line on stderr every few seconds while OPA activates a large bundle."""
    parts = [f"{elapsed:.0f} s"]
    if cpu is not None:
        parts.append(f"{cpu:.0f} s of CPU")
    if rss is not None:
        parts.append(f"{rss / 2**20:.0f} MiB")
    click.echo(f"waiting for OPA to activate the bundle: {', '.join(parts)}", err=True)


def _print_ready(sidecar: Sidecar, token_file: str | None, decision_log: str | None) -> None:
    url = sidecar.url
    click.secho(
        f"rxrego sidecar: OPA serving bundle revision {sidecar.revision} on {url} (pid {sidecar.pid})",
        fg="green",
        err=True,
    )
    auth = f' -H "Authorization: Bearer $(cat {shlex.quote(token_file)})"' if token_file else ""
    body = {
        "request_type": "initial",
        "date_of_service": date.today().isoformat(),
        "drug": example_drug(sidecar.bundle),
    }
    example = json.dumps({"input": body}, separators=(", ", ": "))
    click.echo("query it with:", err=True)
    click.echo(
        f"  curl -s -X POST {url}/v1/data/rxrego/decision -H 'Content-Type: application/json'{auth} -d '{example}'",
        err=True,
    )
    token_opt = f" --token-file {shlex.quote(token_file)}" if token_file else ""
    click.echo(f"  rxrego decide REQUEST.json --server {url}{token_opt}", err=True)
    where = decision_log if decision_log else "stdout"
    click.echo(f"decision logs: {where}; Ctrl-C or SIGTERM stops it", err=True)


# --- decide --------------------------------------------------------------------------------------


def summary(decision: Decision) -> str:
    """A decision for people: outcome, approval period, unmet criteria in the policy's words,
    missing information with the fields to send, request errors."""
    lines = [f"{decision.outcome.upper()}  ({decision.reason})"]
    if decision.request_id:
        lines.append(f"request id  {decision.request_id}")
    if decision.policy:
        p = decision.policy
        lines.append(f"policy      {p.number} {p.title}  [{p.id}, effective {p.effective_date}, version {p.version}]")
    if decision.request_type:
        applied = f" ({decision.requirements})" if decision.requirements else ""
        lines.append(f"request     {decision.request_type}{applied}")
    if decision.approval:
        a = decision.approval
        end = a.end.isoformat() if a.end else "no end date (the policy states no duration)"
        span = f" ({counted(a.duration_months, 'month')})" if a.duration_months else ""
        span += f" ({counted(a.duration_weeks, 'week')})" if a.duration_weeks else ""
        lines.append(
            f"approval    {a.start.isoformat()} to {end}{span}{', ended by the lifetime cap' if a.capped else ''}"
        )
    elif decision.outcome == "approved":
        lines.append("approval    NONE: the decision has no approval period, so it is not an approval")
    if decision.indication:
        lines.append(f"indication  {decision.indication['heading']} [{decision.indication['id']}]")
    if decision.drug is not None:
        given = ", ".join(f"{k} {v}" for k, v in sorted(decision.drug.items())) or "no identifiers"
        if decision.in_force_from:
            lines.append(f"drug        {given}: no version of its policy was in force on the date of service")
            lines.append(f"in force    from {decision.in_force_from}")
        else:
            lines.append(f"drug        no policy covers this drug ({given})")
    if decision.unmet:
        lines.append("unmet criteria, in the policy's words:")
        lines += [f"  - {c.text}  [{c.id}]" for c in decision.unmet]
    if decision.missing:
        lines.append("missing information (send these fields):")
        for m in decision.missing:
            lines.append(f"  - {m.text}  [{m.id}]")
            # A criterion no request field decides (kind `review`) is a reviewer's to decide.
            lines.append(
                f"      send: {', '.join(m.fields)}" if m.fields else "      no field decides it: a reviewer does"
            )
    if decision.errors:
        lines.append("errors:")
        lines += [f"  - {e.field or '(request)'}: {e.message}" for e in decision.errors]
    return "\n".join(lines)


def _local_decision(request: object, rego_dir: Path) -> Decision:
    return Decision.from_dict(opa.eval_batch(rego_dir, "data.rxrego.decision", request)["value"])


@click.command("decide")
@click.argument("request_file", metavar="REQUEST", required=False)
@click.option(
    "--server", metavar="URL", help="The sidecar, e.g. http://127.0.0.1:8181 (default: evaluate locally with opa eval)."
)
@click.option("--token-file", type=click.Path(dir_okay=False), help="File holding the sidecar's bearer token.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision document (JSON) instead of a summary.")
@click.option(
    "--rego",
    "rego_dir",
    default="rego",
    show_default=True,
    help="Rego folder for local evaluation (used when it is what --specs generate).",
)
@click.option(
    "--specs",
    "specs_dir",
    default="policy_source",
    show_default=True,
    help="Policy specs that --rego must match for local evaluation.",
)
@click.option(
    "--case",
    "case_name",
    metavar="NAME",
    help="Decide the request of this golden case (from --cases) instead of a file; FILE::NAME when two files have the name.",
)
@click.option(
    "--cases", "cases_dir", default="conformance", show_default=True, help="Folder of golden cases for --case."
)
@click.option(
    "--stale",
    type=click.Choice(["generate", "fail"]),
    default="generate",
    show_default=True,
    help="Local evaluation when --rego is not what --specs generate: decide with Rego generated into a temporary folder (and say so), or stop with exit 2.",
)
@click.option(
    "--watch", is_flag=True, help="Decide again on every save of the request, the case file or a spec (Ctrl-C stops)."
)
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds per HTTP attempt (with --server); the whole call has 3x this (two retries).",
)
def decide_command(
    request_file, server, token_file, as_json, rego_dir, specs_dir, case_name, cases_dir, stale, watch, timeout
) -> None:
    """Decide one prior-authorization request: a JSON or YAML file (- for stdin), or --case NAME.

    \b
    Without --server the decision is computed here with one `opa eval`, with Rego that
    matches the specs: --rego when it is what --specs generate, else Rego generated into a
    temporary folder (a note on stderr says so; `--stale fail` stops instead). So an edited
    spec is never decided with old Rego.
    \b
    Examples:
      rxrego decide request.yaml
      rxrego decide --case approved-adult-ph-negative --json
      rxrego decide request.json --server http://127.0.0.1:8181 --token-file token.txt
      rxrego decide request.yaml --watch       # again on every save
    A file holding OPA's data-API body {"input": <request>} (what `rxrego serve`'s curl
    sample posts) is decided as the request inside it, with a note saying so.
    \b
    Exit status (without --watch):
      0  approved (outcome "approved" with an approval period)
      1  any other decision: denied, pended, no_policy, invalid_request
         (a decision was made; it is not an approval)
      2  no decision: unreadable file, bad JSON or YAML, a request refused before it is
         decided (a key given twice, a number outside 0 or 1e-15..1e15, nesting deeper
         than 32 levels, a lone surrogate such as "\\ud800": the message names the field),
         sidecar unreachable (one line naming the URL) or refusing the token, OPA
         missing, stale Rego with --stale fail, or an answer that is not the decision
         contract
    A UTF-8 byte order mark opening the file is ignored.
    """
    from ..author.trial import RegoSource, RequestSource
    from ..author.trial import watch as watch_files
    from .errors import USER_ERRORS

    if token_file and not server:
        fail("--token-file is for --server; local evaluation needs no token")
    source = RequestSource(request_file, case_name, cases_dir)
    rego = RegoSource(specs_dir, rego_dir, stale) if not server else None
    token = None
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            fail(f"cannot read the token file {token_file}: {exc.strerror or exc}")

    def once() -> Decision:
        request, label = source.load()
        if source.wrapped(label):
            click.secho(f"note: {source.wrapped(label)}", fg="yellow", err=True)
        if server:
            try:
                client = RxRegoClient(server, token=token, timeout=timeout)
            except ValueError as exc:
                fail(str(exc))
            with client:
                # The file's JSON is sent as read, whatever its shape (decide() is typed for the
                # object a request should be; the sidecar answers any other shape).
                try:
                    decision = client.decide(request)  # type: ignore[arg-type]  # RxRegoError: "no decision: ...", exit 2
                except SidecarUnavailable as exc:  # one line: what failed, and what to check
                    raise SidecarUnavailable(
                        f"{exc}; is `rxrego serve` (or the OPA sidecar) running at {server}? Check the host and port."
                    ) from exc
        else:
            assert rego is not None, "a RegoSource is made whenever no server is given"
            fresh = rego.current()
            for note in rego.notes:
                click.secho(f"note: {note}", fg="yellow", err=True)
            decision = _local_decision(request, fresh.path)
        if as_json:
            click.echo(json.dumps(decision.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
        else:
            click.echo(summary(decision))
        return decision

    try:
        if watch:

            def shown() -> None:  # a mistake is shown and the watch goes on
                try:
                    once()
                except tuple(kind for kind, _ in USER_ERRORS) as exc:
                    prefix = next(p for kind, p in USER_ERRORS if isinstance(exc, kind))
                    click.secho(prefix + str(exc), fg="red", err=True)

            try:
                watch_files(
                    lambda: [*source.files(), *(rego.files() if rego else [])],
                    shown,
                    report=lambda line: click.secho(line, dim=True, err=True),
                )
            except KeyboardInterrupt:
                click.echo("", err=True)
            return
        decision = once()
    finally:
        if rego is not None:
            rego.close()
    sys.exit(ExitCode.APPROVED if decision.approved else ExitCode.NOT_APPROVED)


# --- deploy-config -------------------------------------------------------------------------------


@click.command("deploy-config")
@click.option(
    "--bundle-url",
    required=True,
    help="Where every sidecar polls the bundle, e.g. https://bundles.example/rxrego/bundle.tar.gz.",
)
@click.option(
    "--polling-min",
    default=10,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds OPA waits at least between polls.",
)
@click.option(
    "--polling-max",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds OPA waits at most between polls: the bound on how long a new revision takes to reach every sidecar.",
)
@click.option(
    "--verification-key",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM public key: OPA activates only bundles whose signature verifies (build them with `rxrego bundle --signing-key`).",
)
@_verification_alg_option
@click.option(
    "--decision-log",
    default="console",
    show_default=True,
    help="'console' (one JSON line per decision on OPA's stdout) or the URL of a decision-log service.",
)
@click.option(
    "--token-hash-file",
    type=click.Path(dir_okay=False),
    help="File holding the sha256 of the callers' bearer token: enables token authn + the rxrego authz policy.",
)
@click.option(
    "--policy-dir",
    type=click.Path(file_okay=False),
    help="Where to write the system policies (default: system/ beside -o).",
)
@_decoding_limit_options
@click.option(
    "--addr",
    default=deploy.DEFAULT_ADDR,
    show_default=True,
    help="The sidecar's listening address, for the printed command line (keep it on loopback).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The OPA configuration to write (.yaml/.yml, or .json).",
)
def deploy_config_command(
    bundle_url,
    polling_min,
    polling_max,
    verification_key,
    verification_alg,
    decision_log,
    token_hash_file,
    policy_dir,
    max_body_bytes,
    max_decompressed_bytes,
    addr,
    output,
) -> None:
    """Write the OPA configuration of an rxrego sidecar that polls a bundle server.

    \b
    Every service instance runs one sidecar with the same files:
      -o FILE            services + bundles.rxrego (polling, signing) + keys + decision_logs
                         + server.decoding (request size limits)
      system/log/        the decision-log mask (an allow-list: request id, type, date of
                         service and drug, and the answer; nothing else of the request)
      system/authz/      with --token-hash-file: only the decision paths and /health
    and prints the `opa run --server ...` line that runs it. Publish a new revision by
    replacing the bundle on the server (`rxrego bundle --signing-key ...`): each sidecar
    activates it within --polling-max seconds; decision logs name the revision that answered.
    """
    if polling_max < polling_min:
        fail(f"--polling-max ({polling_max}) must be >= --polling-min ({polling_min})")
    try:
        pem = Path(verification_key).read_text(encoding="utf-8") if verification_key else None
        digest = deploy.read_token_hash(Path(token_hash_file)) if token_hash_file else None
        config = deploy.opa_config(
            bundle_url,
            polling_min=polling_min,
            polling_max=polling_max,
            verification_key=pem,
            verification_alg=verification_alg,
            decision_log=decision_log,
            max_body_bytes=max_body_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
        )
        files, command = deploy.write(
            Path(output), config, policy_dir=Path(policy_dir) if policy_dir else None, token_sha256=digest, addr=addr
        )
    except (deploy.DeployError, OSError) as exc:
        fail(str(exc))
    for f in files:
        click.echo(f"wrote {f}", err=True)
    if not verification_key:
        click.secho(
            "warning: no --verification-key: sidecars will activate any bundle the server hands them",
            fg="yellow",
            err=True,
        )
    if not token_hash_file:
        click.secho(
            "warning: no --token-hash-file: anyone who reaches the port may read and write policies",
            fg="yellow",
            err=True,
        )
    click.echo("run each sidecar with:", err=True)
    click.echo(shlex.join(command))


COMMANDS = (bundle_command, serve_command, decide_command, deploy_config_command)
