"""Logout, on the bearer and the cookie transport."""

import httpx
import pytest

from .conftest import StartApp
from .helpers import PASSWORD, bearer, login, register

pytestmark = pytest.mark.anyio


async def test_logout_revokes_token(client: httpx.AsyncClient, user: dict[str, str]) -> None:
    response = await client.post("/auth/jwt/logout", headers=bearer(user["token"]))

    assert response.status_code == 204
    assert (await client.get("/users/me", headers=bearer(user["token"]))).status_code == 401


async def test_logout_keeps_other_sessions(client: httpx.AsyncClient, user: dict[str, str]) -> None:
    other_token = await login(client, "user@example.com")

    await client.post("/auth/jwt/logout", headers=bearer(user["token"]))

    assert (await client.get("/users/me", headers=bearer(other_token))).status_code == 200


async def test_logout_without_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/jwt/logout")

    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


async def test_cookie_flags(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    response = await client.post(
        "/auth/cookie/login", data={"username": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("fastapiusersauth=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()


async def test_cookie_authenticates_requests(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    await client.post(
        "/auth/cookie/login", data={"username": "alice@example.com", "password": PASSWORD}
    )

    response = await client.get("/users/me")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


async def test_cookie_logout_clears_cookie_and_revokes_token(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    login_response = await client.post(
        "/auth/cookie/login", data={"username": "alice@example.com", "password": PASSWORD}
    )
    token = login_response.cookies["fastapiusersauth"]

    response = await client.post("/auth/cookie/logout")

    assert response.status_code == 204
    assert "max-age=0" in response.headers["set-cookie"].lower()
    client.cookies.set("fastapiusersauth", token, domain="testserver")
    assert (await client.get("/users/me")).status_code == 401


async def test_cookie_lifetime_follows_the_access_token_lifetime(start_app: StartApp) -> None:
    async with start_app(access_token_lifetime_seconds=900) as client:
        await register(client, "alice@example.com")
        response = await client.post(
            "/auth/cookie/login", data={"username": "alice@example.com", "password": PASSWORD}
        )

    assert "max-age=900" in response.headers["set-cookie"].lower()


async def test_cookie_not_secure_when_turned_off(start_app: StartApp) -> None:
    async with start_app(cookie_secure=False) as client:
        await register(client, "alice@example.com")
        response = await client.post(
            "/auth/cookie/login", data={"username": "alice@example.com", "password": PASSWORD}
        )

    attributes = {part.strip().lower() for part in response.headers["set-cookie"].split(";")}
    assert "secure" not in attributes
    assert "httponly" in attributes


async def test_password_change_revokes_cookie_sessions(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    await client.post(
        "/auth/cookie/login", data={"username": "alice@example.com", "password": PASSWORD}
    )
    other_browser = await login(client, "alice@example.com")

    response = await client.patch("/users/me", json={"password": "a brand new password"})

    assert response.status_code == 200
    assert (await client.get("/users/me")).status_code == 401
    assert (await client.get("/users/me", headers=bearer(other_browser))).status_code == 401
