"""A FHIR R4 Questionnaire asking for the facts a policy needs, in the spirit of Da Vinci DTR,
and the way back: a completed QuestionnaireResponse to a PA request.

One item per fact (not per criterion): the birth date once, however many age criteria read it.
linkIds are the request paths the facts live at ("patient.birth_date", "biomarkers.CD22",
"prescriber.attestations.vod_monitoring"), so they are stable across runs and say where each
answer goes. Groups: "diagnoses" (repeating: code + qualifiers), "prior_therapies" and
"concurrent_therapies" (repeating: agent, class, result), "labs.<name>" (value, unit, date).
A "<list>.any" boolean before each therapy group distinguishes "none" (an empty list, a known
fact) from "not answered" (absent: the decision pends).

An item's heading is the `question` of a criterion reading its fact when the spec gives one
(the document's words), else worded from the fact (a yes/no status as "Disease progression?").
Units of a lab result are a coded choice (UCUM). `required` is set on facts every requirement
set needs unconditionally, and on a diagnosis qualifier only when every covered diagnosis is
qualified by it. Facts needed only under
a condition get `enableWhen` on the condition's answers where FHIR can express it (a biomarker,
a yes/no status, an attestation, a specialty); an age condition cannot be checked against a
birth date by enableWhen, so such items stay enabled and their text says when they matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..spec import model as m
from ..spec.dump import content_version
from ..spec.kinds import Asking

DEFAULT_BASE = "https://rxrego.dev/fhir"


class ResponseError(ValueError):
    """A QuestionnaireResponse that cannot be mapped to a request; the message names the linkId."""


# --- which facts the policy needs, and under which conditions ------------------------------------


@dataclass(frozen=True)
class Need:
    set_name: str
    criterion: str
    required: bool  # needed unconditionally for the set to be met
    conditions: tuple[str, ...]  # when-criteria that must hold for this need to apply


def fact_keys(test: m.Test) -> list[str]:
    """The questionnaire facts a leaf test reads (its kind's `question_keys`: the request
    fields it reads, except that a lab is asked per lab and a quantity as one group)."""
    return test.question_keys()


def needs(spec: m.PolicySpec) -> dict[str, list[Need]]:
    """Fact -> every use of it, facts in policy order (initial set first, `when` before `then`)."""
    out: dict[str, list[Need]] = {}

    def walk(set_name: str, cid: str, required: bool, conditions: tuple[str, ...]) -> None:
        c = spec.criterion(cid)
        t = c.test
        if isinstance(t, m.Kind):
            keys = fact_keys(t) + ([document_key(cid)] if c.documentation else [])
            for key in keys:
                out.setdefault(key, []).append(Need(set_name, cid, required, conditions))
        elif isinstance(t, m.Negation):
            # the negated criterion's facts are needed as its own would be
            walk(set_name, t.child, required, conditions)
        elif isinstance(t, m.AllOf):
            for x in t.children:
                walk(set_name, x, required, conditions)
        elif isinstance(t, m.AnyOf | m.AtLeast):
            for x in t.children:
                walk(set_name, x, False, conditions)
        elif isinstance(t, m.Conditional):
            for x in t.when:
                walk(set_name, x, False, conditions)
            for x in t.then:
                walk(set_name, x, False, conditions + t.when)

    for rs in spec.requirements:
        for cid in rs.root.children:
            walk(rs.name, cid, isinstance(rs.root, m.AllOf), ())
        # each indication's own criteria: required only for the indication the diagnosis selects
        for ind in rs.indications:
            for cid in rs.indication_root(ind).children:
                if cid not in rs.root.children:
                    walk(rs.name, cid, False, ())
    return out


# --- building the Questionnaire ---------------------------------------------------------------------


DOCUMENTS = "documents."
DOCUMENT_SYSTEM_FACET = "document_type"


def document_key(cid: str) -> str:
    """The questionnaire key (and group linkId) of the documents supporting criterion `cid`."""
    return DOCUMENTS + cid


def owner(spec: m.PolicySpec, uses: list[Need]) -> type[m.Kind]:
    """The kind that asks for a fact: the kind of the first criterion reading it."""
    test = spec.criterion(uses[0].criterion).test
    assert isinstance(test, m.Kind)
    return type(test)


class _Builder:
    def __init__(self, spec: m.PolicySpec, base: str):
        self.spec = spec
        self.base = base.rstrip("/")
        self.needs = needs(spec)
        self.sets = [r.name for r in spec.requirements]

    def system(self, facet: str) -> str:
        return f"{self.base}/CodeSystem/rxrego-{facet.replace('_', '-')}"

    def tests(self, kind: type) -> tuple:
        return tuple(c.test for c in self.spec.criteria if isinstance(c.test, kind))

    # -- wording shared by items --
    def policy_text(self, key: str) -> str:
        ids = list(dict.fromkeys(n.criterion for n in self.needs[key]))
        return "Policy: " + "; ".join(self.spec.criterion(i).text for i in ids) + "."

    def scope_text(self, key: str) -> str:
        used = {n.set_name for n in self.needs[key]}
        if used == set(self.sets):
            return ""
        titles = [r.title for r in self.spec.requirements if r.name in used]
        return f" (only for {' / '.join(titles)})"

    def required(self, key: str) -> bool:
        return all(any(n.required and not n.conditions and n.set_name == s for n in self.needs[key]) for s in self.sets)

    def enable(self, key: str) -> tuple[dict, str]:
        """enableWhen (+ enableBehavior) for a conditionally needed fact, and a sentence saying
        what the form can and cannot check."""
        contexts = {n.conditions for n in self.needs[key]}
        if () in contexts or len(contexts) != 1:
            return {}, ""
        (conditions,) = contexts
        groups, unchecked = [], []
        for cid in conditions:
            entries = self.condition_entries(self.spec.criterion(cid).test)
            if entries:
                groups.append(entries)
            else:
                unchecked.append(cid)
        when = " AND ".join(self.spec.criterion(c).text for c in conditions)
        note = f" Needed only when: {when}."
        if unchecked:
            tests = [self.spec.criterion(c).test for c in unchecked]
            cannot = [t.form_cannot_check if isinstance(t, m.Kind) else None for t in tests]
            why = [
                reason[0] if reason else f"“{self.spec.criterion(c).text}” cannot be checked by the form"
                for c, reason in zip(unchecked, cannot, strict=True)
            ]
            subjects = {reason[1] if reason else "the other answers" for reason in cannot}
            subject = subjects.pop() if len(subjects) == 1 else "the other answers"
            note += f" Answer it whatever {subject} ({'; '.join(why)})."
        if not groups:
            return {}, note
        if all(len(g) == 1 for g in groups):
            flat = [g[0] for g in groups]
            out: dict[str, object] = {"enableWhen": flat}
            if len(flat) > 1:
                out["enableBehavior"] = "all"
            return out, note
        if len(groups) == 1:
            return {"enableWhen": groups[0], "enableBehavior": "any"}, note
        return {}, note + " (The condition is too complex for enableWhen, so this is always asked.)"

    def condition_entries(self, test: object) -> list[dict]:
        """enableWhen entries that hold exactly when a condition criterion is met (any of them)."""
        return test.enable_when(self.system) if isinstance(test, m.Kind) else []

    # -- one item (or group) per fact, worded by the kind that reads it --
    def item(self, key: str) -> list[dict]:
        enable, note = self.enable(key)
        if key.startswith(DOCUMENTS):
            return [self.documents_group(key, enable, note)]
        kind = owner(self.spec, self.needs[key])
        asking = Asking(
            key=key,
            tests=self.tests(kind),
            required=self.required(key),
            scope=self.scope_text(key),
            policy=self.policy_text(key),
            note=note,
            enable=enable,
            system=self.system,
            value_set=self.spec.value_set,
        )
        items = kind.questions(asking)
        worded = self.question_text(key)
        if worded and items:  # the document's own question replaces the generated heading
            items[0] = {**items[0], "text": f"{worded}{asking.scope} {asking.policy}{asking.note}"}
        return items

    def product_items(self) -> list[dict]:
        """Which product is requested, when the policy lists several (its brand names them
        all, so a request naming only the brand leaves the product undetermined): a choice
        of the products, coded by product id, answered into `drug.name` (the product's name,
        which routes to that product alone). None when the policy lists one product or none."""
        products = self.spec.drug.products
        if len(products) < 2:
            return []
        system = self.system(PRODUCT_SYSTEM_FACET)
        return [
            {
                "linkId": PRODUCT_LINK,
                "text": f"Which {self.spec.drug.brand} product is requested?",
                "type": "choice",
                "required": True,
                "answerOption": [
                    {"valueCoding": {"system": system, "code": p.id, "display": p.name}} for p in products
                ],
            }
        ]

    def documents_group(self, key: str, enable: dict, note: str) -> dict:
        """A repeating group asking for the attachments supporting one criterion: each an
        attachment and its document type (one of the criterion's `documentation` types)."""
        c = self.spec.criterion(key[len(DOCUMENTS) :])
        choices = [{"valueCoding": coding} for coding in self.document_codings(c.documentation)]
        kinds = " or ".join(t.replace("_", " ") for t in c.documentation)
        return {
            "linkId": key,
            "text": f"Attach the {kinds} supporting: {c.text}{self.scope_text(key)}.{note}",
            "type": "group",
            "repeats": True,
            "required": self.required(key),
            **enable,
            "item": [
                {"linkId": f"{key}.attachment", "text": "Document", "type": "attachment", "required": True},
                {
                    "linkId": f"{key}.type",
                    "text": "Document type",
                    "type": "choice",
                    "required": True,
                    "answerOption": choices,
                    "initial": [choices[0]],
                },
            ],
        }

    def document_codings(self, types: Iterable[str]) -> list[dict]:
        system = self.system(DOCUMENT_SYSTEM_FACET)
        return [{"system": system, "code": t, "display": t.replace("_", " ").capitalize()} for t in types]

    def question_text(self, key: str) -> str | None:
        """The `question` wording of the first criterion reading `key` that has one."""
        for n in self.needs[key]:
            worded = self.spec.criterion(n.criterion).question
            if worded:
                return " ".join(worded.split())
        return None


def questionnaire_name(spec: m.PolicySpec) -> str:
    """A computer-friendly name (FHIR: starts with a capital, letters, digits and _)."""
    return "RxRegoPA_" + re.sub(r"[^A-Za-z0-9]+", "_", spec.id).strip("_")


def questionnaire_url(spec: m.PolicySpec, base: str = DEFAULT_BASE) -> str:
    return f"{base.rstrip('/')}/Questionnaire/{spec.id}"


def build_questionnaire(spec: m.PolicySpec, *, base: str = DEFAULT_BASE) -> dict:
    """The Questionnaire (a JSON-ready dict) for the spec's current version."""
    b = _Builder(spec, base)
    items = [*b.product_items(), *(item for key in b.needs for item in b.item(key))]
    q = {
        "resourceType": "Questionnaire",
        "id": re.sub(r"[^A-Za-z0-9.-]", "-", f"rxrego-{spec.id}")[:64],
        "url": questionnaire_url(spec, base),
        "version": content_version(spec),
        "name": questionnaire_name(spec),
        "title": f"{spec.title} ({spec.number}) prior authorization",
        "status": "active",
        "subjectType": ["Patient"],
        "date": spec.last_review_date or spec.effective_date,
        "description": (
            f"The facts {spec.title} policy {spec.number} (effective {spec.effective_date}) needs to decide a prior "
            f"authorization request for {spec.drug.brand}. Each linkId is the request field its answer fills."
        ),
        "effectivePeriod": {"start": spec.effective_date},
        "item": items,
    }
    if spec.payer:
        q["publisher"] = spec.payer
    return q


# --- validation ---------------------------------------------------------------------------------------

ITEM_TYPES = {
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "url",
    "choice",
    "open-choice",
    "attachment",
    "reference",
    "quantity",
}
STATUSES = {"draft", "active", "retired", "unknown"}
OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
# The answer[x] an enableWhen may compare with each item type (and initial value[x]).
ANSWER_TYPES = {
    "boolean": {"Boolean"},
    "decimal": {"Decimal"},
    "integer": {"Integer"},
    "date": {"Date"},
    "dateTime": {"DateTime"},
    "time": {"Time"},
    "string": {"String"},
    "text": {"String"},
    "url": {"Uri", "String"},
    "choice": {"Coding"},
    "open-choice": {"Coding", "String"},
    "quantity": {"Quantity"},
    "reference": {"Reference"},
    "attachment": {"Attachment"},
}
OPTION_TYPES = {"Integer", "Date", "Time", "String", "Coding", "Reference"}
ORDERED = {"decimal", "integer", "date", "dateTime", "time", "quantity"}


def _value_keys(obj: dict, prefix: str) -> list[str]:
    return [k[len(prefix) :] for k in obj if k.startswith(prefix) and k[len(prefix) :][:1].isupper()]


def validate_questionnaire(q: object) -> list[str]:
    """Structural problems of a FHIR R4 Questionnaire (empty list: valid). Checks the required
    elements, item types, unique linkIds, answerOption only on choice items, enableWhen
    targets and answer types, enableBehavior with several enableWhen, and value types."""
    if not isinstance(q, dict):
        return ["the Questionnaire is not a JSON object"]
    problems = []
    if q.get("resourceType") != "Questionnaire":
        problems.append(f"resourceType must be 'Questionnaire', found {q.get('resourceType')!r}")
    if q.get("status") not in STATUSES:
        problems.append(f"status must be one of {', '.join(sorted(STATUSES))}, found {q.get('status')!r}")
    if "url" in q and not (isinstance(q["url"], str) and re.match(r"^[a-z][a-z0-9+.-]*:\S+$", q["url"])):
        problems.append(f"url must be an absolute URI, found {q.get('url')!r}")
    if "name" in q and not (isinstance(q["name"], str) and re.fullmatch(r"[A-Z][A-Za-z0-9_]{0,254}", q["name"])):
        problems.append(f"name must be computer-friendly ([A-Z][A-Za-z0-9_]*), found {q.get('name')!r}")
    items: dict[str, dict] = {}
    all_items: list[tuple[str, dict]] = []

    def collect(children: object, where: str) -> None:
        if children is None:
            return
        if not isinstance(children, list):
            problems.append(f"{where}.item must be a list")
            return
        for i, it in enumerate(children):
            here = f"{where}.item[{i}]"
            if not isinstance(it, dict):
                problems.append(f"{here} is not an object")
                continue
            link = it.get("linkId")
            if not isinstance(link, str) or not link:
                problems.append(f"{here}: linkId is required (a non-empty string)")
            elif link in items:
                problems.append(f"{here}: linkId '{link}' is not unique")
            else:
                items[link] = it
            name = f"item '{link}'" if isinstance(link, str) and link else here
            all_items.append((name, it))
            collect(it.get("item"), here)

    collect(q.get("item"), "Questionnaire")
    for name, it in all_items:
        t = it.get("type")
        if t not in ITEM_TYPES:
            problems.append(f"{name}: type is required and must be a FHIR R4 item type, found {t!r}")
            continue
        if t == "group" and not it.get("item"):
            problems.append(f"{name}: a group must have nested items")
        if t == "display":
            if it.get("item"):
                problems.append(f"{name}: a display item cannot have nested items")
            for key in ("required", "repeats"):
                if key in it:
                    problems.append(f"{name}: '{key}' is not allowed on a display item")
        for key in ("required", "repeats"):
            if key in it and not isinstance(it[key], bool):
                problems.append(f"{name}: {key} must be a boolean")
        if "answerOption" in it:
            if t not in ("choice", "open-choice"):
                problems.append(f"{name}: answerOption is only allowed on choice and open-choice items, not {t}")
            opts = it["answerOption"]
            kinds = set()
            for j, opt in enumerate(opts if isinstance(opts, list) else [None]):
                keys = _value_keys(opt, "value") if isinstance(opt, dict) else []
                if len(keys) != 1 or keys[0] not in OPTION_TYPES:
                    problems.append(
                        f"{name}: answerOption[{j}] needs exactly one value[x] (Integer, Date, Time, String, Coding or Reference)"
                    )
                else:
                    kinds.add(keys[0])
            if len(kinds) > 1:
                problems.append(f"{name}: answerOption values mix types ({', '.join(sorted(kinds))})")
            elif t == "choice" and kinds - ANSWER_TYPES["choice"] and kinds - {"String", "Integer", "Date", "Time"}:
                problems.append(f"{name}: answerOption of type {kinds.pop()} does not fit a choice item")
        if "initial" in it:
            if t in ("group", "display"):
                problems.append(f"{name}: initial values are not allowed on {t} items")
            else:
                for j, init in enumerate(it["initial"] if isinstance(it["initial"], list) else [None]):
                    keys = _value_keys(init, "value") if isinstance(init, dict) else []
                    if len(keys) != 1 or keys[0] not in ANSWER_TYPES.get(t, set()):
                        problems.append(
                            f"{name}: initial[{j}] must have one value[x] of a type that fits a {t} item ({', '.join(sorted(ANSWER_TYPES.get(t, set())))})"
                        )
        ew = it.get("enableWhen")
        if ew is not None:
            if not isinstance(ew, list) or not ew:
                problems.append(f"{name}: enableWhen must be a non-empty list")
                ew = []
            if len(ew) > 1 and it.get("enableBehavior") not in ("all", "any"):
                problems.append(f"{name}: enableBehavior ('all' or 'any') is required with more than one enableWhen")
            for j, cond in enumerate(ew):
                where = f"{name}: enableWhen[{j}]"
                if not isinstance(cond, dict):
                    problems.append(f"{where} is not an object")
                    continue
                target_id = cond.get("question")
                op = cond.get("operator")
                answers = _value_keys(cond, "answer")
                if op not in OPERATORS:
                    problems.append(f"{where}: operator must be one of {', '.join(sorted(OPERATORS))}, found {op!r}")
                if len(answers) != 1:
                    problems.append(f"{where}: needs exactly one answer[x], found {len(answers)}")
                if target_id not in items:
                    problems.append(f"{where}: question '{target_id}' is not a linkId of this Questionnaire")
                    continue
                if target_id == it.get("linkId"):
                    problems.append(f"{where}: an item cannot be enabled by its own answer")
                target_type = items[target_id].get("type")
                if target_type in ("group", "display"):
                    problems.append(f"{where}: question '{target_id}' is a {target_type} item, which has no answer")
                    continue
                if len(answers) == 1:
                    fitting = ANSWER_TYPES.get(target_type, set()) if isinstance(target_type, str) else set()
                    if op == "exists":
                        if answers[0] != "Boolean":
                            problems.append(f"{where}: operator 'exists' takes answerBoolean")
                    elif answers[0] not in fitting:
                        problems.append(
                            f"{where}: answer{answers[0]} does not fit question '{target_id}' of type {target_type} "
                            f"(expected answer{' or answer'.join(sorted(fitting))})"
                        )
                    elif op in (">", "<", ">=", "<=") and target_type not in ORDERED:
                        problems.append(f"{where}: operator {op} needs an ordered type, not {target_type}")
                    elif (
                        answers[0] == "Coding"
                        and target_type == "choice"
                        and isinstance(items[target_id].get("answerOption"), list)
                    ):
                        offered = {
                            (o["valueCoding"].get("system"), o["valueCoding"].get("code"))
                            for o in items[target_id]["answerOption"]
                            if isinstance(o, dict) and isinstance(o.get("valueCoding"), dict)
                        }
                        answer = cond["answerCoding"] if isinstance(cond["answerCoding"], dict) else {}
                        if (answer.get("system"), answer.get("code")) not in offered:
                            problems.append(
                                f"{where}: answerCoding {answer.get('code')!r} is not one of the answerOptions of '{target_id}', so it can never match"
                            )
        elif "enableBehavior" in it:
            problems.append(f"{name}: enableBehavior without enableWhen")
    return problems


# --- a QuestionnaireResponse back to a request -----------------------------------------------------------


def _answer_value(answer: object, link: str, systems: dict[str, set[str]] | None = None) -> object:
    if not isinstance(answer, dict):
        raise ResponseError(f"linkId '{link}': an answer must be an object")
    keys = _value_keys(answer, "value")
    if len(keys) != 1:
        raise ResponseError(f"linkId '{link}': an answer needs exactly one value[x], found {len(keys)}")
    value = answer["value" + keys[0]]
    if keys[0] == "Coding":
        if not isinstance(value, dict) or "code" not in value:
            raise ResponseError(f"linkId '{link}': valueCoding needs a code")
        if systems is not None:
            expected = systems.get(link)
            if not expected:
                raise ResponseError(
                    f"linkId '{link}': the questionnaire asks for no coded answer here, found valueCoding"
                )
            if value.get("system") not in expected:
                raise ResponseError(
                    f"linkId '{link}': valueCoding system {value.get('system')!r} is not the code system the "
                    f"questionnaire offers ({', '.join(sorted(expected))}); a code from another system is not read"
                )
        return value["code"]
    if keys[0] == "Quantity":
        if isinstance(value, dict) and value.get("comparator") is not None:
            raise ResponseError(
                f"linkId '{link}': valueQuantity with comparator {value['comparator']!r} is not an exact value; "
                "give the result itself"
            )
        return value.get("value") if isinstance(value, dict) else value
    if keys[0] == "DateTime" and isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return value


# FHIR R4 Quantity.system of a UCUM code (hl7.org/fhir/R4/datatypes.html#Quantity).
UCUM_SYSTEM = "http://unitsofmeasure.org"
UNIT_FIELD = "unit"


def quantity_unit(quantity: object, link: str) -> str | None:
    """The unit a FHIR R4 Quantity answer carries: its `code` when `system` is UCUM
    (http://unitsofmeasure.org; the coded form, hl7.org/fhir/R4/datatypes.html#Quantity),
    else its human-readable `unit`; None when it carries neither. Raises ResponseError for
    a unit coded only in another system (it cannot be read as UCUM), naming the linkId."""
    if not isinstance(quantity, dict):
        return None
    code, system, unit = quantity.get("code"), quantity.get("system"), quantity.get("unit")
    if system == UCUM_SYSTEM and isinstance(code, str) and code:
        return code
    if isinstance(unit, str) and unit:
        return unit
    if code is not None:
        raise ResponseError(
            f"linkId '{link}': valueQuantity codes its unit {code!r} in system {system!r}, not UCUM ({UCUM_SYSTEM})"
        )
    return None


def unit_link(link: str) -> str:
    """The unit question beside a value question: 'labs.hemoglobin.value' -> 'labs.hemoglobin.unit'."""
    parent, _, _ = link.rpartition(".")
    return f"{parent}.{UNIT_FIELD}" if parent else UNIT_FIELD


class _Answers:
    """Answers of a response (or of one group instance), found by linkId at any depth.

    `links` are the questionnaire's linkIds (None: not checked). A valueQuantity's unit
    (`quantity_unit`) is kept, never dropped: it answers the unit question beside it
    (`unit_link`) when that is unanswered; it must equal that answer when both are given;
    and a Quantity with a unit where the questionnaire asks no unit is refused
    (ResponseError naming the linkId)."""

    def __init__(
        self,
        items: object,
        where: str = "QuestionnaireResponse.item",
        systems: dict[str, set[str]] | None = None,
        links: frozenset[str] | None = None,
        types: dict[str, str] | None = None,
    ):
        self.by_link: dict[str, list[dict]] = {}
        self.systems = systems
        self.links = links
        self.types = types
        self._collect(items, where)

    def _collect(self, items: object, where: str) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            raise ResponseError(f"{where} must be a list")
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("linkId"), str):
                raise ResponseError(f"{where}: every item needs a linkId")
            self.by_link.setdefault(it["linkId"], []).append(it)
            self._collect(it.get("item"), f"item '{it['linkId']}'")
            for a in it.get("answer") or []:
                if isinstance(a, dict):
                    self._check_type(it["linkId"], a)
                    self._collect(a.get("item"), f"item '{it['linkId']}'")

    def _check_type(self, link: str, answer: dict) -> None:
        """An answer's value[x] must be one its question's type takes (FHIR R4
        QuestionnaireResponse: "the answer type must match the question's item type");
        ResponseError naming the linkId otherwise: a valueString "true" to a boolean question
        is refused, never decided as text."""
        item_type = (self.types or {}).get(link)
        allowed = RESPONSE_ANSWER_TYPES.get(item_type or "")
        keys = _value_keys(answer, "value")
        if allowed is None or len(keys) != 1 or keys[0] in allowed:
            return
        raise ResponseError(
            f"linkId '{link}': a {item_type} question is answered with value{keys[0]}; "
            f"expected {' or '.join('value' + k for k in sorted(allowed))}"
        )

    def instances(self, link: str) -> list[dict]:
        return self.by_link.get(link, [])

    def _single(self, link: str) -> dict | None:
        """The one raw answer to a question (None when unanswered)."""
        answers = [a for it in self.instances(link) for a in (it.get("answer") or [])]
        if not answers:
            return None
        if len(answers) > 1:
            raise ResponseError(f"linkId '{link}': {len(answers)} answers to a question that takes one")
        return answers[0]

    def _carried_unit(self, link: str) -> str | None:
        """The unit of a valueQuantity answering a question, None when it carries none."""
        answer = self._single(link)
        if not isinstance(answer, dict) or "valueQuantity" not in answer:
            return None
        return quantity_unit(answer["valueQuantity"], link)

    def one(self, link: str) -> object:
        """The single answer to a question, or None when it is not answered. An unanswered
        unit question takes the unit of a valueQuantity answered beside it."""
        answer = self._single(link)
        if answer is None:
            if link.rpartition(".")[2] == UNIT_FIELD:
                parent = link.rpartition(".")[0]
                units = {
                    u
                    for other in self.by_link
                    if other != link and other.rpartition(".")[0] == parent
                    if (u := self._carried_unit(other)) is not None
                }
                if len(units) > 1:
                    raise ResponseError(f"linkId '{link}': the quantities beside it carry different units")
                return units.pop() if units else None
            return None
        value = _answer_value(answer, link, self.systems)
        carried = self._carried_unit(link)
        if carried is not None:
            beside = unit_link(link)
            if beside == link or (self.links is not None and beside not in self.links):
                raise ResponseError(
                    f"linkId '{link}': valueQuantity carries unit {carried!r}, but the questionnaire asks no unit "
                    "here, so the unit would be lost; answer with valueDecimal in the unit the question names"
                )
            answered = self._single(beside)
            if answered is not None:
                stated = _answer_value(answered, beside, self.systems)
                if stated != carried:
                    raise ResponseError(
                        f"linkId '{link}': valueQuantity carries unit {carried!r}, but linkId '{beside}' answers "
                        f"{stated!r}; which one is meant cannot be told, so the response is not decided"
                    )
        return value

    def entries(self, group: str, fields: Iterable[str]) -> list[dict]:
        """One entry per instance of a repeating group: {field: answer} of its answered fields."""
        out = []
        for instance in self.instances(group):
            inner = _Answers(instance.get("item"), f"item '{group}'", self.systems, self.links, self.types)
            entry = {f: v for f in fields if (v := inner.one(f"{group}.{f}")) is not None}
            if entry:
                out.append(entry)
        return out

    def therapies(self, key: str, fields: tuple[str, ...]) -> list[dict] | None:
        """A therapy list: [] when "<key>.any" is answered No, None (absent) when not known."""
        said = self.one(f"{key}.any")
        entries = self.entries(key, fields)
        if said is False:
            if entries:
                raise ResponseError(
                    f"linkId '{key}.any' says there is none, but {len(entries)} {key} entr{'y is' if len(entries) == 1 else 'ies are'} given"
                )
            return []
        return entries or None  # "yes" without entries, or not answered: unknown (absent)


def _documents(answers: _Answers, key: str) -> list[dict]:
    """The request's `documents` entries from the attachments answered for one criterion:
    id = the attachment's url (else its title), the type answered, supporting that criterion."""
    out = []
    for entry in answers.entries(key, ("attachment", "type")):
        attachment = entry.get("attachment")
        if not isinstance(attachment, dict):
            raise ResponseError(f"linkId '{key}.attachment': an answer needs a valueAttachment")
        ident = attachment.get("url") or attachment.get("title")
        if not isinstance(ident, str) or not ident:
            raise ResponseError(f"linkId '{key}.attachment': the attachment needs a url or a title to be referenced by")
        out.append({"id": ident, "type": entry.get("type"), "supports": [key[len(DOCUMENTS) :]]})
    return out


class _Request:
    """The request being built from a response (a kind's `fill` writes through it)."""

    def __init__(self, data: dict):
        self.data = data

    def _parent(self, path: str) -> tuple[dict, str]:
        *parents, last = path.split(".")
        doc = self.data
        for key in parents:
            doc = doc.setdefault(key, {})
        return doc, last

    def put(self, path: str, value: object) -> None:
        if value is not None:
            doc, last = self._parent(path)
            doc[last] = value

    def extend(self, path: str, values: list) -> None:
        if values:
            doc, last = self._parent(path)
            doc.setdefault(last, []).extend(values)


# FHIR R4 QuestionnaireResponse.status values whose answers are final: "in-progress" and
# "stopped" are unfinished, "entered-in-error" withdrawn (hl7.org/fhir/R4/valueset-questionnaire-answers-status.html).
DECIDED_STATUSES = ("completed", "amended")


# The value[x] a response may answer each Questionnaire item type with: FHIR R4's
# (ANSWER_TYPES, what an enableWhen compares with), and what this mapping also reads: a whole
# decimal written as valueInteger, a valueQuantity whose unit answers the unit question
# beside it (see `_Answers`), a date given as a dateTime (its date) or the other way round,
# and a choice answered with valueString, read as its code (a unit typed as text; a string
# that is not one of the options is never met).
_ALSO_READ = {
    "decimal": {"Integer", "Quantity"},
    "integer": {"Quantity"},
    "date": {"DateTime"},
    "dateTime": {"Date"},
    "choice": {"String"},
}
RESPONSE_ANSWER_TYPES: dict[str, frozenset[str]] = {
    t: frozenset(types | _ALSO_READ.get(t, set())) for t, types in ANSWER_TYPES.items()
}


def questionnaire_items(questionnaire: dict) -> Iterator[dict]:
    """Every item of a Questionnaire, at any depth, each before the items nested in it."""
    stack = list(reversed(questionnaire.get("item") or []))
    while stack:
        it = stack.pop()
        yield it
        stack.extend(reversed(it.get("item") or []))


def item_types(questionnaire: dict) -> dict[str, str]:
    """linkId -> the item's type, at any depth."""
    return {it["linkId"]: it["type"] for it in questionnaire_items(questionnaire) if isinstance(it.get("type"), str)}


def coding_systems(questionnaire: dict) -> dict[str, set[str]]:
    """linkId -> the code systems its answerOptions offer (items without coded options absent)."""
    out: dict[str, set[str]] = {}
    for it in questionnaire_items(questionnaire):
        for opt in it.get("answerOption") or []:
            coding = opt.get("valueCoding") if isinstance(opt, dict) else None
            if isinstance(coding, dict) and isinstance(coding.get("system"), str):
                out.setdefault(it["linkId"], set()).add(coding["system"])
    return out


def link_ids(questionnaire: dict) -> frozenset[str]:
    """Every linkId of a Questionnaire, at any depth."""
    return frozenset(it["linkId"] for it in questionnaire_items(questionnaire))


def check_response(questionnaire_response: object, spec: m.PolicySpec, *, base: str = DEFAULT_BASE) -> None:
    """ResponseError unless the response is a QuestionnaireResponse, final (status completed
    or amended) and answers this spec's questionnaire: `questionnaire` is its canonical URL
    and version, `<base>/Questionnaire/<id>|<spec version>`."""
    qr = questionnaire_response
    if not isinstance(qr, dict) or qr.get("resourceType") != "QuestionnaireResponse":
        found = qr.get("resourceType") if isinstance(qr, dict) else type(qr).__name__
        raise ResponseError(f"expected a QuestionnaireResponse, found {found!r}")
    status = qr.get("status")
    if status not in DECIDED_STATUSES:
        shown = "absent" if status is None else repr(status)
        raise ResponseError(
            f"status is {shown}: only a completed or amended response is decided, never an unfinished or withdrawn one"
        )
    url = questionnaire_url(spec, base)
    version_of_spec = content_version(spec)
    expected = f"{url}|{version_of_spec}"
    canonical = qr.get("questionnaire")
    if canonical == expected:
        return
    if not isinstance(canonical, str) or not canonical:
        raise ResponseError(
            f"the response does not say which questionnaire it answers (questionnaire: expected {expected})"
        )
    answered, _, version = canonical.partition("|")
    if answered != url:
        raise ResponseError(f"the response answers {canonical}, not the questionnaire of {spec.id} ({expected})")
    if not version:
        raise ResponseError(
            f"the response answers {canonical} without a version; this spec's questionnaire is {expected}"
        )
    raise ResponseError(
        f"the response answers version {version} of the questionnaire; this spec's is {version_of_spec} ({expected})"
    )


# The product question of a policy listing several products (`_Builder.product_items`).
PRODUCT_LINK = "drug.name"
PRODUCT_SYSTEM_FACET = "product"


def _request_drug(spec: m.PolicySpec, answers: _Answers) -> dict:
    """The request's `drug`: the product answered (its name), else the drug's brand, which
    names the policy (and every product of it); the first HCPCS code or NDC when the policy
    lists no products."""
    chosen = answers.one(PRODUCT_LINK) if len(spec.drug.products) > 1 else None
    product = next((p for p in spec.drug.products if p.id == chosen), None)
    if chosen is not None and product is None:
        ids = ", ".join(p.id for p in spec.drug.products)
        raise ResponseError(f"linkId '{PRODUCT_LINK}': {chosen!r} is not one of the policy's products ({ids})")
    drug: dict = {"name": product.name if product is not None else spec.drug.brand}
    if spec.drug.hcpcs:
        drug["hcpcs"] = spec.drug.hcpcs[0]
    elif spec.drug.ndc:
        drug["ndc"] = spec.drug.ndc[0]
    return drug


def response_to_request(
    questionnaire_response: object,
    spec: m.PolicySpec,
    *,
    date_of_service: str,
    request_type: str,
    base: str = DEFAULT_BASE,
    final: bool = True,
) -> dict:
    """Map a final QuestionnaireResponse (answers keyed by linkId) to a PA request for `spec`.

    Only a response `check_response` accepts is mapped (completed or amended, to this
    questionnaire's URL and version; `base` is the canonical base it was built with). Coded
    answers are read only in the code system the questionnaire offers for that question.
    The request names the spec's `plan` when it has one. Unanswered questions leave their field absent (the decision pends on it, never approves);
    a "No" to "<list>.any" gives an empty list (a known "none"). Values are passed on as
    answered, so a wrong type stays wrong and is never met. Raises ResponseError for a
    response that is refused or whose shape cannot be read, naming the linkId.

    final=False skips `check_response` for a form still being filled in (rxrego studio's
    own form for the questionnaire it built: no status, no version); it must be a
    QuestionnaireResponse, and codings are still read only in the offered systems.
    """
    qr = questionnaire_response
    if final:
        check_response(qr, spec, base=base)  # refuses all that the check below refuses
    if not isinstance(qr, dict) or qr.get("resourceType") != "QuestionnaireResponse":
        found = qr.get("resourceType") if isinstance(qr, dict) else type(qr).__name__
        raise ResponseError(f"expected a QuestionnaireResponse, found {found!r}")
    questionnaire = build_questionnaire(spec, base=base)
    answers = _Answers(
        qr.get("item"),
        systems=coding_systems(questionnaire),
        links=link_ids(questionnaire),
        types=item_types(questionnaire),
    )
    facts = needs(spec)
    request: dict = {
        "request_type": request_type,
        "date_of_service": date_of_service,
        "drug": _request_drug(spec, answers),
    }
    if spec.plan is not None:  # the policy decided is the plan's: other plans' policies may name the drug
        request["plan"] = spec.plan
    if isinstance(qr.get("id"), str):
        request["request_id"] = qr["id"]

    out = _Request(request)
    subject = qr.get("subject")
    if (
        isinstance(subject, dict)
        and isinstance(subject.get("reference"), str)
        and subject["reference"].startswith("Patient/")
    ):
        out.put("patient.id", subject["reference"][len("Patient/") :])
    for key, uses in facts.items():
        if key.startswith(DOCUMENTS):
            out.extend("documents", _documents(answers, key))
            continue
        kind = owner(spec, uses)
        kind.fill(key, tuple(c.test for c in spec.criteria if isinstance(c.test, kind)), answers, out)
    return request


def unknown_link_ids(questionnaire_response: dict, questionnaire: dict) -> list[str]:
    """linkIds answered in the response that the questionnaire does not have (ignored by the mapping)."""
    known = {it.get("linkId") for it in questionnaire_items(questionnaire)}
    try:
        answered = _Answers(questionnaire_response.get("item")).by_link
    except ResponseError:
        return []
    return sorted(link for link in answered if link not in known)
