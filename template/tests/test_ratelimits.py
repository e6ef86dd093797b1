"""Rate limits on login, forgot-password and request-verify-token: per client address and per
email, in memory or in Redis (set TEST_REDIS_URL, e.g. redis://127.0.0.1:6379, to test Redis)."""

import os
import uuid
from typing import Any

import httpx
import pytest

from .conftest import StartApp
from .helpers import PASSWORD, register

pytestmark = pytest.mark.anyio

GENEROUS = "1000/minute"


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that count in this process, or in Redis under a prefix of this test's own."""
    if request.param == "memory":
        return {"redis_url": None}
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to test Redis storage")
    return {"redis_url": redis_url, "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}"}


async def login_status(client: httpx.AsyncClient, email: str, path: str = "/auth/jwt/login") -> int:
    response = await client.post(path, data={"username": email, "password": PASSWORD})
    return response.status_code


def assert_retry_after(response: httpx.Response, window_seconds: int) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


async def test_rate_limit_login(start_app: StartApp, storage: dict[str, Any]) -> None:
    limits = {"login_rate_limit_per_email": "3/minute", "login_rate_limit_per_address": GENEROUS}
    async with start_app(**storage, **limits) as client:
        await register(client, "alice@example.com")
        await register(client, "bob@example.com")

        codes = [await login_status(client, "alice@example.com") for _ in range(3)]
        refused = await client.post(
            "/auth/jwt/login", data={"username": "ALICE@example.com", "password": PASSWORD}
        )
        other_account = await login_status(client, "bob@example.com")

    assert codes == [200, 200, 200]
    assert_retry_after(refused, 60)
    assert refused.json() == {"detail": "Too many attempts, retry later"}
    assert other_account == 200


async def test_rate_limit_login_per_address(start_app: StartApp, storage: dict[str, Any]) -> None:
    limits = {"login_rate_limit_per_address": "3/minute", "login_rate_limit_per_email": GENEROUS}
    async with start_app(**storage, **limits) as client:
        codes = [await login_status(client, f"user{n}@example.com") for n in range(4)]

    assert codes == [400, 400, 400, 429]


async def test_rate_limit_counts_both_login_transports(start_app: StartApp) -> None:
    async with start_app(login_rate_limit_per_email="2/minute") as client:
        await register(client, "alice@example.com")
        codes = [
            await login_status(client, "alice@example.com", "/auth/jwt/login"),
            await login_status(client, "alice@example.com", "/auth/cookie/login"),
            await login_status(client, "alice@example.com", "/auth/cookie/login"),
        ]

    assert codes == [200, 204, 429]


@pytest.mark.parametrize("path", ["/auth/forgot-password", "/auth/request-verify-token"])
async def test_rate_limit_email_requests(
    start_app: StartApp, storage: dict[str, Any], path: str
) -> None:
    limits = {"email_rate_limit_per_email": "2/hour", "email_rate_limit_per_address": "4/hour"}
    async with start_app(**storage, **limits) as client:
        same_email = [
            await client.post(path, json={"email": email})
            for email in ("nobody@example.com", "Nobody@Example.com", "NOBODY@example.com")
        ]
        other_emails = [
            await client.post(path, json={"email": f"other{n}@example.com"}) for n in range(3)
        ]

    assert [r.status_code for r in same_email] == [202, 202, 429]
    assert_retry_after(same_email[2], 3600)
    # The address has used 4 of its 4 (the refused request counted for it too).
    assert [r.status_code for r in other_emails] == [202, 429, 429]


async def test_unreachable_redis_answers_503(start_app: StartApp) -> None:
    async with start_app(redis_url="redis://127.0.0.1:9") as client:  # nothing listens there
        response = await client.post(
            "/auth/jwt/login", data={"username": "alice@example.com", "password": PASSWORD}
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
