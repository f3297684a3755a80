"""An answer's value[x] must be one its question's item type takes (FHIR R4): a valueString
"true" to a boolean question, or a valueString "80" to a number, is refused naming the
linkId (exit 2 from questionnaire-decide), never passed on as text to be decided."""

from __future__ import annotations

import pytest

from conftest import SPECS
from rxrego.author.questionnaire import RESPONSE_ANSWER_TYPES, ResponseError, build_questionnaire, response_to_request
from rxrego.spec.loader import load_spec


@pytest.fixture(scope="module")
def besponsa():
    spec = load_spec(SPECS / "fep" / "5.21.100-besponsa.yaml")
    return spec, build_questionnaire(spec)


def _items(items):
    for it in items or []:
        yield it
        yield from _items(it.get("item"))


def _first(questionnaire, item_type):
    """The first top-level-answerable item of `item_type` (not inside a repeating group)."""
    for it in questionnaire["item"]:
        for found in _items([it]):
            if found.get("type") == item_type and not found.get("repeats"):
                return found
    raise AssertionError(f"no {item_type} item")


def _response(questionnaire, link, answer):
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "item": [{"linkId": link, "answer": [answer]}],
    }


def _decide(spec, questionnaire, link, answer):
    return response_to_request(
        _response(questionnaire, link, answer), spec, date_of_service="2026-06-15", request_type="initial"
    )


@pytest.mark.parametrize(
    ("item_type", "wrong", "right"),
    [
        ("boolean", {"valueString": "true"}, {"valueBoolean": True}),
        ("boolean", {"valueInteger": 1}, {"valueBoolean": False}),
        ("date", {"valueString": "2026-01-01"}, {"valueDate": "2026-01-01"}),
    ],
)
def test_an_answer_of_another_type_is_refused_naming_the_link(besponsa, item_type, wrong, right):
    spec, questionnaire = besponsa
    item = _first(questionnaire, item_type)
    with pytest.raises(ResponseError) as refused:
        _decide(spec, questionnaire, item["linkId"], wrong)
    message = str(refused.value)
    assert f"linkId '{item['linkId']}'" in message and f"a {item_type} question" in message
    assert next(iter(wrong)) in message
    _decide(spec, questionnaire, item["linkId"], right)  # the right type is read


def test_every_item_type_the_questionnaires_use_has_its_answer_types(besponsa):
    _, questionnaire = besponsa
    used = {it["type"] for it in _items(questionnaire["item"])} - {"group", "display"}
    assert used <= set(RESPONSE_ANSWER_TYPES), used - set(RESPONSE_ANSWER_TYPES)
