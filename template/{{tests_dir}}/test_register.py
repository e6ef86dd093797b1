"""POST /auth/register."""

import asyncio

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from .helpers import user_data

pytestmark = pytest.mark.anyio


async def test_register_returns_the_user_without_password(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=user_data("alice@example.com"))

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "alice@example.com"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert body["is_verified"] is False
    assert "password" not in body
    assert "hashed_password" not in body


async def test_register_ignores_privileged_fields(client: httpx.AsyncClient) -> None:
    data = user_data("eve@example.com", is_superuser=True, is_verified=True, is_active=False)
    response = await client.post("/auth/register", json=data)

    assert response.status_code == 201
    body = response.json()
    assert (body["is_superuser"], body["is_verified"], body["is_active"]) == (False, False, True)


async def test_register_existing_email(client: httpx.AsyncClient) -> None:
    await client.post("/auth/register", json=user_data("bob@example.com"))
    response = await client.post("/auth/register", json=user_data("bob@example.com"))

    assert response.status_code == 400
    assert response.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"}


async def test_register_existing_email_in_other_case(client: httpx.AsyncClient) -> None:
    await client.post("/auth/register", json=user_data("carol@example.com"))
    response = await client.post("/auth/register", json=user_data("Carol@Example.COM"))

    assert response.status_code == 400
    assert response.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"}


async def test_parallel_registrations_of_one_email_create_one_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    variants = [
        "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate("racecondition@example.com"))
        for i in range(50)
    ]
    responses = await asyncio.gather(
        *(client.post("/auth/register", json=user_data(email)) for email in variants)
    )

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [400] * 49
    assert all(
        r.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"}
        for r in responses
        if r.status_code == 400
    )
    database = app.state.database
    assert await database.fetch_val(sa.select(sa.func.count()).select_from(sa.table("user"))) == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "at least 8 characters"), ("x" * 129, "at most 128 characters")],
)
async def test_register_refuses_password_length(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    response = await client.post("/auth/register", json=user_data("dan@example.com", password))

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["code"] == "REGISTER_INVALID_PASSWORD"
    assert reason in detail["reason"]


async def test_register_accepts_password_of_128_characters(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=user_data("max@example.com", "p" * 128))

    assert response.status_code == 201


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-email", "password": "long enough password"},
        {"email": "frank@example.com"},
        {"password": "long enough password"},
    ],
)
async def test_register_invalid_body(client: httpx.AsyncClient, data: dict[str, str]) -> None:
    response = await client.post("/auth/register", json=data)

    assert response.status_code == 422
