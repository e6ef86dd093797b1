"""Bodies no client should send: refused with 4xx, never a 500, and never echoed back raw."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import StartApp
from .helpers import PASSWORD, bearer, user_data

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}

MALFORMED_BODIES = {
    "lone surrogate in the password": b'{"email": "a@example.com", "password": "\\ud800'
    + b"x" * 12
    + b'"}',
    "lone surrogate in the email": b'{"email": "a\\udfff@example.com", "password": "%s"}'
    % PASSWORD.encode(),
    "surrogate bytes, not UTF-8": b'{"email": "a@example.com", "password": "\xed\xa0\x80'
    + b"x" * 12
    + b'"}',
    "NaN": b'{"email": NaN, "password": "%s"}' % PASSWORD.encode(),
    "Infinity": b'{"email": "a@example.com", "password": -Infinity}',
    "a number beyond a float": b'{"email": "a@example.com", "password": 1e999999}',
    "an integer too long to convert": b'{"email": "a@example.com", "password": '
    + b"9" * 5000
    + b"}",
    "nesting deeper than the parser goes": b"[" * 20000 + b"]" * 20000,
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
async def test_malformed_json_is_422(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/auth/register", content=body, headers=JSON)

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert "\\ud" not in response.text.lower()


async def test_a_proper_surrogate_pair_is_a_character(client: httpx.AsyncClient) -> None:
    # json.dumps escapes the emoji as a UTF-16 surrogate pair.
    body = json.dumps(user_data("emoji@example.com", "\U0001f600 " + PASSWORD))
    assert "\\ud83d\\ude00" in body
    response = await client.post("/auth/register", content=body, headers=JSON)

    assert response.status_code == 201, response.text


async def test_lone_surrogate_password_change_is_422(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    body = b'{"password": "\\ud800 a new password"}'
    response = await client.patch(
        "/users/me", content=body, headers={**JSON, **bearer(user["token"])}
    )

    assert response.status_code == 422


async def test_login_with_surrogate_bytes_is_bad_credentials(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/jwt/login",
        content=b"username=a%40example.com&password=%ED%A0%80xxxxxxxx",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    padding = "x" * 70_000  # over the default limit, 64 KiB
    response = await client.post(
        "/auth/register", json={"email": "big@example.com", "password": PASSWORD, "p": padding}
    )

    assert response.status_code == 413


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    """Without a Content-Length, the body is counted as it arrives, and reading stops at the
    limit: the 100 chunks a client could send are not all read."""
    chunks_read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        yield b'{"email": "big@example.com", "password": "'
        for _ in range(100):
            chunks_read += 1
            yield b"x" * 8192
        yield b'"}'

    response = await client.post("/auth/register", content=body(), headers=JSON)

    assert response.status_code == 413
    assert chunks_read < 100


async def test_body_limit_is_a_setting(start_app: StartApp) -> None:
    body = user_data("limit@example.com", p="x" * 2000)
    async with start_app(max_request_body_bytes=1024) as small, start_app() as default:
        assert (await small.post("/auth/register", json=body)).status_code == 413
        assert (await default.post("/auth/register", json=body)).status_code == 201


async def test_headers_over_the_limit_are_431(client: httpx.AsyncClient) -> None:
    big = {"X-Padding": "x" * 17_000}  # over the default limit, 16 KiB

    response = await client.get("/users/me", headers=big)

    assert response.status_code == 431
    assert (await client.get("/users/me", headers={"X-Padding": "x" * 8_000})).status_code == 401


async def test_header_limit_is_a_setting(start_app: StartApp) -> None:
    async with start_app(max_request_header_bytes=2048) as client:
        response = await client.get("/users/me", headers={"Cookie": "a=" + "x" * 3000})

    assert response.status_code == 431
