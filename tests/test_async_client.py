"""The asyncio client (rxrego.client.aio) against the real `opa run --server`: the same
decisions, typed errors, retries and fail-closed rules as the sync client, and a deadline
that bounds a whole call.

Decisions come from the pinned OPA serving the bundle of rego/. The one stand-in server is
the loopback server of tests/conftest.py (`loopback`), sending answers OPA would not (5xx, documents off the contract), to
compare how the two clients take them.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal

import pytest

from conftest import REGO
from rxrego import bundle
from rxrego.client import (
    DecisionUndefined,
    InvalidRequest,
    RxRegoClient,
    RxRegoError,
    SidecarUnavailable,
    Unauthorized,
    UnexpectedResponse,
)
from rxrego.client import decide_or_pend as sync_decide_or_pend
from rxrego.client.aio import AsyncRxRegoClient, decide_or_pend
from rxrego.sidecar import Sidecar, free_port
from test_client_sidecar import APPROVED, CASES, EXPECTED


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory, opa_path):
    return bundle.build(REGO, tmp_path_factory.mktemp("aio") / "bundle.tar.gz").path


@pytest.fixture(scope="module")
def sidecar(bundle_path):
    with Sidecar(bundle_path) as sc:
        yield sc


def arun(coro):
    return asyncio.run(coro)


@pytest.mark.opa
def test_each_request_gets_the_same_decision_as_from_the_sync_client(sidecar):
    async def go():
        async with AsyncRxRegoClient(sidecar.url) as c:
            await c.wait_until_ready(5)
            assert await c.health() is True
            return {name: await c.decide(req) for name, req in CASES.items()}

    got = arun(go())
    with RxRegoClient(sidecar.url) as sync:
        for name, req in CASES.items():
            assert (got[name].outcome, got[name].reason) == EXPECTED[name], name
            assert got[name] == sync.decide(req), name
    assert got["approved"].approved and not got["pended"].approved


@pytest.mark.opa
def test_many_concurrent_tasks_and_one_batch_agree(sidecar):
    batch = list(CASES.values()) * 8

    async def go():
        async with AsyncRxRegoClient(sidecar.url) as c:
            singles = await asyncio.gather(*(c.decide(r) for r in batch))
            many = await c.decide_many(batch)
            return singles, many, await c.decide_many([])

    singles, many, empty = arun(go())
    assert list(singles) == many and empty == []
    assert [d.outcome for d in many] == [EXPECTED[n][0] for n in CASES] * 8


@pytest.mark.opa
def test_a_wrong_token_is_unauthorized_and_never_retried(bundle_path, monkeypatch):
    token = secrets.token_urlsafe(32)
    with Sidecar(bundle_path, token=token) as sc:

        async def go(tok):
            async with AsyncRxRegoClient(sc.url, token=tok, retries=3, backoff=0.01) as c:
                sent = count_posts(c, monkeypatch)
                try:
                    return await c.decide(APPROVED), sent
                except RxRegoError as exc:
                    return exc, sent

        err, sent = arun(go("wrong"))
        assert isinstance(err, Unauthorized) and err.status == 401 and len(sent) == 1
        ok, _ = arun(go(token))
        assert ok.approved


def count_posts(client: AsyncRxRegoClient, monkeypatch) -> list:
    """Record every POST the client makes (each attempt, retries included)."""
    sent: list = []
    real = client._http.post

    async def counting(url, **kwargs):
        sent.append(url)
        return await real(url, **kwargs)

    monkeypatch.setattr(client._http, "post", counting)
    return sent


def test_a_closed_port_is_retried_then_unavailable_and_pends(monkeypatch):
    async def go():
        async with AsyncRxRegoClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01) as c:
            sent = count_posts(c, monkeypatch)
            with pytest.raises(SidecarUnavailable):
                await c.decide(APPROVED)
            attempts = len(sent)
            assert await c.health() is False
            with pytest.raises(SidecarUnavailable):
                await c.wait_until_ready(0.3)
            return attempts, await decide_or_pend(c, APPROVED)

    attempts, d = arun(go())
    assert attempts == 3  # the first try and two retries, as the sync client
    assert (d.outcome, d.reason, d.approved, d.approval) == ("pended", "decision_unavailable", False, None)
    assert d.request_id == APPROVED["request_id"] and "SidecarUnavailable" in d.errors[0].message


@pytest.mark.opa
def test_a_hung_sidecar_is_unavailable_within_the_deadline(bundle_path):
    with Sidecar(bundle_path) as sc:

        async def go():
            async with AsyncRxRegoClient(sc.url, timeout=30.0, retries=2, deadline=0.5) as c:
                assert (await c.decide(APPROVED)).approved
                os.kill(sc.pid, signal.SIGSTOP)
                try:
                    with pytest.raises(SidecarUnavailable) as err:
                        await c.decide(APPROVED)
                finally:
                    os.kill(sc.pid, signal.SIGCONT)
                return err.value

        err = arun(go())
    # the 30 s read timeout never came into it: the 0.5 s deadline ended the call
    assert "0.5s" in str(err)


@pytest.mark.opa
def test_opa_without_the_bundle_is_undefined_never_approved(opa_path):
    with Sidecar(None) as sc:

        async def go():
            async with AsyncRxRegoClient(sc.url) as c:
                with pytest.raises(DecisionUndefined):
                    await c.decide(APPROVED)
                return await decide_or_pend(c, APPROVED)

        d = arun(go())
    assert (d.outcome, d.approved) == ("pended", False)


@pytest.mark.opa
def test_requests_that_are_not_json_are_invalid(sidecar):
    async def go():
        async with AsyncRxRegoClient(sidecar.url) as c:
            for bad in ({"x": object()}, {"x": float("nan")}, {"x": {1, 2}}):
                with pytest.raises(InvalidRequest):
                    await c.decide(bad)
                assert (await decide_or_pend(c, bad)).outcome == "pended"

    arun(go())


# --- answers OPA would not give: both clients take them alike --------------------------------


def _doc(result) -> bytes:
    return json.dumps({"result": result}).encode()


APPROVAL = {"start": "2026-11-30", "end": "2027-02-28", "duration_months": 3}


@pytest.mark.parametrize(
    "status, body, error",
    [
        (200, b"<html>not json</html>", UnexpectedResponse),
        (200, b"[1, 2]", UnexpectedResponse),
        (200, b"{}", DecisionUndefined),
        (200, _doc({"outcome": "approve", "reason": "criteria_met", "approval": APPROVAL}), UnexpectedResponse),
        (
            200,
            _doc(
                {"outcome": "approved", "reason": "criteria_met", "approval": {"start": "2026-11-30", "end": "later"}}
            ),
            UnexpectedResponse,
        ),
        (400, b'{"code": "invalid_parameter", "message": "bad"}', InvalidRequest),
        (403, b'{"code": "unauthorized"}', Unauthorized),
        (404, b'{"code": "not_found"}', UnexpectedResponse),
        (500, b'{"code": "internal_error"}', SidecarUnavailable),
        (302, b"", UnexpectedResponse),
    ],
)
def test_both_clients_raise_the_same_error_for_the_same_answer(loopback, status, body, error):
    loopback.answer = (status, body)
    url = loopback.url
    with RxRegoClient(url, retries=0) as c:
        with pytest.raises(error):
            c.decide(APPROVED)
        assert not sync_decide_or_pend(c, APPROVED).approved

    async def go():
        async with AsyncRxRegoClient(url, retries=0) as c:
            with pytest.raises(error):
                await c.decide(APPROVED)
            return await decide_or_pend(c, APPROVED)

    assert arun(go()).outcome == "pended"


def test_503_is_retried_with_backoff_and_the_deadline_bounds_the_retries(loopback):
    url = loopback.url
    loopback.answer = (503, b'{"code": "unavailable"}')

    async def go(**settings):
        loopback.paths.clear()
        async with AsyncRxRegoClient(url, **settings) as c:
            with pytest.raises(SidecarUnavailable) as err:
                await c.decide(APPROVED)
        return loopback.posts, err.value

    posts, err = arun(go(retries=2, backoff=0.01))
    assert posts == 3 and err.status == 503
    # Five retries would sleep 0 + 0.4 + 0.8 + 1.6 + 3.2 s; the 0.3 s deadline ends the call
    # during the second sleep, after two answers.
    posts, err = arun(go(retries=5, backoff=0.2, deadline=0.3))
    assert posts == 2 and "deadline" in str(err)


def test_settings_are_checked_like_the_sync_clients():
    for bad in ({"base_url": "ftp://x"}, {"timeout": 0}, {"retries": -1}, {"token": "a b"}, {"deadline": 0}):
        settings = {"base_url": "http://127.0.0.1:1", **bad}
        with pytest.raises(ValueError):
            AsyncRxRegoClient(settings.pop("base_url"), **settings)
    for bad in ({"base_url": "ftp://x"}, {"timeout": 0}, {"retries": -1}, {"token": "a b"}):
        settings = {"base_url": "http://127.0.0.1:1", **bad}
        with pytest.raises(ValueError):
            RxRegoClient(settings.pop("base_url"), **settings)


def test_an_oversized_batch_is_invalid_before_any_round_trip(loopback):
    from rxrego.limits import MAX_BATCH_REQUESTS

    url = loopback.url

    async def go():
        async with AsyncRxRegoClient(url) as c:
            with pytest.raises(InvalidRequest, match=f"at most {MAX_BATCH_REQUESTS} requests"):
                await c.decide_many([APPROVED] * (MAX_BATCH_REQUESTS + 1))

    arun(go())
    with RxRegoClient(url) as c, pytest.raises(InvalidRequest, match=f"at most {MAX_BATCH_REQUESTS} requests"):
        c.decide_many([APPROVED] * (MAX_BATCH_REQUESTS + 1))
    assert loopback.posts == 0
