"""Signed webhooks configured through the private API and checked by a running
collector: the scheme deploys with the source, the secret stays in its context, is
sealed, shown at most once, and a refused request leaves nothing on the intake topic."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from headwater.core.sources import SOURCE_KIND
from headwater.schemas import INTAKE_BATCH
from headwater.streams.topics import Topics
from tests.integration.conftest import running_collector
from tests.integration.console.conftest import Api
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PRODUCTION = {"x-context": "production"}
STRIPE_SECRET = "whsec_test_5f0c1d9a8b7e6f5a4b3c2d1e"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def collector(api: Api) -> AsyncIterator[str]:
    """A production collector following the API's configuration."""
    async with running_collector(api.settings) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def roles(api: Api) -> dict[str, dict[str, str]]:
    """One tenant for the module (tests use their own sources): auth headers by role."""
    return await api.roles("sig")


def stripe_headers(secret: str, body: bytes, t: int | None = None) -> dict[str, str]:
    """What Stripe sends: HMAC-SHA256 of ``<t>.<body>`` (computed here, not by Headwater)."""
    t = int(time.time()) if t is None else t
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={t},v1={digest}", "content-type": "application/json"}


def github_headers(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "content-type": "application/json"}


async def signed_source(api: Api, auth: dict[str, str], signature: dict[str, Any]) -> str:
    body = {"name": "payments", "channels": ["collect"], "signature": signature}
    created = await api.http.post("/sources", headers=auth, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_the_secret_is_sealed_shown_once_and_stays_in_its_context(
    api: Api, roles: dict[str, dict[str, str]]
) -> None:
    admin = roles["admin"]
    source_id = await signed_source(api, roles["developer"], {"preset": "stripe"})
    path = f"/sources/{source_id}"

    given = await api.http.post(
        f"{path}/signing-secret", headers=roles["developer"], json={"secret": STRIPE_SECRET}
    )
    assert given.status_code == 201, given.text
    assert given.json()["secret"] is None  # the caller's own secret is not echoed

    answers = [given]
    for role, auth in roles.items():
        read = await api.http.get(path, headers=auth)
        answers.append(read)
        assert read.status_code == 200, (role, read.text)
        assert read.json()["signature"]["header"] == "Stripe-Signature"
        [listed] = read.json()["signing_secrets"]
        assert listed == {**given.json(), "secret": None}
    answers.append(await api.http.get("/sources", headers=admin))
    for answer in answers:
        assert STRIPE_SECRET not in answer.text and "sealed" not in answer.text

    # a PUT of the source keeps its secret; a body naming secrets is refused
    replaced = await api.http.put(
        path, headers=admin, json={"name": "payments 2", "signature": {"preset": "stripe"}}
    )
    assert len(replaced.json()["signing_secrets"]) == 1
    smuggled = await api.http.put(path, headers=admin, json={"signing_secrets": []})
    assert smuggled.status_code == 422

    # deploy copies the scheme, never the secret: production has to get its own
    deployed = (await api.http.post(f"{path}/deploy", headers=admin)).json()
    assert deployed["signature"]["preset"] == "stripe" and deployed["signing_secrets"] == []
    made = await api.http.post(f"{path}/signing-secret", headers={**admin, **PRODUCTION}, json={})
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert secret.startswith("hws_") and len(secret) > 32  # made by the server, shown once
    live = (await api.http.get(path, headers={**admin, **PRODUCTION})).json()
    assert [s["secret"] for s in live["signing_secrets"]] == [None]
    assert secret not in orjson.dumps(live).decode()

    # sealed on the config topic too
    raw = await read_topic(
        api.settings.kafka_servers,
        Topics(api.settings.topic_prefix).config,
        None,
        until=lambda rs: any(
            r["_key"] == f"{SOURCE_KIND}/sig/production/{source_id}".encode() for r in rs
        ),
    )
    assert all(
        secret.encode() not in r["_value"] and STRIPE_SECRET.encode() not in r["_value"]
        for r in raw
    )


async def test_bad_schemes_and_secrets_are_refused(
    api: Api, roles: dict[str, dict[str, str]]
) -> None:
    admin = roles["admin"]
    bad = [
        {"preset": "github", "header": "X-Other"},
        {"preset": "generic"},
        {"preset": "generic", "header": "X-Sig", "signed_prefix": "{timestamp}."},
        {"preset": "stripe", "tolerance_seconds": 0},
        {"preset": "paypal"},
    ]
    for signature in bad:
        body = {"name": "x", "signature": signature}
        answer = await api.http.post("/sources", headers=admin, json=body)
        assert answer.status_code == 422, (signature, answer.text)
    source_id = await signed_source(api, admin, {"preset": "github"})
    short = await api.http.post(
        f"/sources/{source_id}/signing-secret", headers=admin, json={"secret": "short"}
    )
    assert short.status_code == 422


async def test_the_collector_takes_only_correctly_signed_fresh_requests(
    api: Api, roles: dict[str, dict[str, str]], collector: str
) -> None:
    admin = roles["admin"]
    source_id = await signed_source(api, admin, {"preset": "stripe"})
    path = f"/sources/{source_id}"
    await api.http.post(f"{path}/deploy", headers=admin)
    session = f"s-{uuid.uuid4().hex[:12]}"  # one session: one partition, in order
    url = f"/collect/charge.succeeded/{source_id}/{session}"

    def body(marker: str) -> bytes:
        return orjson.dumps({"id": marker, "object": "event", "amount": 1200})

    async with httpx.AsyncClient(base_url=collector) as http:
        # production has the scheme but no secret yet: refused, with what to do
        first = await http.post(url, content=body("no-secret"), headers=stripe_headers("x", b"{}"))
        assert first.status_code == 401 and "no signing secret" in first.json()["error"]

        await api.http.post(
            f"{path}/signing-secret",
            headers={**admin, **PRODUCTION},
            json={"secret": STRIPE_SECRET},
        )

        good_data = body("good")
        good_headers = stripe_headers(STRIPE_SECRET, good_data)

        async def accepted() -> httpx.Response | None:
            answer = await http.post(url, content=good_data, headers=good_headers)
            return answer if answer.status_code == 200 else None

        good = await eventually(accepted, timeout=10)  # once the collector has the secret

        wrong = await http.post(
            url,
            content=body("wrong"),
            headers=stripe_headers("whsec_someone_else_000", body("wrong")),
        )
        assert wrong.status_code == 401
        assert wrong.json() == {
            "error": "the Stripe-Signature signature does not match the body (wrong secret, or "
            "the body was changed on the way)",
            "field": "Stripe-Signature",
        }
        changed = stripe_headers(STRIPE_SECRET, body("signed"))
        tampered = await http.post(url, content=body("tampered"), headers=changed)
        assert tampered.status_code == 401

        stale_data = body("stale")
        stale_headers = stripe_headers(STRIPE_SECRET, stale_data, int(time.time()) - 400)
        stale = await http.post(url, content=stale_data, headers=stale_headers)
        assert stale.status_code == 401 and "outside the 300s tolerance" in stale.json()["error"]

        missing = await http.post(url, content=body("missing"))
        assert missing.status_code == 401 and "Stripe-Signature is missing" in missing.text

        # the size cap comes first: an oversized body is refused before it is hashed
        huge = b'{"pad": "' + b"x" * api.settings.max_request_bytes + b'"}'
        oversized = await http.post(url, content=huge, headers=stripe_headers(STRIPE_SECRET, huge))
        assert oversized.status_code == 413

        query = await http.get(url, params={"id": "query"})
        assert query.status_code == 401 and "POST the signed body" in query.text

        tracked = await http.post(
            "/track", json={"source": {"id": source_id}, "events": [{"type": "x"}]}
        )
        assert tracked.status_code == 403 and "signed webhooks only" in tracked.text

        # the accepted request, sent again as it was: a replay
        replayed = await http.post(url, content=good_data, headers=good_headers)
        assert replayed.status_code == 401 and "replay" in replayed.json()["error"]

        last = body("last")
        sentinel = await http.post(url, content=last, headers=stripe_headers(STRIPE_SECRET, last))
        assert sentinel.status_code == 200

    stored_ids = set(good.json()["events"]) | set(sentinel.json()["events"])
    records = await read_topic(
        api.settings.kafka_servers,
        Topics(api.settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: any(e["id"] in sentinel.json()["events"] for r in rs for e in r["events"]),
    )
    mine = [e for r in records if r["session_id"] == session for e in r["events"]]
    assert {e["id"] for e in mine} == stored_ids  # nothing of the refused requests
    assert sorted(orjson.loads(e["properties"])["id"] for e in mine) == ["good", "last"]


async def test_a_replaced_secret_passes_during_its_grace_period_only(
    api: Api, roles: dict[str, dict[str, str]], collector: str
) -> None:
    admin = roles["admin"]
    source_id = await signed_source(api, admin, {"preset": "github"})
    path = f"/sources/{source_id}"
    await api.http.post(f"{path}/deploy", headers=admin)
    production = {**admin, **PRODUCTION}
    old = (await api.http.post(f"{path}/signing-secret", headers=production, json={})).json()
    url = f"/collect/push/{source_id}"

    async with httpx.AsyncClient(base_url=collector) as http:

        async def status(secret: str, n: int) -> int:
            data = orjson.dumps({"n": n, "nonce": uuid.uuid4().hex})
            return (
                await http.post(url, content=data, headers=github_headers(secret, data))
            ).status_code

        await eventually(lambda: _is(status(old["secret"], 0), 200), timeout=10)
        graced = await api.http.post(
            f"{path}/signing-secret", headers=production, json={"keep_previous_seconds": 3600}
        )
        new = graced.json()["secret"]
        await eventually(lambda: _is(status(new, 1), 200), timeout=10)
        assert await status(old["secret"], 2) == 200  # the old one still passes meanwhile
        # GitHub's form content type: the raw form bytes are signed, then parsed
        form = b"payload=%7B%22zen%22%3A%22hi%22%7D"
        headers = {
            **github_headers(new, form),
            "content-type": "application/x-www-form-urlencoded",
        }
        posted = await http.post(url, content=form, headers=headers)
        assert posted.status_code == 200, posted.text
        listed = (await api.http.get(path, headers=production)).json()["signing_secrets"]
        assert [s["id"] for s in listed] == [old["id"], graced.json()["id"]]
        assert listed[0]["expires_at"] is not None and listed[1]["expires_at"] is None

        await api.http.post(f"{path}/signing-secret", headers=production, json={"secret": "n" * 32})
        await eventually(lambda: _is(status("n" * 32, 3), 200), timeout=10)
        assert await status(new, 4) == 401  # replaced without a grace period: refused at once
        assert await status(old["secret"], 5) == 401


async def _is(status: Any, expected: int) -> bool:
    return bool(await status == expected)


async def test_a_request_refused_for_another_reason_can_be_sent_again(
    api: Api, roles: dict[str, dict[str, str]], collector: str
) -> None:
    """Only a stored event uses up its signature: GitHub and Shopify sign no time, so
    their retry of a request we did not store (429, 503) repeats its signature."""
    admin = roles["admin"]
    body = {
        "name": "slow",
        "channels": ["collect"],
        "signature": {"preset": "github"},
        "rate_limit": {"events_per_second": 2, "burst": 1},
    }
    source_id = (await api.http.post("/sources", headers=admin, json=body)).json()["id"]
    path = f"/sources/{source_id}"
    await api.http.post(f"{path}/deploy", headers=admin)
    production = {**admin, **PRODUCTION}
    secret = (await api.http.post(f"{path}/signing-secret", headers=production, json={})).json()
    url = f"/collect/push/{source_id}"
    first, second = b'{"n": 1}', b'{"n": 2}'
    async with httpx.AsyncClient(base_url=collector) as http:

        async def sent(data: bytes) -> httpx.Response:
            return await http.post(
                url, content=data, headers=github_headers(secret["secret"], data)
            )

        await eventually(lambda: _is(_status(sent(first)), 200), timeout=10)
        limited = await sent(second)
        assert limited.status_code == 429, limited.text

        async def retried() -> bool:
            return (await sent(second)).status_code == 200

        await eventually(retried, timeout=5)
        assert (await sent(second)).status_code == 401  # now it was stored: a replay


async def _status(response: Any) -> int:
    return int((await response).status_code)


async def test_a_collector_without_the_secrets_key_answers_503_so_senders_retry(
    api: Api, roles: dict[str, dict[str, str]]
) -> None:
    admin = roles["admin"]
    source_id = await signed_source(api, admin, {"preset": "github"})
    path = f"/sources/{source_id}"
    await api.http.post(f"{path}/deploy", headers=admin)
    production = {**admin, **PRODUCTION}
    secret = (await api.http.post(f"{path}/signing-secret", headers=production, json={})).json()
    data = b'{"zen": "Design for failure."}'
    headers = github_headers(secret["secret"], data)
    keyless = api.settings.model_copy(update={"secrets_key": None})
    async with running_collector(keyless) as base, httpx.AsyncClient(base_url=base) as http:

        async def answer() -> httpx.Response | None:
            got = await http.post(f"/collect/push/{source_id}", content=data, headers=headers)
            return got if got.status_code != 401 else None  # until the secret is seen

        refused = await eventually(answer, timeout=10)
    assert refused.status_code == 503 and refused.headers["retry-after"]
    assert "HEADWATER_SECRETS_KEY is not set" in refused.json()["error"]
