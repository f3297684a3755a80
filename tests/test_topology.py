"""Many OPA sidecars fed from one bundle server, on loopback.

The topology: Debian's nginx (started here with its own minimal nginx.conf: daemon off, pid
and logs in a temporary folder, `listen 127.0.0.1:<free port>`, `etag on`) serves the
signed bundle; three `opa run --server` processes run with the configuration written by
`rxrego deploy-config` (polling 1-2 s, the verification key, console decision logs, the
token authz policy), each on its own free loopback port, started with the very command line
deploy-config gives.

Which revision a sidecar serves is read from its decision log: every decision-log entry
carries `bundles.rxrego.revision` (the data API's answer does not). A probe asks for a
decision and looks its decision_id up in that sidecar's console log.

The scenario: signed revision A -> all three converge and agree on the 5.21.100 golden
cases; signed revision B (other liver-test wording) -> all converge within the polling bound;
a bundle signed with another key -> every sidecar refuses it and keeps B; nginx stopped ->
every sidecar keeps serving B.

nginx is required: with CI=true a missing nginx fails the test, elsewhere it skips (`make
test` installs it as root: the Makefile's system-deps target).
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from rxrego import bundle, deploy, limits
from rxrego.cli import main as cli_main
from rxrego.client import DECISION_PATH, RxRegoClient
from rxrego.conformance.cases import load_case_file, mismatches
from rxrego.sidecar import free_port
from test_client_sidecar import APPROVED, bearer, logged_facts
from test_faults import BundleServer, generate_revisions, liver_denied, publish, wording

ROOT = Path(__file__).resolve().parent.parent
CASE_FILE = ROOT / "conformance" / "fep" / "5.21.100-besponsa.cases.yaml"
POLLING_MIN, POLLING_MAX = 1, 2
MARGIN = 3.0  # seconds on top of max_delay: one download + signature check + activation
N_SIDECARS = 3


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require(name: str, found: str | None, hint: str) -> str:
    if found:
        return found
    if _in_ci():
        pytest.fail(f"{name} is required in CI and is missing; {hint}")
    pytest.skip(f"{name} not available; {hint}")


@pytest.fixture(scope="module")
def nginx_path() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    return _require(
        "nginx", found, "`make test` installs Debian's nginx when run as root (Makefile target system-deps)"
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    """Two RSA key pairs (a: the publisher's, b: somebody else's)."""
    openssl = _require("openssl", shutil.which("openssl"), "it makes the signing keys")
    work = tmp_path_factory.mktemp("topology-keys")
    out = {}
    for name in ("a", "b"):
        key, pub = work / f"{name}.key.pem", work / f"{name}.pub.pem"
        subprocess.run(
            [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
            check=True,
            capture_output=True,
        )
        subprocess.run([openssl, "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True)
        out[name], out[f"{name}_pub"] = key, pub
    return out


# --- nginx ------------------------------------------------------------------------------------

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/client_body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        etag on;
    }}
}}
"""


class Nginx:
    """nginx in the foreground in its own process group, everything in `dir`. The folder is
    world-readable: run as root, nginx's workers are `nobody` and must read the bundles."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="rxrego-nginx-"))
        self.dir.chmod(0o755)
        (self.dir / "www" / "bundles").mkdir(parents=True)
        (self.dir / "tmp").mkdir()
        for d in (self.dir / "www", self.dir / "www" / "bundles"):
            d.chmod(0o755)
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bundle_file(self) -> Path:
        return self.dir / "www" / "bundles" / "rxrego.tar.gz"

    def start(self) -> None:
        for _ in range(3):
            self.port = free_port()
            conf = self.dir / "nginx.conf"
            conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port))
            subprocess.run(
                [self.binary, "-t", "-q", "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(conf)],
                check=True,
                capture_output=True,
                timeout=20,
            )
            with open(self.dir / "stderr.log", "ab") as err:
                self.process = subprocess.Popen(
                    [self.binary, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    start_new_session=True,
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    requests.head(self.url + "/bundles/rxrego.tar.gz", timeout=1)
                    return
                except requests.ConnectionError:
                    time.sleep(0.05)
            self.stop()
            if "Address already in use" not in (self.dir / "error.log").read_text(errors="replace"):
                break
        raise AssertionError(f"nginx did not start: {(self.dir / 'error.log').read_text(errors='replace')[-1000:]}")

    def stop(self) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # nginx's fast shutdown, workers included
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def statuses(self) -> collections.Counter:
        log = self.dir / "access.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return collections.Counter(m.group(1) for m in re.finditer(r'" (\d{3}) ', text))

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- OPA sidecars as an operator runs them ----------------------------------------------------

DECISION_LOG_TYPE = "openpolicyagent.org/decision_logs"


class OpaSidecar:
    """`opa run --server` with the deploy-config command line, in its own process group;
    its console decision logs are kept by decision_id, its error lines with their time."""

    def __init__(self, command_for_port, name: str) -> None:
        self.command_for_port = command_for_port
        self.name = name
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.decisions: dict[str, dict] = {}
        self.errors: list[tuple[float, str]] = []
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self._cv = threading.Condition()
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, token: str) -> None:
        for _ in range(3):
            self.port = free_port()
            self.process = subprocess.Popen(
                self.command_for_port(self.port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
            self._reader = threading.Thread(target=self._read, name=f"opa-{self.name}", daemon=True)
            self._reader.start()
            with RxRegoClient(self.url, token=token, timeout=2.0) as c:
                try:
                    c.wait_until_ready(30)
                    return
                except Exception:
                    self.stop()
                    if not any("address already in use" in line for line in self.lines):
                        raise AssertionError(f"sidecar {self.name} did not start: {list(self.lines)[-5:]}") from None
        raise AssertionError(f"sidecar {self.name}: no free port after 3 tries")

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            with self._cv:
                if event.get("type") == DECISION_LOG_TYPE:
                    self.decisions[event["decision_id"]] = event
                elif event.get("level") == "error":
                    self.errors.append((time.monotonic(), str(event.get("msg", ""))))
                self._cv.notify_all()

    def decision(self, decision_id: str, timeout: float = 5.0) -> dict:
        with self._cv:
            if not self._cv.wait_for(lambda: decision_id in self.decisions, timeout=timeout):
                raise AssertionError(f"sidecar {self.name}: no decision log for {decision_id}")
            return self.decisions[decision_id]

    def errors_since(self, t: float) -> list[str]:
        with self._cv:
            return [m for at, m in self.errors if at >= t]

    def stop(self) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._reader is not None:
            self._reader.join(timeout=5)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()


def probe(sidecar: OpaSidecar, session: requests.Session | None, token: str, n: int) -> tuple[str, str]:
    """(revision from the decision log, wording of the answer) for one liver-test denial."""
    if session is None:
        with requests.Session() as own:
            own.trust_env = False
            return probe(sidecar, own, token, n)
    resp = session.post(
        sidecar.url + DECISION_PATH,
        json={"input": liver_denied(f"probe-{sidecar.name}-{n}")},
        headers=bearer(token),
        timeout=5,
    )
    resp.raise_for_status()
    doc = resp.json()
    entry = sidecar.decision(doc["decision_id"])
    assert entry["result"] == doc["result"]
    return entry["bundles"]["rxrego"]["revision"], wording(doc["result"])


def wait_for_revision(
    sidecar: OpaSidecar, token: str, revision: str, since: float, deadline: float, words: dict[str, str]
) -> float:
    """Seconds from `since` until the sidecar answers with `revision` (probing every 50 ms).
    Every answer's wording must match the revision the decision log names."""
    n = 0
    with requests.Session() as session:
        session.trust_env = False
        while True:
            rev, w = probe(sidecar, session, token, n)
            assert words[rev] == w, f"sidecar {sidecar.name}: revision {rev} answered with wording {w}"
            if rev == revision:
                return time.monotonic() - since
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"sidecar {sidecar.name} still on {rev}, not {revision}, {time.monotonic() - since:.1f}s after publishing"
                )
            n += 1
            time.sleep(0.05)


# --- the topology -----------------------------------------------------------------------------


@pytest.mark.opa
def test_three_sidecars_fed_from_one_nginx(opa_path, nginx_path, keys, tmp_path):
    revisions = generate_revisions(tmp_path)
    signed = {
        "a": bundle.build(revisions["a"], tmp_path / "a.tar.gz", signing_key=keys["a"]),
        "b": bundle.build(revisions["b"], tmp_path / "b.tar.gz", signing_key=keys["a"]),
        # A's content signed with somebody else's key: if it were taken, A's wording would return
        "forged": bundle.build(revisions["a"], tmp_path / "forged.tar.gz", signing_key=keys["b"]),
    }
    rev_a, rev_b = signed["a"].revision, signed["b"].revision
    words = {rev_a: "a", rev_b: "b"}
    cases = load_case_file(CASE_FILE).cases
    golden = [c.request for c in cases]

    token = secrets.token_urlsafe(32)
    hash_file = tmp_path / "token.sha256"
    hash_file.write_text(hashlib.sha256(token.encode()).hexdigest() + "\n")
    nginx = Nginx(nginx_path)
    sidecars: list[OpaSidecar] = []
    times: dict[str, list[float]] = {}
    try:
        publish(signed["a"].path, nginx.bundle_file)
        nginx.start()
        head = requests.head(f"{nginx.url}/bundles/rxrego.tar.gz", timeout=5)
        assert head.status_code == 200 and head.headers.get("ETag"), head.headers
        again = requests.get(
            f"{nginx.url}/bundles/rxrego.tar.gz", headers={"If-None-Match": head.headers["ETag"]}, timeout=5
        )
        assert again.status_code == 304  # a poll of an unchanged bundle costs no download

        # one configuration for every sidecar, written by deploy-config
        config = tmp_path / "deploy" / "opa-config.yaml"
        result = CliRunner().invoke(
            cli_main,
            [
                "deploy-config",
                "--bundle-url", f"{nginx.url}/bundles/rxrego.tar.gz",
                "--polling-min", str(POLLING_MIN),
                "--polling-max", str(POLLING_MAX),
                "--verification-key", str(keys["a_pub"]),
                "--verification-alg", "RS256",
                "--decision-log", "console",
                "--token-hash-file", str(hash_file),
                "-o", str(config),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        policy_dir = config.parent / "system"
        printed = deploy.opa_command(config, policy_dir)
        assert " ".join(printed) in result.output
        doc = yaml.safe_load(config.read_text())
        assert doc["services"]["bundles"]["url"] == nginx.url
        assert doc["bundles"]["rxrego"] == {
            "service": "bundles",
            "resource": "bundles/rxrego.tar.gz",
            "persist": False,
            "polling": {"min_delay_seconds": POLLING_MIN, "max_delay_seconds": POLLING_MAX},
            "signing": {"keyid": "rxrego"},
        }
        assert doc["keys"]["rxrego"] == {"key": keys["a_pub"].read_text(), "algorithm": "RS256"}
        assert doc["decision_logs"] == {"console": True}
        assert token not in config.read_text() and (policy_dir / "authz" / "authz.rego").is_file()

        def command_for_port(port: int) -> list[str]:
            return deploy.opa_command(
                config, policy_dir, addr=f"127.0.0.1:{port}", token=True, opa=str(opa_path),
                extra_args=["--log-level", "error", "--log-format", "json"],
            )  # fmt: skip

        sidecars = [OpaSidecar(command_for_port, str(i)) for i in range(N_SIDECARS)]
        with ThreadPoolExecutor(max_workers=N_SIDECARS) as pool:
            list(pool.map(lambda s: s.start(token), sidecars))  # healthy: A activated

        def every(fn):
            with ThreadPoolExecutor(max_workers=N_SIDECARS) as pool:
                return list(pool.map(fn, sidecars))

        def golden_decisions(s: OpaSidecar) -> list[dict]:
            with RxRegoClient(s.url, token=token, timeout=10.0) as c:
                return [d.raw for d in c.decide_many(golden)]

        # revision A everywhere: the same decisions on the golden cases, and the right ones
        now = time.monotonic()
        times["A"] = every(lambda s: wait_for_revision(s, token, rev_a, now, now + 5, words))
        decided_a = every(golden_decisions)
        assert decided_a[1:] == decided_a[:-1]
        failing = [(c.name, m) for c, d in zip(cases, decided_a[0], strict=True) for m in mismatches(c.expect, d)]
        assert failing == [], failing[:5]

        # revision B: every sidecar within the polling bound
        published = publish(signed["b"].path, nginx.bundle_file)
        times["B"] = every(
            lambda s: wait_for_revision(s, token, rev_b, published, published + POLLING_MAX + MARGIN, words)
        )
        assert max(times["B"]) <= POLLING_MAX + MARGIN, times["B"]
        decided_b = every(golden_decisions)
        assert decided_b[1:] == decided_b[:-1]
        assert [d["outcome"] for d in decided_b[0]] == [d["outcome"] for d in decided_a[0]]

        # a bundle signed with another key: refused by each, B kept
        published = publish(signed["forged"].path, nginx.bundle_file)

        def seconds_until_logged(s: OpaSidecar, since: float, needle: str, what: str) -> float:
            """How long after `since` the sidecar logged an error containing `needle`."""
            deadline = since + POLLING_MAX + MARGIN
            while not any(needle in m for m in s.errors_since(since)):
                assert time.monotonic() < deadline, f"sidecar {s.name} {what}: {list(s.lines)[-3:]}"
                time.sleep(0.05)
            return time.monotonic() - since

        times["refused"] = every(lambda s: seconds_until_logged(s, published, "verif", "did not try the forged bundle"))
        assert every(lambda s: probe(s, None, token, 1000)) == [(rev_b, "b")] * N_SIDECARS
        assert (
            every(lambda s: requests.get(s.url + "/health?bundles", headers=bearer(token), timeout=5).status_code)
            == [200] * N_SIDECARS
        )
        assert every(golden_decisions) == decided_b

        # the bundle server gone: each sidecar fails a poll and keeps serving B
        statuses = nginx.statuses()
        nginx.stop()
        stopped = time.monotonic()

        times["server down"] = every(
            lambda s: seconds_until_logged(s, stopped, "connection refused", "did not poll the stopped server")
        )
        assert every(lambda s: probe(s, None, token, 2000)) == [(rev_b, "b")] * N_SIDECARS
        assert every(golden_decisions) == decided_b

        def fmt(xs: list[float]) -> str:
            return ", ".join(f"{x:.2f}" for x in xs) + " s"

        print(
            f"\ntopology: nginx {nginx.url} + {N_SIDECARS} sidecars, polling {POLLING_MIN}-{POLLING_MAX} s, {len(golden)} golden cases each\n"
            f"  A {rev_a}: serving on all after {fmt(times['A'])}; identical golden decisions\n"
            f"  B {rev_b}: converged {fmt(times['B'])} after publishing (bound {POLLING_MAX + MARGIN:g} s)\n"
            f"  forged signature: refused by all after {fmt(times['refused'])}; all still on B\n"
            f"  nginx stopped: failed polls seen after {fmt(times['server down'])}; all still on B\n"
            f"  nginx access log before the stop: {dict(sorted(statuses.items()))} (304: not modified)"
        )
    finally:
        for s in sidecars:
            s.stop()
        nginx.cleanup()


# --- deploy-config on its own -----------------------------------------------------------------


def test_deploy_config_writes_json_yaml_and_refuses_bad_options(tmp_path, keys):
    runner = CliRunner()
    out = tmp_path / "cfg" / "opa.json"
    digest = hashlib.sha256(b"tok").hexdigest()
    (tmp_path / "hash").write_text(f"{digest}  -\n")  # sha256sum's own output is fine
    r = runner.invoke(
        cli_main,
        ["deploy-config", "--bundle-url", "https://bundles.example:8443/rx/bundle.tar.gz?v=1", "--decision-log", "http://127.0.0.1:9/v1/logs",
         "--token-hash-file", str(tmp_path / "hash"), "--verification-key", str(keys["a_pub"]), "--verification-alg", "PS256",
         "--addr", "127.0.0.1:9191", "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["services"] == {
        "bundles": {"url": "https://bundles.example:8443"},
        "decision-logs": {"url": "http://127.0.0.1:9"},
    }
    assert doc["bundles"]["rxrego"]["resource"] == "rx/bundle.tar.gz?v=1"
    assert doc["bundles"]["rxrego"]["polling"] == {"min_delay_seconds": 10, "max_delay_seconds": 20}
    assert doc["keys"]["rxrego"]["algorithm"] == "PS256"
    assert doc["decision_logs"]["service"] == "decision-logs" and doc["decision_logs"]["resource"] == "/v1/logs"
    authz = out.parent / "system" / "authz" / "authz.rego"
    token_module = out.parent / "system" / "authz" / "token" / "token.rego"
    assert (
        digest in token_module.read_text()
        and authz.is_file()
        and (out.parent / "system" / "log" / "mask.rego").is_file()
    )
    assert doc["server"] == {
        "decoding": {"max_length": limits.MAX_BODY_BYTES, "gzip": {"max_length": limits.MAX_DECOMPRESSED_BYTES}}
    }
    assert "--addr 127.0.0.1:9191" in r.output and "--authentication=token --authorization=basic" in r.output
    assert "warning" not in r.output

    # again without token or key: no authz policy left behind, and a warning for each
    r = runner.invoke(
        cli_main, ["deploy-config", "--bundle-url", "http://127.0.0.1:1/b.tar.gz", "-o", str(out.with_suffix(".yaml"))]
    )
    assert r.exit_code == 0, r.output
    assert not authz.exists() and not token_module.exists()
    assert "no --verification-key" in r.output and "no --token-hash-file" in r.output
    assert "--authentication" not in r.output
    doc = yaml.safe_load(out.with_suffix(".yaml").read_text())
    assert "keys" not in doc and "signing" not in doc["bundles"]["rxrego"] and doc["decision_logs"] == {"console": True}

    (tmp_path / "bad-hash").write_text("not-a-hash\n")
    for args, message in [
        (["--bundle-url", "ftp://x/b.tar.gz"], "http(s)://"),
        (["--bundle-url", "http://x"], "names no file"),
        (["--bundle-url", "http://user:pw@x/b.tar.gz"], "credentials"),
        (["--bundle-url", "http://x/b.tar.gz", "--polling-min", "5", "--polling-max", "2"], "--polling-max"),
        (["--bundle-url", "http://x/b.tar.gz", "--polling-min", "0"], "0"),
        (["--bundle-url", "http://x/b.tar.gz", "--decision-log", "syslog"], "console"),
        (["--bundle-url", "http://x/b.tar.gz", "--token-hash-file", str(tmp_path / "bad-hash")], "64 hex"),
        (["--bundle-url", "http://x/b.tar.gz", "--token-hash-file", str(tmp_path / "absent")], "cannot read"),
        (["--bundle-url", "http://x/b.tar.gz", "--verification-key", str(tmp_path / "hash")], "PEM"),
    ]:
        r = runner.invoke(cli_main, ["deploy-config", *args, "-o", str(tmp_path / "x.yaml")])
        assert r.exit_code == 2, (args, r.output)
        assert message in r.output and "Traceback" not in r.output, (args, r.output)


class _LogCollector(http.server.BaseHTTPRequestHandler):
    """A decision-log service: OPA POSTs gzip'ed JSON arrays of entries."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.entries.extend(json.loads(body))
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.opa
def test_deploy_config_decision_logs_to_a_service_are_masked(opa_path, tmp_path):
    """The JSON configuration, run as printed (no token), sends its decision logs to a
    decision-log service; OPA flushes them when it stops. The mask holds there too."""
    rego = generate_revisions(tmp_path)["a"]
    info = bundle.build(rego, tmp_path / "a.tar.gz")
    bundles = BundleServer(tmp_path / "www")
    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LogCollector)
    collector.entries, collector.paths = [], []
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    proc = None
    try:
        bundles.publish(info.path)
        config = tmp_path / "deploy" / "opa.json"
        r = CliRunner().invoke(
            cli_main,
            ["deploy-config", "--bundle-url", f"{bundles.url}/bundles/rxrego.tar.gz", "--polling-min", "1", "--polling-max", "2",
             "--decision-log", f"http://127.0.0.1:{collector.server_address[1]}/logs", "-o", str(config)],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        port = free_port()
        cmd = deploy.opa_command(
            config,
            config.parent / "system",
            addr=f"127.0.0.1:{port}",
            token=False,
            opa=str(opa_path),
            extra_args=["--log-level", "error"],
        )
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        with RxRegoClient(url) as c:
            c.wait_until_ready(30)
        req = dict(APPROVED, patient={"id": "PAT-SVC-1", "birth_date": "1977-07-07"})
        one = requests.post(url + DECISION_PATH, json={"input": req}, timeout=5).json()
        many = requests.post(
            url + "/v1/data/rxrego/decisions", json={"input": {"requests": [req, req]}}, timeout=5
        ).json()
        os.killpg(proc.pid, signal.SIGTERM)  # a graceful stop flushes the buffered decision logs
        proc.wait(timeout=20)
        deadline = time.monotonic() + 5
        while len(collector.entries) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        by_id = {e["decision_id"]: e for e in collector.entries}
        assert {one["decision_id"], many["decision_id"]} <= set(by_id), collector.entries
        assert set(collector.paths) == {"/logs"}
        e1, e2 = by_id[one["decision_id"]], by_id[many["decision_id"]]
        assert e1["bundles"]["rxrego"]["revision"] == info.revision == e2["bundles"]["rxrego"]["revision"]
        assert e1["result"]["outcome"] == "approved" and e1["result"]["policy"]["id"] == "fep-5.21.100"
        assert e1["input"] == logged_facts(req) and e2["input"] == {"requests": [logged_facts(req)] * 2}
        assert e1["masked"] == e2["masked"] == ["/input"]
        text = json.dumps(collector.entries)
        assert "PAT-SVC-1" not in text and "1977-07-07" not in text
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        collector.shutdown()
        collector.server_close()
        bundles.close()
