"""The generated Rego as an OPA bundle: what the sidecar serves.

`build` stages the policy files of rego/ with a `.manifest` (roots ["rxrego"], revision = a
hash of the content) and runs `opa build -b` on the pinned OPA, optionally signing with
`--signing-key/--signing-alg`. The archive is then normalised (entries sorted by name, mtime
0, uid/gid 0, no user names, mode 0644, gzip header without name or time), so the same
inputs always give the same bytes. OPA v1.20 already writes mtime 0, but the normalisation
makes reproducibility a property of this module rather than of one OPA release.

Signatures: RSA PKCS#1 v1.5 (RS256/384/512) is deterministic, so a signed bundle is
byte-for-byte reproducible too. PS* and ES* signatures are randomised by design: the content
and revision are still reproducible, the `.signatures.json` bytes are not.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import opa

ROOTS = ("rxrego",)
# Asymmetric algorithms only: an HMAC "key" would have to travel on the command line.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
DETERMINISTIC_ALGS = ("RS256", "RS384", "RS512")
DATA_FILES = ("data.json", "data.yaml", "data.yml")


class BundleError(RuntimeError):
    """The bundle could not be built; the message says why."""


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    revision: str
    sha256: str  # of the archive bytes
    signed: bool
    files: tuple[str, ...]  # the policy/data files inside, sorted


def source_files(rego_dir: Path) -> list[tuple[str, bytes]]:
    """(posix path relative to rego_dir, bytes) of every file that goes into the bundle,
    sorted by path: the .rego modules (tests, *_test.rego, excluded) and data files."""
    rego_dir = Path(rego_dir)
    if not rego_dir.is_dir():
        raise BundleError(f"no such folder: {rego_dir}")
    out = []
    for path in sorted(rego_dir.rglob("*")):
        rel = path.relative_to(rego_dir).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in rel.split("/")):
            continue
        if (path.suffix == ".rego" and not path.name.endswith("_test.rego")) or path.name in DATA_FILES:
            out.append((rel, path.read_bytes()))
    if not any(rel.endswith(".rego") for rel, _ in out):
        raise BundleError(f"no .rego files under {rego_dir}: run `rxrego generate` first")
    return out


def drift(rego_dir: Path, specs_dir: Path) -> list[str]:
    """Why `rego_dir` is not exactly what `rxrego generate` writes from `specs_dir`: one line
    per stale, missing or extra file (a hand edit, a stray data.json), [] when it is current.

    The generator's own check (`rxrego generate --check`): the specs are loaded (SpecError
    for a broken one) and generated in a scratch folder with the pinned OPA. BundleError when
    there are no specs to check against."""
    from . import generate as gen
    from .spec.loader import find_specs, load_specs

    rego_dir, specs_dir = Path(rego_dir), Path(specs_dir)
    if not rego_dir.is_dir():
        raise BundleError(f"no such folder: {rego_dir}")
    spec_files = find_specs([specs_dir]) if specs_dir.exists() else []
    if not spec_files:
        raise BundleError(f"no spec files under {specs_dir} to check {rego_dir}/ against: pass --specs")
    files = gen.build(load_specs(spec_files), gen.project_label(specs_dir) + "/")
    found = gen.compare(files, rego_dir)
    return (
        [f"stale    {rego_dir}/{p}  (differs from what the specs generate)" for p in found.stale]
        + [f"missing  {rego_dir}/{p}" for p in found.missing]
        + [f"extra    {rego_dir}/{p}  (not written by the generator)" for p in found.extra]
    )


def content_revision(files: list[tuple[str, bytes]]) -> str:
    """`sha256:<16 hex>` over the sorted (path, bytes) pairs; lengths are hashed too, so no
    two different file sets can be concatenated into the same stream."""
    h = hashlib.sha256()
    for rel, data in sorted(files):
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return "sha256:" + h.hexdigest()[:16]


def normalise(archive: bytes) -> bytes:
    """The same tar.gz with sorted entries and every time, owner and mode fixed;
    tarfile.TarError for an archive that cannot be read."""
    entries = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            fileobj = tar.extractfile(member)
            if fileobj is None:  # isfile() members always have one; guards a broken archive
                raise tarfile.TarError(f"{member.name}: no data")
            entries.append((member.name, fileobj.read()))
    entries.sort(key=lambda e: e[0])
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def build(rego_dir: Path, out: Path, *, signing_key: Path | None = None, signing_alg: str = "RS256") -> BundleInfo:
    """Build the bundle of `rego_dir` into `out` (replaced in one step on success)."""
    files = source_files(Path(rego_dir))
    revision = content_revision(files)
    if signing_key is not None:
        if signing_alg not in SIGNING_ALGS:
            raise BundleError(f"unsupported signing algorithm {signing_alg}; use one of {', '.join(SIGNING_ALGS)}")
        if not Path(signing_key).is_file():
            raise BundleError(f"no such signing key file: {signing_key}")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="rxrego-bundle-") as tmp:
        src = Path(tmp) / "src"
        for rel, data in files:
            dest = src / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        manifest = {"revision": revision, "roots": list(ROOTS)}
        (src / ".manifest").write_text(json.dumps(manifest, sort_keys=True))
        built = Path(tmp) / "bundle.tar.gz"
        args = ["build", "--bundle", ".", "--output", str(built)]
        if signing_key is not None:
            args += ["--signing-key", str(Path(signing_key).resolve()), "--signing-alg", signing_alg]
        result = opa.run(args, cwd=src)
        if result.returncode != 0:
            raise BundleError(f"opa build failed: {(result.stderr or result.stdout).strip()}")
        data = normalise(built.read_bytes())
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(prefix=".bundle-", dir=out.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(staged, 0o644)
        os.replace(staged, out)
    return BundleInfo(
        path=out,
        revision=revision,
        sha256=hashlib.sha256(data).hexdigest(),
        signed=signing_key is not None,
        files=tuple(rel for rel, _ in files),
    )


FORMS = ("modules", "data")


def build_data_form(
    rego_dir: Path, specs_dir: Path, out: Path, *, signing_key: Path | None = None, signing_alg: str = "RS256"
) -> BundleInfo:
    """The bundle of the catalog's data form (rxrego.catalog): the library, the router and
    its tables of `rego_dir` (what `rxrego generate` wrote), the shared interpreter, and
    every policy version of `specs_dir` as data (rxrego/catalog/data.json) instead of its
    modules. BundleError naming the policy and criterion that has no data form; SpecError
    for a broken spec."""
    from . import catalog
    from .spec.loader import find_specs, load_specs

    spec_files = find_specs([Path(specs_dir)]) if Path(specs_dir).exists() else []
    if not spec_files:
        raise BundleError(f"no spec files under {specs_dir}: the data form is written from the specs (pass --specs)")
    rego_files = {rel: data.decode("utf-8") for rel, data in source_files(Path(rego_dir))}
    try:
        files = catalog.data_form(load_specs(spec_files), rego_files)
    except catalog.CatalogError as exc:
        raise BundleError(f"no data form: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="rxrego-dataform-") as tmp:
        for rel, text in files.items():
            dest = Path(tmp) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        return build(Path(tmp), out, signing_key=signing_key, signing_alg=signing_alg)


def read_manifest(path: Path) -> dict:
    """The `.manifest` of a bundle archive (BundleError if it has none)."""
    return read_json_member(path, ".manifest")


def read_json_member(path: Path, name: str) -> dict:
    """The JSON file `name` (".manifest", "data.json") at the root of the bundle archive at
    `path`, parsed. BundleError when the archive cannot be read, lacks the file or the file
    is not JSON."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar.getmembers():
                fileobj = tar.extractfile(member) if member.name.lstrip("/") == name else None
                if fileobj is not None:
                    return json.loads(fileobj.read())
    except (OSError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not a readable bundle ({exc})") from exc
    raise BundleError(f"{path}: the bundle has no {name}")


def is_signed(path: Path) -> bool:
    with tarfile.open(path, mode="r:gz") as tar:
        return any(m.name.lstrip("/") == ".signatures.json" for m in tar.getmembers())
