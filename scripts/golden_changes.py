"""Which golden decisions changed against a git revision, and in which fields.

    .venv/bin/python scripts/golden_changes.py [REV] [--only FIELD ...]

Compares tests/golden/decisions.json in the working tree with the same file at REV (default
`main`), entry by entry (the key is the case or drawn request; a case renamed with its request
unchanged is paired with its old entry), and prints the number of entries added, removed and
changed, and for each decision field how many changed entries
differ in it. With `--only`, exits 1 when a changed entry differs in any field not listed
(or in its request), so a commit that means to change only `missing` can prove it:

    .venv/bin/python scripts/golden_changes.py main --only missing
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

GOLDEN = "tests/golden/decisions.json"


def load_at(rev: str) -> dict:
    """The golden record as committed at `rev` (a git revision)."""
    text = subprocess.run(["git", "show", f"{rev}:{GOLDEN}"], check=True, capture_output=True, text=True).stdout
    return json.loads(text)


def canonical(value: object) -> str:
    """A value's JSON text with sorted keys, to compare requests."""
    return json.dumps(value, sort_keys=True)


def changed_fields(before: dict, after: dict) -> set[str]:
    """The top-level decision fields whose values differ (`request` when the request
    differs; `decision` when either decision is undefined)."""
    fields: set[str] = set()
    if before["request"] != after["request"]:
        fields.add("request")
    old, new = before["decision"], after["decision"]
    if not isinstance(old, dict) or not isinstance(new, dict):
        return fields | ({"decision"} if old != new else set())
    for key in old.keys() | new.keys():
        if old.get(key, ...) != new.get(key, ...):
            fields.add(key)
    return fields


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="main")
    parser.add_argument("--only", nargs="*", default=None, help="the fields a changed entry may differ in")
    args = parser.parse_args(argv)
    before = load_at(args.rev)
    after = json.loads(Path(GOLDEN).read_text(encoding="utf-8"))
    pairs = {key: key for key in before.keys() & after.keys()}
    # A renamed case: an entry removed and one added with the same request.
    added = {canonical(after[key]["request"]): key for key in after.keys() - before.keys()}
    for key in sorted(before.keys() - after.keys()):
        new_key = added.pop(canonical(before[key]["request"]), None)
        if new_key is not None:
            pairs[key] = new_key
            print(f"renamed: {key} -> {new_key}")
    changes = {key: changed_fields(before[key], after[pairs[key]]) for key in sorted(pairs)}
    changes = {key: fields for key, fields in changes.items() if fields}
    by_field = Counter(field for fields in changes.values() for field in fields)
    print(f"entries: {len(before)} at {args.rev}, {len(after)} now")
    print(f"added: {len(after) - len(pairs)}, removed: {len(before) - len(pairs)}")
    print(f"changed: {len(changes)}")
    for field, n in sorted(by_field.items()):
        print(f"  {field}: {n}")
    if args.only is None:
        return 0
    allowed = set(args.only)
    bad = {key: sorted(fields - allowed) for key, fields in changes.items() if fields - allowed}
    for key, fields in bad.items():
        print(f"differs outside {sorted(allowed)}: {key}: {', '.join(fields)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
