"""The rxrego bundle served by the real `opa run --server` on a loopback port.

How OPA is started (all in a private temporary folder, removed on stop):

    opa run --server --addr 127.0.0.1:<port> --log-level error --log-format json
        --skip-version-check --config-file <tmp>/config.json
        [--authentication=token --authorization=basic]
        <tmp>/system

- The bundle is activated by OPA's bundle plugin from a private copy
  (`bundles.rxrego.resource: file:///<tmp>/bundle.tar.gz`). The plugin, unlike bundles
  given on the command line, lets the system policies below stay unsigned while the rxrego
  bundle is verified: with a verification key the config adds
  `bundles.rxrego.signing.keyid` and `keys.<id>: {key: <PEM>, algorithm: <alg>}`, and OPA
  refuses to activate a bundle that is unsigned or whose signature does not verify. The
  sidecar then reports OPA's reason and stops; it never serves a refused bundle.
- <tmp>/system holds the system policies shipped with rxrego (`rxrego/rego/system/`, each
  with its Rego tests): `system.log` (the decision-log mask, an allow-list: the logged input
  is replaced by the request's id, type, date of service and drug; docs/decision-log.md)
  and, with a token, `system.authz` (the caller whose bearer token hashes to the sha256 in
  `system.authz.token` may POST /v1/data/rxrego/decision and /v1/data/rxrego/decisions and
  GET /health; nothing else, for anybody). The token itself is never written to disk.
- Limits (`server.decoding` in the config): a body over `max_body_bytes` or a gzip body
  inflating over `max_decompressed_bytes` is refused by OPA before authentication and before
  any evaluation (400 "request body too large"); a batch over MAX_BATCH_REQUESTS requests is
  `invalid_request` (the generated router). rxrego.limits holds the defaults.
- Output: `decision_logs.console` makes OPA write each decision-log entry as one JSON line.
  OPA's output (decisions and its own error lines) goes straight to a FILE, never to a
  pipe, so nothing a request does can make OPA wait for Python: to `decision_log` when
  given (opened append-only, mode 0600), else to a private spool in the folder above whose
  complete lines a follower thread copies to `decision_stream` (decision entries) and
  `log_stream` (the rest), in bounded chunks. If the follower fails (say the console is
  closed), the sidecar records why (`failure`), kills OPA and so stops serving decisions:
  fail closed, never decisions without their log.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TextIO

import requests

from . import bundle as bundle_mod
from . import toolchain
from .limits import MAX_BATCH_REQUESTS as MAX_BATCH_REQUESTS  # re-exported
from .limits import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES

HOST = "127.0.0.1"
DEFAULT_PORT = 8181
VERIFICATION_ALGS = bundle_mod.SIGNING_ALGS
DECISION_LOG_TYPE = "openpolicyagent.org/decision_logs"

# The system policies shipped with rxrego, relative to the policy folder OPA loads.
MASK_MODULE = "log/mask.rego"
AUTHZ_MODULE = "authz/authz.rego"
TOKEN_MODULE = "authz/token/token.rego"

# The follower copies OPA's spool in chunks of this size; a line is classified (decision or
# not) from at most its first CLASSIFY_BYTES, so no line is ever held whole in memory.
CHUNK_BYTES = 64 * 1024
CLASSIFY_BYTES = 4096
# Only lines up to this size are parsed when looking for OPA's own errors (bundle refused).
DIAGNOSTIC_LINE_BYTES = 64 * 1024
# Waiting for the bundle: activation compiles every module (about 10-20 ms of CPU a policy
# module, so a catalog of thousands takes minutes on a busy machine). The wait lasts as long
# as OPA keeps working; it ends when OPA has used less than STALL_CPU_SECONDS of CPU over the
# last STALL_SECONDS without becoming healthy (stuck, or waiting on something that will not
# come), or at an explicit timeout.
STALL_SECONDS = 30.0
STALL_CPU_SECONDS = 0.05
PROGRESS_EVERY = 5.0


def system_policy(name: str) -> str:
    """The text of a shipped system policy, `name` one of MASK_MODULE, AUTHZ_MODULE."""
    return resources.files("rxrego").joinpath("rego", "system", name).read_text(encoding="utf-8")


def server_limits(max_body_bytes: int = MAX_BODY_BYTES, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> dict:
    """OPA's `server` configuration bounding a request: `decoding.max_length` (bytes read
    from a body, compressed or not) and `decoding.gzip.max_length` (bytes a gzip body may
    inflate to). Both must be positive integers (SidecarError otherwise)."""
    for name, value in (("max body bytes", max_body_bytes), ("max decompressed bytes", max_decompressed_bytes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SidecarError(f"the {name} must be a positive integer, not {value!r}")
    return {"decoding": {"max_length": max_body_bytes, "gzip": {"max_length": max_decompressed_bytes}}}


class SidecarError(RuntimeError):
    """OPA could not be started, refused the bundle, or did not become healthy."""


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on at the moment (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token(token: str) -> str:
    if not token or any(c.isspace() for c in token):
        raise SidecarError("the token must be non-empty and contain no whitespace")
    return token


def authz_policy(token: str) -> str:
    """The token module for `token`: what the shipped authorization policy compares the
    caller's token with (its sha256 only; SidecarError for an empty or spaced token)."""
    return token_module(token_sha256(check_token(token)))


def authz_policy_for_sha256(digest: str) -> str:
    """The token module for the token whose sha256 (64 hex digits) is `digest`: what
    `rxrego deploy-config --token-hash-file` writes, so the token never reaches the config."""
    return token_module(digest)


def token_module(digest: str) -> str:
    """`package system.authz.token` with `sha256 := "<digest>"`, read by the shipped
    system.authz policy. SidecarError unless `digest` is 64 hex digits."""
    digest = digest.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise SidecarError("a token hash must be the 64 hex digits of the token's sha256")
    return (
        "# Written by rxrego: the sha256 of the sidecar's bearer token (the token itself is\n"
        "# never written down). Read by system.authz (rxrego/rego/system/authz/authz.rego).\n"
        "package system.authz.token\n\n"
        f'sha256 := "{digest}"\n'
    )


def write_system_policies(system: Path, token_sha256: str | None = None) -> list[Path]:
    """Write the OPA system policies under `system` (the folder OPA loads beside its config):
    log/mask.rego (the decision-log mask) and, with a token hash, authz/authz.rego and
    authz/token/token.rego (run OPA with --authentication=token --authorization=basic).
    Without a token hash, the authz files of an earlier call are removed. Shared by the
    sidecar and `rxrego deploy-config`; the written paths are returned."""
    system = Path(system)
    texts = {MASK_MODULE: system_policy(MASK_MODULE)}
    if token_sha256 is not None:
        texts[AUTHZ_MODULE] = system_policy(AUTHZ_MODULE)
        texts[TOKEN_MODULE] = token_module(token_sha256)
    else:
        for stale in (TOKEN_MODULE, AUTHZ_MODULE):  # an old token's policy must not linger
            (system / stale).unlink(missing_ok=True)
    written = []
    for name, text in texts.items():
        path = system / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def merge_config(base: dict, extra: dict) -> dict:
    """`extra` merged into a copy of `base`, objects recursively (a value in extra wins)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out


def _terminate(proc: subprocess.Popen) -> None:
    """Last resort at garbage collection or interpreter exit: OPA must not outlive us."""
    if proc.poll() is None:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


class Sidecar:
    """`opa run --server` with the rxrego bundle on a loopback port.

        with Sidecar(Path("build/bundle.tar.gz")) as sidecar:   # start + wait_until_healthy
            RxRegoClient(sidecar.url).decide(request)

    `bundle=None` starts OPA without any bundle (every decision is then undefined), which
    tests use. `port=None` picks a free port. `config` is OPA configuration merged over the
    generated one: with `bundle=None` and the `services` + `bundles` of
    `rxrego.deploy.opa_config(...)`, OPA polls the bundle from a bundle server instead.
    `ready_timeout`: the most seconds to wait for the bundle's activation (None: as long as
    OPA keeps working on it; see wait_until_healthy).
    `decision_log` is a file OPA appends its output to (created 0600, an existing one is
    made 0600); without it, decision-log lines go to `decision_stream` and OPA's other lines
    to `log_stream` (either may be None: dropped). `max_body_bytes` and
    `max_decompressed_bytes` bound a request (see server_limits).
    """

    def __init__(
        self,
        bundle: Path | None,
        *,
        host: str = HOST,
        port: int | None = None,
        token: str | None = None,
        decision_log: Path | None = None,
        decision_stream: TextIO | None = None,
        log_stream: TextIO | None = None,
        verification_key: Path | None = None,
        verification_alg: str = "RS256",
        log_level: str = "error",
        ready_timeout: float | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
        config: dict | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise SidecarError(f"the sidecar listens on loopback only, not {host}")
        if verification_key is not None and bundle is None:
            raise SidecarError("a verification key needs a bundle to verify")
        if verification_alg not in VERIFICATION_ALGS:
            raise SidecarError(
                f"unsupported verification algorithm {verification_alg}; use one of {', '.join(VERIFICATION_ALGS)}"
            )
        self.limits = server_limits(max_body_bytes, max_decompressed_bytes)
        self.bundle = Path(bundle) if bundle is not None else None
        self.host = host
        self._auto_port = port is None
        self.port = port if port is not None else free_port(host)
        self.token = check_token(token) if token is not None else None
        self.decision_log = Path(decision_log) if decision_log is not None else None
        self.decision_stream = decision_stream
        self.log_stream = log_stream
        self.verification_key = Path(verification_key) if verification_key is not None else None
        self.verification_alg = verification_alg
        self.log_level = log_level
        self.ready_timeout = ready_timeout
        self.extra_config = dict(config) if config else {}
        self.revision: str | None = None
        self.process: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._output: Path | None = None  # the file OPA writes to
        self._output_start = 0  # where this run's output begins in it
        self._scan_pos = 0  # how far wait_until_healthy has looked for OPA's errors
        self._follower: threading.Thread | None = None
        self._stop_following = threading.Event()
        self._failure: str | None = None
        self._bundle_error: str | None = None
        self._finalizer: weakref.finalize | None = None

    # --- where it is ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def workdir(self) -> Path | None:
        """The private folder holding OPA's config, the bundle copy and the system policies
        (while running)."""
        return Path(self._tmp.name) if self._tmp is not None else None

    @property
    def bundle_error(self) -> str | None:
        """OPA's reason for refusing the bundle (e.g. a signature that does not verify), once
        wait_until_healthy has read it."""
        return self._bundle_error

    @property
    def failure(self) -> str | None:
        """Why the sidecar stopped serving on its own (its log pipeline failed), or None."""
        return self._failure

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self, tmp: Path) -> list[str]:
        """The OPA command line (without the binary) for the files staged in `tmp`."""
        args = [
            "run",
            "--server",
            "--addr",
            f"{self.host}:{self.port}",
            "--log-level",
            self.log_level,
            "--log-format",
            "json",
            "--skip-version-check",
            "--config-file",
            str(tmp / "config.json"),
        ]
        if self.token is not None:
            args += ["--authentication=token", "--authorization=basic"]
        args.append(str(tmp / "system"))
        return args

    # --- lifecycle -----------------------------------------------------------------------

    def _stage(self, tmp: Path) -> None:
        config: dict = {"labels": {"app": "rxrego"}, "decision_logs": {"console": True}, "server": self.limits}
        if self.bundle is not None:
            if not self.bundle.is_file():
                raise SidecarError(f"no such bundle: {self.bundle}")
            try:
                self.revision = bundle_mod.read_manifest(self.bundle).get("revision")
            except bundle_mod.BundleError as exc:
                raise SidecarError(str(exc)) from exc
            served = tmp / "bundle.tar.gz"
            shutil.copyfile(self.bundle, served)
            config["bundles"] = {"rxrego": {"resource": served.as_uri(), "persist": False}}
            if self.verification_key is not None:
                try:
                    pem = self.verification_key.read_text(encoding="utf-8")
                except OSError as exc:
                    raise SidecarError(f"cannot read the verification key {self.verification_key}: {exc}") from exc
                config["bundles"]["rxrego"]["signing"] = {"keyid": "rxrego"}
                config["keys"] = {"rxrego": {"key": pem, "algorithm": self.verification_alg}}
        if self.extra_config:
            config = merge_config(config, self.extra_config)
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (tmp / "config.json").chmod(0o600)
        write_system_policies(tmp / "system", token_sha256(self.token) if self.token is not None else None)

    def _open_output(self, tmp: Path) -> int:
        """The descriptor OPA writes to: the decision log (append-only, 0600) or the spool."""
        path = self.decision_log if self.decision_log is not None else tmp / "opa-output.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SidecarError(f"cannot open the decision log {path}: {exc.strerror or exc}") from exc
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)  # a log of decisions is for its owner only
            self._output = path
            self._output_start = self._scan_pos = os.fstat(fd).st_size
        except BaseException:
            os.close(fd)
            raise
        return fd

    def start(self) -> Sidecar:
        """Spawn OPA (returns at once; see wait_until_healthy)."""
        if self.running:
            raise SidecarError("the sidecar is already running")
        tool = toolchain.opa()  # ToolError when OPA is missing
        self._tmp = tempfile.TemporaryDirectory(prefix="rxrego-sidecar-")
        tmp = Path(self._tmp.name)
        self._bundle_error = None
        self._failure = None
        self._stop_following.clear()
        try:
            self._stage(tmp)
            fd = self._open_output(tmp)
            try:
                self.process = subprocess.Popen(
                    [str(tool.path), *self.command(tmp)],
                    stdin=subprocess.DEVNULL,
                    stdout=fd,
                    stderr=fd,
                )
            finally:
                os.close(fd)  # OPA holds its own copy
        except BaseException:
            self._cleanup()
            raise
        self._finalizer = weakref.finalize(self, _terminate, self.process)
        if self.decision_log is None:
            self._follower = threading.Thread(target=self._follow, name=f"opa-{self.port}", daemon=True)
            self._follower.start()
        return self

    def _follow(self) -> None:
        """Copy the spool's complete lines to the streams until stopped; on any failure,
        record it and kill OPA (no decisions without their log)."""
        try:
            self._copy_spool()
        except BaseException as exc:  # any failure must stop the serving
            self._fail(f"the decision-log follower failed: {type(exc).__name__}: {exc}")

    def _copy_spool(self) -> None:
        assert self._output is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        head: bytes | None = b""  # the start of a line not yet classified (at most CLASSIFY_BYTES)
        stream: TextIO | None = None  # where the current line goes, once classified
        with open(self._output, "rb") as f:
            f.seek(self._output_start)
            while True:
                chunk = f.read(CHUNK_BYTES)
                if not chunk:
                    if self._stop_following.is_set():
                        return
                    self._stop_following.wait(0.05)
                    continue
                while chunk:
                    end = chunk.find(b"\n")
                    piece, chunk = (chunk, b"") if end < 0 else (chunk[: end + 1], chunk[end + 1 :])
                    if stream is None and head is not None:
                        head += piece
                        if end < 0 and len(head) < CLASSIFY_BYTES:
                            continue
                        stream = self.decision_stream if _is_decision(head) else self.log_stream
                        piece, head = head, None
                    if stream is not None:
                        stream.write(decoder.decode(piece))
                    if end >= 0:  # the line is complete
                        if stream is not None:
                            stream.flush()
                        stream, head = None, b""
                        decoder.reset()

    def _fail(self, reason: str) -> None:
        """Stop serving: record why and kill OPA, so no decision goes unlogged."""
        self._failure = reason
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def _scan_output(self) -> None:
        """Read OPA's new output lines (off the request path, in bounded pieces) for its own
        errors: a refused bundle. Lines over DIAGNOSTIC_LINE_BYTES are skipped unparsed."""
        if self._output is None:
            return
        try:
            with open(self._output, "rb") as f:
                f.seek(self._scan_pos)
                while True:
                    line = f.readline(DIAGNOSTIC_LINE_BYTES + 1)
                    if not line.endswith(b"\n"):
                        if len(line) <= DIAGNOSTIC_LINE_BYTES:
                            return  # a line still being written: look again later
                        while line and not line.endswith(b"\n"):  # skip the rest of a long one
                            self._scan_pos += len(line)
                            line = f.readline(CHUNK_BYTES)
                        if not line:
                            return
                    self._scan_pos += len(line)
                    event = _json_line(line)
                    if event is None or _is_decision(line[:CLASSIFY_BYTES]):
                        continue
                    msg = _message(event)
                    if event.get("level") == "error" and (event.get("plugin") == "bundle" or msg.startswith("Bundle")):
                        self._bundle_error = msg
        except OSError:
            return

    def wait_until_healthy(
        self,
        timeout: float | None = None,
        *,
        progress: Callable[[float, float | None, int | None], None] | None = None,
        progress_every: float = PROGRESS_EVERY,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        """Return once GET /health?bundles answers 200 (OPA up, bundle activated).

        The wait lasts as long as activation needs: it gives up only when OPA has used less
        than STALL_CPU_SECONDS of CPU over the last `stall_seconds` without becoming healthy,
        or after `timeout` seconds (default: the sidecar's ready_timeout; None: no limit).
        `progress(elapsed_s, opa_cpu_s, opa_rss_bytes)` is called every `progress_every`
        seconds while waiting (CPU and RSS None where /proc cannot tell). Raise SidecarError,
        with OPA's own words, if OPA exits, refuses the bundle, stalls or is not healthy in
        time."""
        timeout = self.ready_timeout if timeout is None else timeout
        if self.process is None:
            raise SidecarError("the sidecar was not started")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        next_progress = start + progress_every
        cpu_marks: list[tuple[float, float]] = []  # (when, OPA's CPU seconds), the last stall window
        last = "no answer yet"
        with requests.Session() as session:
            session.trust_env = False
            while True:
                self._scan_output()
                if self._failure:
                    raise SidecarError(self._failure)
                if self.process.poll() is not None:
                    raise SidecarError(f"OPA exited with status {self.process.returncode}: {self.last_words()}")
                if self._bundle_error:
                    raise SidecarError(f"OPA refused the bundle: {self._bundle_error}")
                try:
                    resp = session.get(f"{self.url}/health?bundles", headers=headers, timeout=1.0)
                    if resp.status_code == 200:
                        return
                    last = f"{resp.status_code} {resp.text.strip()[:200]}"
                except requests.RequestException as exc:
                    last = type(exc).__name__
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise SidecarError(f"OPA was not healthy within {timeout:g}s (last: {last}); {self.last_words()}")
                cpu = process_cpu_seconds(self.process.pid)
                if cpu is not None:
                    cpu_marks.append((now, cpu))
                    while len(cpu_marks) > 1 and cpu_marks[1][0] <= now - stall_seconds:
                        cpu_marks.pop(0)
                    since, cpu_then = cpu_marks[0]
                    if now - since >= stall_seconds and cpu - cpu_then < STALL_CPU_SECONDS:
                        raise SidecarError(
                            f"OPA did no work for {stall_seconds:g}s and is not healthy after {now - start:.0f}s "
                            f"(last: {last}); {self.last_words()}"
                        )
                if progress is not None and now >= next_progress:
                    progress(now - start, cpu, process_rss_bytes(self.process.pid))
                    next_progress = now + progress_every
                time.sleep(0.05 if now - start < 2 else 0.25)

    def health(self, timeout: float = 2.0) -> tuple[bool, str]:
        """(healthy, why): OPA answers GET /health?bundles with 200 and the log pipeline has
        not failed. A failed pipeline is unhealthy whatever OPA would say."""
        if self._failure:
            return False, self._failure
        if not self.running:
            return False, "OPA is not running"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with requests.Session() as session:
                session.trust_env = False  # loopback: never through a proxy
                resp = session.get(f"{self.url}/health?bundles", headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            return False, f"/health?bundles: {type(exc).__name__}"
        return resp.status_code == 200, f"/health?bundles: {resp.status_code}"

    def last_words(self, n: int = 5) -> str:
        """OPA's last `n` non-decision output lines (from the end of its output, bounded)."""
        time.sleep(0.05)  # let OPA's last lines reach the file
        if self._output is None:
            return "(OPA printed nothing)"
        try:
            with open(self._output, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                begin = max(self._output_start, size - DIAGNOSTIC_LINE_BYTES)
                f.seek(begin)
                tail = f.read(size - begin)
        except OSError:
            return "(OPA's output is unreadable)"
        lines = [line for line in tail.split(b"\n") if line.strip() and not _is_decision(line[:CLASSIFY_BYTES])]
        if begin > self._output_start and lines:
            lines = lines[1:]  # the first may be a fragment
        msgs = []
        for line in lines[-n:]:
            event = _json_line(line)
            msgs.append(_message(event) if event is not None else line.decode("utf-8", "replace")[:500])
        return " | ".join(msgs) if msgs else "(OPA printed nothing)"

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM OPA, wait for it (SIGKILL after `timeout`), clean up. Idempotent; the exit
        status of OPA, or None if it never started."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._cleanup()
        return proc.returncode if proc is not None else None

    def _cleanup(self) -> None:
        self._stop_following.set()  # the follower copies what OPA wrote last, then returns
        if self._follower is not None:
            self._follower.join(timeout=10)
            self._follower = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._output = None

    def __enter__(self) -> Sidecar:
        for attempt in range(3):
            self.start()
            try:
                self.wait_until_healthy()
                return self
            except SidecarError as exc:
                self.stop()
                # Another process may have taken the free port between the check and OPA's bind.
                if self._auto_port and "address already in use" in str(exc) and attempt < 2:
                    self.port = free_port(self.host)
                    continue
                raise
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process `pid` has used (/proc/<pid>/stat), or None where
    /proc cannot tell (not Linux, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def process_rss_bytes(pid: int) -> int | None:
    """Resident set size of process `pid` in bytes (VmRSS in /proc/<pid>/status), or None."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return None
    return None


def _is_decision(head: bytes) -> bool:
    """Whether an OPA output line, from its first bytes, is a decision-log entry. OPA's JSON
    log lines have their keys sorted, and an entry's `decision_id` comes before its input
    and result, so the key appears in the head, unescaped, only in an entry."""
    return b'"decision_id":"' in head


def _json_line(line: bytes) -> dict | None:
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


def _message(event: dict) -> str:
    msg = str(event.get("msg", ""))
    return f"{msg} {event['err']}" if event.get("err") else msg
