"""`rxrego decide`: one request, decided by the sidecar or by a local `opa eval`.

Kept apart from the client API so that importing rxrego.client does not import click.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..client.decision import Decision
from ..client.errors import RxRegoError
from ..client.http import RxRegoClient

EXIT_APPROVED = 0
EXIT_NOT_APPROVED = 1
EXIT_ERROR = 2


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
        lines.append(f"approval    {a.start.isoformat()} to {a.end.isoformat()} ({a.duration_months} months)")
    elif decision.outcome == "approved":
        lines.append("approval    NONE: the decision has no approval period, so it is not an approval")
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
            lines.append(f"      send: {', '.join(m.fields)}")
    if decision.errors:
        lines.append("errors:")
        lines += [f"  - {e.field or '(request)'}: {e.message}" for e in decision.errors]
    return "\n".join(lines)


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(EXIT_ERROR)


def _read_request(request_file: str) -> object:
    try:
        if request_file == "-":
            text = sys.stdin.read()
        else:
            text = Path(request_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"no such file: {request_file}")
    except IsADirectoryError:
        _fail(f"{request_file} is a folder, not a request file")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {request_file}: {exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{request_file}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")


def _local_decision(request: object, rego_dir: str) -> Decision:
    from .. import opa, toolchain

    if not Path(rego_dir).is_dir():
        _fail(f"no such folder: {rego_dir} (generate the Rego with `rxrego generate`, or pass --server)")
    try:
        value = opa.eval_batch(Path(rego_dir), "data.rxrego.decision", request)["value"]
    except toolchain.ToolError as exc:
        _fail(str(exc))
    except opa.OpaError as exc:
        _fail(str(exc))
    return Decision.from_dict(value)


@click.command("decide")
@click.argument("request_file", metavar="REQUEST.json")
@click.option("--server", metavar="URL", help="The sidecar, e.g. http://127.0.0.1:8181 (default: evaluate locally with opa eval).")
@click.option("--token-file", type=click.Path(dir_okay=False), help="File holding the sidecar's bearer token.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision document (JSON) instead of a summary.")
@click.option("--rego", "rego_dir", default="rego", show_default=True, help="Rego folder for local evaluation.")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds per HTTP attempt (with --server).")
def decide_command(request_file: str, server: str | None, token_file: str | None, as_json: bool, rego_dir: str, timeout: float) -> None:
    """Decide one prior-authorization request (a JSON file, or - for stdin).

    \b
    Without --server the decision is computed here with one `opa eval` over --rego.
    Exit status:
      0  approved (outcome "approved" with an approval period)
      1  any other decision: denied, pended, no_policy, invalid_request
         (a decision was made; it is not an approval)
      2  no decision: unreadable file, bad JSON, sidecar down or refusing the token,
         OPA missing, or an answer that is not the decision contract
    """
    request = _read_request(request_file)
    if token_file and not server:
        _fail("--token-file is for --server; local evaluation needs no token")
    try:
        if server:
            token = None
            if token_file:
                try:
                    token = Path(token_file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    _fail(f"cannot read the token file {token_file}: {exc.strerror or exc}")
            try:
                client = RxRegoClient(server, token=token, timeout=timeout)
            except ValueError as exc:
                _fail(str(exc))
            with client:
                decision = client.decide(request)
        else:
            decision = _local_decision(request, rego_dir)
    except RxRegoError as exc:
        _fail(f"no decision: {exc}")
    if as_json:
        click.echo(json.dumps(decision.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(summary(decision))
    sys.exit(EXIT_APPROVED if decision.approved else EXIT_NOT_APPROVED)
