"""A JSON Schema checked twice as fast as it is read: a compiled validator for the common
case (valid), jsonschema for the words of an error.

`fastjsonschema` turns a schema into Python code once; checking a valid decision document
costs about 10 µs against about 500 µs for `jsonschema`'s interpreter, which is most of a
client call. It implements drafts 4, 6 and 7 only, and rxrego's schemas are 2020-12: they use
only keywords whose meaning is the same in draft 7 (DRAFT7_SAME; `tests/test_schemacheck.py`
checks every schema against that list), so each is compiled as draft 7.

`CompiledSchema.errors(doc)` is empty when the compiled validator accepts the document. When
it refuses, jsonschema decides and explains: a document is refused only if jsonschema, the
reference implementation of the published schema, finds an error, so a difference between
the two can only cost time, never a different verdict in that direction. (The other
direction, the compiled code accepting what jsonschema refuses, is what the test guards
against with documents that break each keyword.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import fastjsonschema
import jsonschema

# Keywords rxrego's schemas may use: the same in JSON Schema draft 7 and 2020-12.
DRAFT7_SAME = frozenset(
    {
        "$id",
        "$schema",
        "title",
        "description",
        "type",
        "enum",
        "const",
        "properties",
        "additionalProperties",
        "patternProperties",
        "required",
        "propertyNames",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minProperties",
        "maxProperties",
        "anyOf",
        "allOf",
        "oneOf",
        "not",
        "default",
        "examples",
    }
)
# Keywords whose values are maps of names to schemas (their keys are names, not keywords).
_SCHEMA_MAPS = ("properties", "patternProperties")


def keywords(schema: object) -> set[str]:
    """Every keyword used anywhere in `schema` (property names excluded)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.add(key)
                if key in _SCHEMA_MAPS and isinstance(value, dict):
                    for sub in value.values():
                        walk(sub)
                elif key not in ("enum", "const", "examples", "default", "required"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return found


class CompiledSchema:
    """`schema` (a dict, JSON Schema 2020-12 using DRAFT7_SAME keywords only) compiled.

    ValueError at construction if the schema uses another keyword or, with `check` (the
    default), is not a valid schema. `check=False` is for a large schema of rxrego's own that
    a test checks (the policy-spec schema: checking it costs seconds in every process).
    `compile_after`: documents checked by jsonschema alone before compiling (0: compile now).
    Compiling a large schema costs seconds and jsonschema ~20 ms a document, so a command
    that loads a dozen specs is quicker without it and a long-running one compiles.
    """

    def __init__(self, schema: dict, *, check: bool = True, compile_after: int = 0) -> None:
        other = keywords(schema) - DRAFT7_SAME
        if other:
            raise ValueError(
                f"the schema uses keywords the compiled validator does not share with 2020-12: {sorted(other)}"
            )
        cls = jsonschema.validators.validator_for(schema)
        if check:
            cls.check_schema(schema)
        self.reference = cls(schema)
        self._schema = schema
        self._fast: Callable[[object], object] | None = None
        self._before_compiling = compile_after
        if compile_after <= 0:
            self._compiled()

    def compile(self) -> None:
        """Compile now, whatever `compile_after` said (a process about to fork workers that
        will check many documents pays it once, for all of them)."""
        self._before_compiling = 0
        self._compiled()

    def _compiled(self) -> Callable[[object], object] | None:
        """The compiled validator, compiling it once `compile_after` documents were checked."""
        if self._fast is None:
            if self._before_compiling > 0:
                self._before_compiling -= 1
                return None
            draft7 = copy.deepcopy(self._schema)
            draft7["$schema"] = "http://json-schema.org/draft-07/schema#"
            draft7.pop("$id", None)  # no remote resolution: the schema is self-contained
            # use_default=False: the compiled code must never write defaults into the document.
            self._fast = fastjsonschema.compile(draft7, formats={}, use_default=False)
        return self._fast

    def valid(self, doc: object) -> bool:
        """Whether `doc` follows the schema (the compiled check; jsonschema when it refuses)."""
        fast = self._compiled()
        try:
            if fast is None:
                raise fastjsonschema.JsonSchemaException("not compiled yet")
            fast(doc)
            return True
        except fastjsonschema.JsonSchemaException:
            # jsonschema validates any Python value; the stub's _JsonParameter is narrower than object.
            return not any(True for _ in self.reference.iter_errors(doc))  # type: ignore[arg-type]

    def errors(self, doc: object) -> Iterator[jsonschema.ValidationError]:
        """jsonschema's errors for `doc`: none, without running jsonschema, when the compiled
        validator accepts it."""
        fast = self._compiled()
        try:
            if fast is None:
                raise fastjsonschema.JsonSchemaException("not compiled yet")
            fast(doc)
        except fastjsonschema.JsonSchemaException:
            yield from self.reference.iter_errors(doc)  # type: ignore[arg-type]  # as in valid()
