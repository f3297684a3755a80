"""OPA configuration for sidecars fed from one bundle server: `rxrego deploy-config`.

A sidecar per service instance runs the real `opa run --server` on loopback; every sidecar
polls the same bundle (`rxrego bundle`, signed) from a bundle server or an object store. This
module writes what one sidecar needs, the same for every instance:

    <out>                 OPA's configuration (YAML, or JSON when <out> ends in .json):
                          services.bundles (the bundle server), bundles.rxrego (resource,
                          polling interval, signing.keyid), keys.rxrego (the public key and
                          algorithm), decision_logs (console, or a decision-log service),
                          server.decoding (the most bytes a body may hold, and inflate to)
    <policy-dir>/log/mask.rego     data.system.log.mask: every decision-log entry keeps only
                                   the request's id, type, date of service and drug, and the
                                   answer (an allow-list; docs/decision-log.md)
    <policy-dir>/authz/authz.rego  with --token-hash-file: data.system.authz, the holder of the
                                   token may only POST the two decision paths and GET /health
    <policy-dir>/authz/token/token.rego   the token's sha256, read by authz.rego

The system policies are the ones `rxrego serve` loads (shipped in rxrego/rego/system/, with
their Rego tests), written by the same function. They are loaded from the command line, outside the bundle (whose only root is
"rxrego"), so a bundle can never replace them:

    opa run --server --addr 127.0.0.1:8181 --config-file <out> \\
        --authentication=token --authorization=basic <policy-dir>

(`opa_command` gives that line; the authn/authz flags only with a token hash.)
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from . import bundle as bundle_mod
from .limits import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES
from .sidecar import SidecarError, server_limits, write_system_policies

BUNDLE_NAME = "rxrego"
BUNDLE_SERVICE = "bundles"
LOG_SERVICE = "decision-logs"
KEY_ID = "rxrego"
DEFAULT_ADDR = "127.0.0.1:8181"
DEFAULT_LOG_RESOURCE = "/logs"


class DeployError(ValueError):
    """The options do not make a usable sidecar configuration; the message says why."""


def split_url(url: str, what: str) -> tuple[str, str]:
    """(service URL, resource) of an http(s) URL: http://h:p/a/b.tar.gz -> (http://h:p, a/b.tar.gz)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeployError(f"the {what} must be an http(s):// URL, not {url!r}")
    if parts.username or parts.password:
        raise DeployError(f"the {what} must not carry credentials; OPA's services take them from credentials config")
    if parts.fragment:
        raise DeployError(f"the {what} must not have a #fragment")
    resource = parts.path.lstrip("/")
    if parts.query:
        resource += "?" + parts.query
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), resource


def opa_config(
    bundle_url: str,
    *,
    polling_min: int = 10,
    polling_max: int = 20,
    verification_key: str | None = None,
    verification_alg: str = "RS256",
    decision_log: str = "console",
    labels: dict[str, str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> dict:
    """OPA's configuration for one sidecar (a plain dict; dump it as YAML or JSON).

    `verification_key` is the PEM text of the public key: OPA then activates only a bundle
    whose .signatures.json verifies with it. `decision_log` is "console" (one JSON line per
    decision on OPA's stdout) or the http(s) URL of a decision-log service (OPA POSTs
    gzip'ed batches to it). `max_body_bytes` and `max_decompressed_bytes` become OPA's
    `server.decoding` limits (rxrego.sidecar.server_limits)."""
    if polling_min < 1 or polling_max < polling_min:
        raise DeployError(f"polling needs 1 <= min <= max seconds, not min {polling_min}, max {polling_max}")
    try:
        limits = server_limits(max_body_bytes, max_decompressed_bytes)
    except SidecarError as exc:
        raise DeployError(str(exc)) from exc
    service_url, resource = split_url(bundle_url, "bundle URL")
    if not resource:
        raise DeployError(f"the bundle URL {bundle_url!r} names no file (e.g. .../bundles/rxrego.tar.gz)")
    config: dict = {
        "labels": {"app": "rxrego", **(labels or {})},
        "services": {BUNDLE_SERVICE: {"url": service_url}},
        "bundles": {
            BUNDLE_NAME: {
                "service": BUNDLE_SERVICE,
                "resource": resource,
                "persist": False,
                "polling": {"min_delay_seconds": polling_min, "max_delay_seconds": polling_max},
            }
        },
        "server": limits,
    }
    if verification_key is not None:
        if verification_alg not in bundle_mod.SIGNING_ALGS:
            raise DeployError(
                f"unsupported verification algorithm {verification_alg}; use one of {', '.join(bundle_mod.SIGNING_ALGS)}"
            )
        if "-----BEGIN" not in verification_key:
            raise DeployError("the verification key must be a PEM public key")
        config["bundles"][BUNDLE_NAME]["signing"] = {"keyid": KEY_ID}
        config["keys"] = {KEY_ID: {"key": verification_key, "algorithm": verification_alg}}
    if decision_log == "console":
        config["decision_logs"] = {"console": True}
    else:
        log_url, log_resource = split_url(decision_log, "decision-log service URL (or 'console')")
        config["services"][LOG_SERVICE] = {"url": log_url}
        config["decision_logs"] = {
            "service": LOG_SERVICE,
            "resource": "/" + log_resource if log_resource else DEFAULT_LOG_RESOURCE,
            "reporting": {"min_delay_seconds": 5, "max_delay_seconds": 10},
        }
    return config


def opa_command(
    config_file: Path | str,
    policy_dir: Path | str,
    *,
    addr: str = DEFAULT_ADDR,
    token: bool = True,
    opa: str = "opa",
    extra_args: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """The command line that runs one sidecar with this configuration (`extra_args`, e.g.
    --log-level, go before the policy folder)."""
    args = [opa, "run", "--server", "--addr", addr, "--skip-version-check", "--config-file", str(config_file)]
    if token:
        args += ["--authentication=token", "--authorization=basic"]
    args += [*extra_args, str(policy_dir)]
    return args


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None  # the PEM key as a readable block
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(config: dict, fmt: str, command: list[str] | None = None) -> str:
    """The configuration as YAML (with the command line as a comment) or JSON."""
    if fmt == "json":
        return json.dumps(config, indent=2) + "\n"
    head = "# OPA configuration for an rxrego sidecar, written by `rxrego deploy-config`.\n"
    if command:
        head += "# Run it with:\n#   " + shlex.join(command) + "\n"
    return head + yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def read_token_hash(path: Path) -> str:
    """The sha256 (64 hex digits) in `path`: `printf %s "$TOKEN" | sha256sum | cut -d' ' -f1`."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DeployError(f"cannot read the token hash file {path}: {exc.strerror or exc}") from exc
    text = text.split()[0] if text else ""  # sha256sum's "<hex>  -" is fine too
    text = text.removeprefix("sha256:").lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise DeployError(f'{path} must hold the token\'s sha256 as 64 hex digits (printf %s "$TOKEN" | sha256sum)')
    return text


def write(
    out: Path,
    config: dict,
    *,
    policy_dir: Path | None = None,
    token_sha256: str | None = None,
    addr: str = DEFAULT_ADDR,
    opa: str = "opa",
) -> tuple[list[Path], list[str]]:
    """Write the configuration to `out` and the system policies to `policy_dir` (default:
    `system/` beside `out`). The written files and the command line that runs OPA."""
    out = Path(out)
    policy_dir = Path(policy_dir) if policy_dir is not None else out.parent / "system"
    fmt = "json" if out.suffix.lower() == ".json" else "yaml"
    command = opa_command(out, policy_dir, addr=addr, token=token_sha256 is not None, opa=opa)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = write_system_policies(policy_dir, token_sha256)
    except SidecarError as exc:
        raise DeployError(str(exc)) from exc
    out.write_text(render(config, fmt, command), encoding="utf-8")
    return [out, *written], command
