"""The data form of a catalog: every policy version as bundle data, decided by one shared
interpreter instead of one compiled Rego package per version.

The per-module form (`rxrego generate`, rego/) compiles each policy version into its own
package: OPA parses, compiles and keeps ~850 KiB of AST per module, and every process that
loads the catalog (opa check, opa build, the sidecar, each opa eval) pays that per policy
(BENCHMARKS.md, G3). The data form holds the same content as JSON under
`data.rxrego.catalog.policies[<module package>]`, which OPA only parses:

- the tables the module holds, as the templates render them: `policy`, `coverage`, `texts`,
  `value_sets`, `requirements`, `request_types`, `request_sets`, `derived`, `fact_paths`;
- each criterion as `{"depth": d, "expr": node}`, where `node` is the status expression the
  module's `status[id]` rule holds, as a tree (`regotext.Expr`): {"call": f, "args": [...]}
  for `lib.f(...)`, {"fact": path}, {"value_set": id}, {"ref": "service_date" |
  "date_of_service" | "products"}, {"status": id}, {"statuses": [ids]}, {"array": [...]}
  and literals: {"value": json} (no sets), {"set": [scalars]} or {"typed": [depth, json]}
  (sets inside as {"$set": [...]}, JSON having no sets);
- which statuses a decision evaluates (`evaluate`, `select`; the module's `decision` rule);
- an earlier version that decides as a newer one (an alias module) as
  {"alias_of": package, "policy": its policy block}.

The interpreter (rxrego/catalog/catalog.rego, package rxrego.catalog) evaluates a criterion
by calling the same `lib` function with the same arguments, one depth at a time (Rego rules
cannot recurse): leaves first, then each level of combinators over the level below. The
shim (rxrego/catalog_policies.rego, package rxrego) serves `data.rxrego.policies[name]
.decision` and `.request_types`, the two documents the router reads, so the router is the
same in both forms. tests/test_catalog_form.py decides every golden case both ways.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Sequence

from . import generate as gen
from . import limits, regotext
from .spec import cache
from .spec import model as m

INTERPRETER = "rxrego/catalog/catalog.rego"
SHIM = "rxrego/catalog_policies.rego"
DATA_PATH = "rxrego/catalog/data.json"
# The interpreter's fixed number of levels (catalog.rego): nested calls and arrays in one
# status expression, and containers nested in one literal.
MAX_EXPR_HEIGHT = 6
MAX_VALUE_DEPTH = 8
SET_KEY = "$set"


class CatalogError(RuntimeError):
    """A policy has no data form (the message names the policy and the criterion)."""


def interpreter_sources() -> dict[str, str]:
    """{path under the bundle root: text} of the interpreter and the shim (package data:
    generator/rxrego/rego/rxrego/catalog/)."""
    folder = importlib.resources.files("rxrego").joinpath("rego")
    return {path: folder.joinpath(path).read_text(encoding="utf-8") for path in (INTERPRETER, SHIM)}


# The fields of a policy version's data that only some entries hold: an alias's (its entry is
# {"alias_of", "policy"}), and those a policy without indications alone has.
ALIAS_FIELDS = frozenset({"alias_of", "policy"})
WITHOUT_INDICATIONS = frozenset({"evaluate", "select"})


def fields_read(sources: dict[str, str] | None = None) -> dict[str, frozenset[str]]:
    """{source path: the fields of a policy version's data it reads} for the interpreter and
    the shim (`sources`, default interpreter_sources()): every `p.<field>` (catalog.rego names
    a version's data `p`), `entry.<field>` and `_full(entry).<field>` (catalog_policies.rego
    names it `entry`)."""
    sources = interpreter_sources() if sources is None else sources
    return {
        path: frozenset(re.findall(r"(?:\b(?:p|entry)|_full\(entry\))\.([a-z_]+)", sources[path]))
        for path in (INTERPRETER, SHIM)
    }


def check_fields(policies: dict[str, object], sources: dict[str, str] | None = None) -> None:
    """CatalogError unless every entry of `policies` (catalog()["policies"]) holds each field
    the interpreter and the shim it ships with read (fields_read). They are written by two
    parts of rxrego, this module (the data) and the Rego files beside it (read from the
    installed package when the bundle is built): a field one reads and the other does not
    write (after an upgrade or an edit of the package during a long run) would otherwise not
    fail but decide as if the field were false or empty."""
    read = fields_read(sources)
    for name, entry in policies.items():
        if not isinstance(entry, dict):
            raise CatalogError(f"{name}: a policy version's data is not an object")
        for path, fields in read.items():
            if "alias_of" in entry:
                wanted = ALIAS_FIELDS & fields
            else:
                wanted = fields - {"alias_of"} - (WITHOUT_INDICATIONS if entry.get("indications") else frozenset())
            missing = sorted(wanted - entry.keys())
            if missing:
                raise CatalogError(
                    f"{path} reads {', '.join(missing)} of a policy version's data, which "
                    f"rxrego.catalog did not write (for {name}): the interpreter and the generator "
                    "are of different versions (was the package changed while this process ran?); "
                    "rerun with one version"
                )


def supported_functions() -> frozenset[str]:
    """The lib functions the interpreter dispatches to: the `_call("name", a)` heads of
    catalog.rego."""
    return frozenset(re.findall(r'^_call\("(\w+)", ', interpreter_sources()[INTERPRETER], re.MULTILINE))


# --- literals ------------------------------------------------------------------------------


def _json(v: object, depth: int = 0) -> tuple[object, bool]:
    """(v as JSON with each set as {"$set": [...]}, whether it holds a set), numbers as
    regotext writes them (an integral float is an integer)."""
    if depth > MAX_VALUE_DEPTH:
        raise ValueError(f"a literal nested deeper than {MAX_VALUE_DEPTH} levels")
    if isinstance(v, bool) or v is None or isinstance(v, str | int):
        return v, False
    if isinstance(v, float):
        return (int(v) if v.is_integer() else v), False
    if isinstance(v, set | frozenset):
        items = [_json(x, depth + 1)[0] for x in sorted(v)]
        return {SET_KEY: items}, True
    if isinstance(v, list | tuple):
        pairs = [_json(x, depth + 1) for x in v]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(v, dict):
        out, typed = {}, False
        for k, x in v.items():
            if not isinstance(k, str) or k.startswith("$"):
                raise ValueError(f"object key {k!r}: the data form needs string keys not starting with '$'")
            out[k], has = _json(x, depth + 1)
            typed = typed or has
        return out, typed
    raise ValueError(f"no JSON form for {type(v).__name__}")


def plain(v: object) -> object:
    """A table as JSON (ValueError if it holds a set: tables are read as they are)."""
    out, typed = _json(v)
    if typed:
        raise ValueError("a table holding a set")
    return out


def _depth(v: object) -> int:
    """How deep containers nest in a JSON value (a scalar: 0; a set marker counts as one)."""
    if isinstance(v, dict):
        if set(v) == {SET_KEY}:
            return 1 + max((_depth(x) for x in v[SET_KEY]), default=0)
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def literal(v: object) -> dict[str, object]:
    """A literal argument: {"value": json} without sets, {"set": [scalars]} for a set of
    scalars, else {"typed": [depth, json]}, decoded by catalog.rego's `typed` at that depth
    (a decoder as deep as the literal: each level is a function call a decision pays)."""
    out, typed = _json(v)
    if not typed:
        return {"value": out}
    if isinstance(v, set | frozenset) and all(not isinstance(x, dict | list | tuple | set | frozenset) for x in v):
        return {"set": out[SET_KEY]}  # type: ignore[index]
    return {"typed": [_depth(out), out]}


# --- status expressions ------------------------------------------------------------------


def node(expr: str, supported: frozenset[str]) -> tuple[dict[str, object], int]:
    """(the data form of a status expression, its height: 0 for a leaf node, one more than
    its deepest argument for a call or an array). ValueError for text the generator wrote
    without its structure, or a function the interpreter does not dispatch to."""
    if not isinstance(expr, regotext.Expr):
        raise ValueError(f"an expression without its structure: {expr[:60]!r}")
    tree = expr.tree
    if "value" in tree:
        return literal(tree["value"]), 0
    if "call" in tree or "array" in tree:
        items = tree.get("args", tree.get("array", []))
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"an expression's arguments are not a list: {items!r:.60}")
        parts = [node(a, supported) for a in items]
        height = 1 + max((h for _, h in parts), default=0)
        if "array" in tree:
            return {"array": [p for p, _ in parts]}, height
        function = str(tree["call"])
        if function not in supported:
            raise ValueError(f"lib.{function} is not one the data form's interpreter calls")
        return {"call": function, "args": [p for p, _ in parts]}, height
    return dict(tree), 0


def depths(spec: m.PolicySpec) -> dict[str, int]:
    """{criterion id: depth}: 0 for a leaf, one more than its deepest child for a combinator."""
    out: dict[str, int] = {}

    def depth(cid: str) -> int:
        if cid not in out:
            children = spec.criterion(cid).children
            out[cid] = 1 + max(depth(c) for c in children) if children else 0
        return out[cid]

    for c in spec.criteria:
        depth(c.id)
    return out


def criteria(spec: m.PolicySpec, supported: frozenset[str] | None = None) -> dict[str, dict[str, object]]:
    """{id: {"depth": d, "expr": node}} for every criterion; CatalogError naming the policy
    and the criterion when one has no data form."""
    supported = supported_functions() if supported is None else supported
    out = {}
    for cid, d in depths(spec).items():

        def where(cid: str = cid) -> str:
            return f"{gen.source_label(spec)}: criterion '{cid}'"

        if d > limits.MAX_CRITERION_DEPTH:
            raise CatalogError(f"{where()}: nested {d} deep (at most {limits.MAX_CRITERION_DEPTH})")
        try:
            expr, height = node(gen.status_expr(spec.criterion(cid)), supported)
        except ValueError as exc:
            raise CatalogError(f"{where()}: no data form ({exc})") from exc
        if height > MAX_EXPR_HEIGHT:
            raise CatalogError(f"{where()}: its expression nests {height} calls (at most {MAX_EXPR_HEIGHT})")
        out[cid] = {"depth": d, "expr": expr}
    return out


# --- a policy version as data ------------------------------------------------------------


def _statuses_evaluated(spec: m.PolicySpec) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(evaluate, select) per request type, for a policy without indications: the decision
    reads the statuses of `select` (its set's order, and the coverage statement's indication
    criterion), and `evaluate` is what those need (select and everything below it)."""
    orders = gen.orders(spec)
    indication = spec.coverage.indication
    in_every_set = indication is not None and all(indication in gen.set_order(spec, rs) for rs in spec.requirements)
    select: dict[str, list[str]] = {}
    for t, order in orders.items():
        ids = list(order)  # type: ignore[call-overload]
        if not in_every_set and indication is not None and indication not in ids:
            ids.append(indication)
        select[t] = ids
    return {t: gen._order_from(spec, ids) for t, ids in select.items()}, select


def policy_data(spec: m.PolicySpec, supported: frozenset[str] | None = None) -> dict[str, object]:
    """A policy version's full data form (what policy.rego and derived.rego hold)."""
    derived = gen.derived_table(spec)
    try:
        data: dict[str, object] = {
            "policy": plain(gen._policy_block(spec)),
            "coverage": plain(gen._coverage_block(spec)),
            "texts": {c.id: c.text for c in spec.criteria},
            "requirements": {rs.name: plain(gen.root_block(rs, spec)) for rs in spec.requirements},
            "request_types": sorted({t for r in spec.requirements for t in r.request_types}),
            "request_sets": {t: r.name for r in spec.requirements for t in r.request_types},
            "derived": plain(derived),
            "fact_paths": plain(gen.fact_paths(spec)),
            "value_sets": {
                vs.id: {"agents": sorted(gen.lower_set(vs.agents)), "classes": sorted(vs.classes)}
                for vs in spec.value_sets
            },
            "indications": spec.has_indications,
            # Whether a criterion reads the products the request names (the module's
            # `requested_products`, the router's work): only then is that evaluated.
            "reads_products": any(isinstance(c.test, m.Kind) and c.test.reads_products() for c in spec.criteria),
        }
    except ValueError as exc:
        raise CatalogError(f"{gen.source_label(spec)}: no data form ({exc})") from exc
    if not spec.has_indications:
        data["evaluate"], data["select"] = _statuses_evaluated(spec)
    data["criteria"] = criteria(spec, supported)
    by_depth = depths(spec)
    data["levels"] = [
        sorted(cid for cid, d in by_depth.items() if d == level)
        for level in range(max(by_depth.values(), default=0) + 1)
    ]
    return data


def catalog(specs: Sequence[m.PolicySpec]) -> dict[str, object]:
    """data.rxrego.catalog: {"policies": {module package: a version's data}} for every
    version of every spec. A version whose data equals a newer version's but for the policy
    block is {"alias_of": that version, "policy": its block}: it decides as that one does,
    naming itself (as an alias module does; equal data decide alike, so this needs no
    rendering). CatalogError naming the policy and criterion that has no data form."""
    supported = supported_functions()
    functions = ",".join(sorted(supported))
    policies: dict[str, object] = {}
    for spec in specs:
        # A spec loaded from a file (source_digest) may have its data in the content-keyed
        # cache (rxrego.spec.cache: off unless RXREGO_CACHE_DIR is set), keyed by the file,
        # the generator and the functions the interpreter dispatches to.
        key = cache.key("catalog", spec.source_digest, functions) if spec.source_digest else ""
        entries = cache.get("catalog", key) if key else None
        if not isinstance(entries, dict):
            entries = _spec_entries(spec, supported)
            if key:
                cache.put("catalog", key, entries)
        policies.update(entries)
    return {"policies": policies}


def _spec_entries(spec: m.PolicySpec, supported: frozenset[str]) -> dict[str, object]:
    """{module package: data} for every version of `spec`, an alias where a version's data
    equals a newer one's but for the policy block."""
    out: dict[str, object] = {}
    if len(spec.versions) == 1:
        out[spec.module_package] = policy_data(spec, supported)
        return out
    full: dict[str, str] = {}  # the data but the policy block, as JSON -> its version
    for version in spec.versions:
        data = policy_data(version, supported)
        text = json.dumps({k: v for k, v in data.items() if k != "policy"}, sort_keys=True)
        target = full.setdefault(text, version.module_package)
        if target != version.module_package:
            out[version.module_package] = {"alias_of": target, "policy": data["policy"]}
        else:
            out[version.module_package] = data
    return out


def catalog_json(specs: Sequence[m.PolicySpec]) -> str:
    """The catalog as the bundle's data file: JSON, keys sorted, one policy version a line
    (see entry_lines), one trailing newline."""
    return _catalog_text(catalog(specs))


CATALOG_OPEN = '{"policies":{'
CATALOG_CLOSE = "}}"


def _catalog_text(cat: dict[str, object]) -> str:
    if set(cat) != {"policies"} or not isinstance(cat["policies"], dict):
        raise ValueError("a catalog is {'policies': {...}}")
    lines = [
        json.dumps(name, ensure_ascii=False)
        + ":"
        + json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        for name, entry in sorted(cat["policies"].items())
    ]
    return CATALOG_OPEN + "\n" + ",\n".join(lines) + "\n" + CATALOG_CLOSE + "\n"


def entry_lines(text: str) -> dict[str, str] | None:
    """{module package: its line} of a catalog data file as _catalog_text writes it (one
    `"name":{...}` a line, the separating commas dropped), so a reader can take the policy
    versions it needs without parsing the whole catalog (JSON escapes every newline inside
    a string, so no entry spans lines). None when `text` is not in that layout."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != CATALOG_OPEN or lines[-2] != CATALOG_CLOSE or lines[-1] != "":
        return None
    decoder = json.JSONDecoder()
    out: dict[str, str] = {}
    body = lines[1:-2]
    for i, line in enumerate(body):
        if i < len(body) - 1:
            if not line.endswith(","):
                return None
            line = line[:-1]
        if not line:
            continue  # an empty catalog
        try:
            name, end = decoder.raw_decode(line)
        except ValueError:
            return None
        if not isinstance(name, str) or line[end : end + 2] != ":{" or name in out:
            return None
        out[name] = line
    return out


def entries_text(lines: dict[str, str]) -> str:
    """A catalog data file holding the entries `lines` (from entry_lines), in the same layout."""
    return CATALOG_OPEN + "\n" + ",\n".join(lines[k] for k in sorted(lines)) + "\n" + CATALOG_CLOSE + "\n"


def build(specs: Sequence[m.PolicySpec], specs_label: str = "policy_source/") -> dict[str, str]:
    """The data form from the specs alone: the library, the router and its tables rendered,
    formatted and checked as `rxrego generate` does (their cost does not grow with the
    catalog: no policy module is rendered), the interpreter, the shim and the catalog data.
    CatalogError as `catalog`; generate.GenerateError when OPA rejects the Rego."""
    files = gen.format_and_check(gen.render(specs, specs_label, policies=False))
    return data_form(specs, files)


def data_form(specs: Sequence[m.PolicySpec], rego_files: dict[str, str]) -> dict[str, str]:
    """The data form's files, {path under the bundle root: text}: `rego_files` (what
    `rxrego generate` wrote: the library, the router and its tables) without the policy
    modules, plus the interpreter, the shim and the catalog data. CatalogError as `catalog`,
    or when the data lacks a field the interpreter reads (check_fields)."""
    files = {p: t for p, t in rego_files.items() if not p.startswith("rxrego/policies/")}
    sources = interpreter_sources()
    files.update(sources)
    cat = catalog(specs)
    policies = cat["policies"]
    assert isinstance(policies, dict)
    check_fields(policies, sources)
    files[DATA_PATH] = _catalog_text(cat)
    return files
