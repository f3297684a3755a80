"""What the client refuses before anything is sent, and what it says when it cannot load.

The loopback server of tests/conftest.py (`loopback`) stands where the sidecar would be: these tests
assert that nothing reaches it, so no OPA is needed (the sidecar's own refusals are in
tests/test_client_sidecar.py and tests/test_sidecar_hardening.py).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from importlib import resources

import jsonschema
import pytest

from rxrego.client import InvalidRequest, RxRegoClient
from rxrego.limits import MAX_BODY_BYTES, MAX_REQUEST_ID_CHARS

REQUEST = {"request_type": "initial", "date_of_service": "2026-11-30", "drug": {"name": "besponsa"}}
PENDED = {"outcome": "pended", "reason": "information_missing", "missing": []}


@pytest.fixture
def recorder(loopback):
    """(base URL, list of request paths received): the loopback stand-in (conftest.Loopback),
    answering every POST with a pended decision."""
    loopback.answer = (200, json.dumps({"result": PENDED}).encode())
    return loopback.url, loopback.paths


def _big(mib: float) -> dict:
    return REQUEST | {"notes": ["x" * 1000] * int(mib * 1024 * 1024 / 1000)}


def test_a_request_over_4_mib_is_refused_before_it_is_sent(recorder):
    url, seen = recorder
    with RxRegoClient(url, retries=0) as client:
        assert client.decide(REQUEST).outcome == "pended"  # the recorder answers what is sent
        assert len(seen) == 1
        with pytest.raises(InvalidRequest, match=r"more than the sidecar accepts \(4,194,304 bytes"):
            client.decide(_big(4.8))
        with pytest.raises(InvalidRequest, match="split the batch") as caught:
            client.decide_many([_big(1.0)] * 5)
        assert caught.value.field == "requests"
    assert len(seen) == 1
    assert MAX_BODY_BYTES == 4 * 1024 * 1024


def test_the_async_client_refuses_it_too(recorder):
    pytest.importorskip("httpx")
    from rxrego.client.aio import AsyncRxRegoClient

    url, seen = recorder

    async def go():
        async with AsyncRxRegoClient(url, retries=0) as client:
            with pytest.raises(InvalidRequest, match="more than the sidecar accepts"):
                await client.decide(_big(4.8))
            with pytest.raises(InvalidRequest, match="request_id: must be a string"):
                await client.decide(REQUEST | {"request_id": 12345})

    asyncio.run(go())
    assert seen == []


@pytest.mark.parametrize(
    ("request_id", "message"),
    [
        (12345, r"request_id: must be a string \(the request schema's type\), not int 12345"),
        (1.5, "request_id: must be a string"),
        (["a"], "request_id: must be a string"),
        ("x" * 100_000, f"request_id: at most {MAX_REQUEST_ID_CHARS} characters .*not 100,000"),
    ],
)
def test_a_request_id_off_the_schema_is_refused_naming_the_field(recorder, request_id, message):
    url, seen = recorder
    with RxRegoClient(url, retries=0) as client:
        with pytest.raises(InvalidRequest, match=message) as caught:
            client.decide(REQUEST | {"request_id": request_id})
        assert caught.value.field == "request_id"
        with pytest.raises(InvalidRequest) as caught:
            client.decide_many([REQUEST, REQUEST | {"request_id": request_id}])
        assert caught.value.field == "requests[1].request_id"
    assert seen == []


def test_the_request_schema_bounds_request_id_as_the_client_does():
    schema = json.loads(resources.files("rxrego.schemas").joinpath("pa-request.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert schema["properties"]["request_id"]["maxLength"] == MAX_REQUEST_ID_CHARS
    assert validator.is_valid(REQUEST | {"request_id": "x" * MAX_REQUEST_ID_CHARS})
    assert not validator.is_valid(REQUEST | {"request_id": "x" * (MAX_REQUEST_ID_CHARS + 1)})
    assert not validator.is_valid(REQUEST | {"request_id": 12345})


def test_a_request_id_at_the_limit_is_sent(recorder):
    url, seen = recorder
    with RxRegoClient(url, retries=0) as client:
        client.decide(REQUEST | {"request_id": "x" * MAX_REQUEST_ID_CHARS})
        client.decide(REQUEST | {"request_id": None})
    assert len(seen) == 2


def test_the_async_client_without_httpx_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "httpx", None)  # `import httpx` now fails as if not installed
    monkeypatch.delitem(sys.modules, "rxrego.client.aio", raising=False)
    with pytest.raises(ImportError, match=r"install rxrego\[async\]") as caught:
        importlib.import_module("rxrego.client.aio")
    assert type(caught.value) is ImportError
