"""Logout, on the bearer and the cookie transport."""

import httpx
import pytest

from .conftest import StartApp
from .helpers import PASSWORD, bearer, cookie_login, login, register

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
    response = await cookie_login(client, "alice@example.com")

    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    # The __Host- prefix: browsers keep it only with Secure, Path=/ and no Domain.
    assert cookie.startswith("__Host-fastapiusersauth=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "max-age"} <= attributes
    assert "domain" not in attributes
    assert "path=/" in [part.strip().lower() for part in cookie.split(";")]
    assert "samesite=lax" in cookie.lower()


@pytest.mark.parametrize("transport", ["jwt", "cookie"])
async def test_login_responses_are_not_stored(client: httpx.AsyncClient, transport: str) -> None:
    await register(client, "alice@example.com")
    response = await client.post(
        f"/auth/{transport}/login", data={"username": "alice@example.com", "password": PASSWORD}
    )

    assert response.is_success
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "https://testserver"}, 204),
        ({"Sec-Fetch-Site": "same-site", "Origin": "https://app.testserver"}, 204),
        ({"Origin": "https://testserver"}, 204),
        ({}, 204),
    ],
)
async def test_cookie_login_from_another_site_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    """Login CSRF: another site's form must not log the visitor in to an account it chose."""
    await register(client, "alice@example.com")
    credentials = {"username": "alice@example.com", "password": PASSWORD}

    response = await client.post("/auth/cookie/login", data=credentials, headers=headers)

    assert response.status_code == status
    assert ("set-cookie" in response.headers) == (status == 204)


async def test_bearer_login_from_another_site_works(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    response = await client.post(
        "/auth/jwt/login",
        data={"username": "alice@example.com", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://spa.example"},
    )

    assert response.status_code == 200


async def test_cookie_authenticates_requests(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    await cookie_login(client, "alice@example.com")

    response = await client.get("/users/me")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


async def test_cookie_logout_clears_cookie_and_revokes_token(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    login_response = await cookie_login(client, "alice@example.com")
    token = login_response.cookies["__Host-fastapiusersauth"]

    response = await client.post("/auth/cookie/logout")

    assert response.status_code == 204
    assert "max-age=0" in response.headers["set-cookie"].lower()
    client.cookies.set("__Host-fastapiusersauth", token, domain="testserver")
    assert (await client.get("/users/me")).status_code == 401


async def test_cookie_lifetime_follows_the_access_token_lifetime(start_app: StartApp) -> None:
    async with start_app(access_token_lifetime_seconds=900) as client:
        await register(client, "alice@example.com")
        response = await cookie_login(client, "alice@example.com")

    assert "max-age=900" in response.headers["set-cookie"].lower()


async def test_cookie_not_secure_when_turned_off(start_app: StartApp) -> None:
    async with start_app(cookie_secure=False) as client:
        await register(client, "alice@example.com")
        response = await cookie_login(client, "alice@example.com")
        me = await client.get("/users/me")

    # Without Secure, no __Host- prefix either (browsers would drop the cookie).
    assert response.headers["set-cookie"].startswith("fastapiusersauth=")
    attributes = {part.strip().lower() for part in response.headers["set-cookie"].split(";")}
    assert "secure" not in attributes
    assert "httponly" in attributes
    assert me.status_code == 200


async def test_password_change_revokes_cookie_sessions(client: httpx.AsyncClient) -> None:
    await register(client, "alice@example.com")
    await cookie_login(client, "alice@example.com")
    other_browser = await login(client, "alice@example.com")

    response = await client.patch("/users/me", json={"password": "a brand new password"})

    assert response.status_code == 200
    assert (await client.get("/users/me")).status_code == 401
    assert (await client.get("/users/me", headers=bearer(other_browser))).status_code == 401
