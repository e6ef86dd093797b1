"""A login that checked the old password while the password changed opens no working session.

The interleavings are forced, not left to luck: the login is held right after its password
check while the change runs to the end, then let go.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from .helpers import PASSWORD, bearer, login, register_and_log_in
from .mail import request_reset

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "a completely new password"
Change = Callable[[httpx.AsyncClient, Path, str], Awaitable[None]]


async def change_by_patch(client: httpx.AsyncClient, mailbox: Path, access_token: str) -> None:
    response = await client.patch(
        "/users/me", json={"password": NEW_PASSWORD}, headers=bearer(access_token)
    )
    assert response.status_code == 200, response.text


async def change_by_reset(client: httpx.AsyncClient, mailbox: Path, access_token: str) -> None:
    reset_token = await request_reset(client, mailbox, "ada@example.com")
    response = await client.post(
        "/auth/reset-password", json={"token": reset_token, "password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("change", [change_by_patch, change_by_reset])
@pytest.mark.parametrize("path", ["/auth/jwt/login", "/auth/cookie/login"])
async def test_a_login_racing_a_password_change_gets_no_working_session(
    app: FastAPI,
    client: httpx.AsyncClient,
    mailbox: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Change,
    path: str,
) -> None:
    access_token = await register_and_log_in(client, "ada@example.com")
    manager = app.state.user_services.manager
    authenticate = manager.authenticate

    async def change_after_the_check(email: str, password: str) -> object:
        user = await authenticate(email, password)
        assert user is not None  # the old password passed its check...
        await change(client, mailbox, access_token)  # ...and now the password changes
        return user

    monkeypatch.setattr(manager, "authenticate", change_after_the_check)
    raced = await client.post(path, data={"username": "ada@example.com", "password": PASSWORD})
    monkeypatch.undo()
    raced_token = raced.json()["access_token"] if path == "/auth/jwt/login" else None
    headers = bearer(raced_token) if raced_token else {}

    me = await client.get("/users/me", headers=headers)

    assert raced.status_code in (200, 204)  # the login itself went through...
    assert me.status_code == 401  # ...but its session does not work
    assert await login(client, "ada@example.com", NEW_PASSWORD)


async def test_a_rehash_racing_a_password_change_keeps_the_new_password(
    app: FastAPI, client: httpx.AsyncClient, mailbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login that rehashes the old password (new hashing parameters) must not write that
    hash over a password set meanwhile."""
    access_token = await register_and_log_in(client, "ada@example.com")
    passwords = app.state.user_services.manager.passwords
    verify_and_update = passwords.verify_and_update

    async def change_after_the_check(password: str, hashed: str) -> tuple[bool, str | None]:
        verified, new_hash = await verify_and_update(password, hashed)
        await change_by_patch(client, mailbox, access_token)
        # As if the hashing parameters had changed: a new hash of the old password.
        return verified, new_hash or await passwords.hash(password)

    monkeypatch.setattr(passwords, "verify_and_update", change_after_the_check)
    await client.post("/auth/jwt/login", data={"username": "ada@example.com", "password": PASSWORD})
    monkeypatch.undo()

    old = await client.post(
        "/auth/jwt/login", data={"username": "ada@example.com", "password": PASSWORD}
    )
    assert old.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}
    assert await login(client, "ada@example.com", NEW_PASSWORD)
