"""Which spellings of an address are one account: case and Unicode composition, nothing more.

Collations would equate more (MariaDB's default ignores accents, PostgreSQL's ICU collations
fullwidth letters), which let someone register a look-alike, block the real owner, and verify
the real address with a token mailed to the look-alike. Every check here runs on the database
the tests run on, so it holds on SQLite, PostgreSQL and MariaDB alike.
"""

from pathlib import Path

import httpx
import pytest

from .conftest import StartApp
from .helpers import PASSWORD, bearer, login, register, user_data
from .mail import messages, token, wait_for_messages

pytestmark = pytest.mark.anyio

REAL = "ceo@example.com"
# Each is another address, not the real one: an accent, fullwidth letters in the local part,
# a letter that only looks the same (Cyrillic).
LOOK_ALIKES = ["ceo@ex\u00e1mple.com", "\uff43\uff45\uff4f@example.com", "c\u0435o@example.com"]
# Each is the real address: case, and the accent composed or as a separate mark.
SAME_AS_ZOE = ["ZO\u00cb@Example.com", "zoe\u0308@example.com", "Zo\u00eb@EXAMPLE.COM"]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
async def test_a_look_alike_does_not_block_the_real_address(
    client: httpx.AsyncClient, look_alike: str
) -> None:
    squatter = await client.post("/auth/register", json=user_data(look_alike, "squatter pass"))
    owner = await client.post("/auth/register", json=user_data(REAL))

    assert squatter.status_code == 201
    assert owner.status_code == 201, owner.text
    assert await login(client, REAL)
    wrong = await client.post(
        "/auth/jwt/login", data={"username": REAL, "password": "squatter pass"}
    )
    assert wrong.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
async def test_a_look_alike_cannot_take_the_real_address(
    client: httpx.AsyncClient, look_alike: str
) -> None:
    await register(client, look_alike)
    await register(client, REAL)
    token_of_look_alike = await login(client, look_alike)

    response = await client.patch(
        "/users/me", json={"email": REAL.upper()}, headers=bearer(token_of_look_alike)
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "UPDATE_USER_EMAIL_ALREADY_EXISTS"}


async def test_one_address_in_any_case_or_composition_is_one_account(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "zo\u00eb@example.com")

    again = [await client.post("/auth/register", json=user_data(email)) for email in SAME_AS_ZOE]

    assert [response.json() for response in again] == [
        {"detail": "REGISTER_USER_ALREADY_EXISTS"}
    ] * len(SAME_AS_ZOE)
    for email in SAME_AS_ZOE:
        assert await login(client, email)


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
async def test_a_token_mailed_to_a_look_alike_never_verifies_the_real_address(
    client: httpx.AsyncClient, mailbox: Path, look_alike: str
) -> None:
    await register(client, look_alike)
    access = await login(client, look_alike)
    await client.post("/auth/request-verify-token", json={"email": look_alike})
    mailed = token((await wait_for_messages(mailbox))[-1])
    moved = await client.patch("/users/me", json={"email": REAL}, headers=bearer(access))
    assert moved.status_code == 200, moved.text

    response = await client.post("/auth/verify", json={"token": mailed})

    assert response.json() == {"detail": "VERIFY_USER_BAD_TOKEN"}
    me = await client.get("/users/me", headers=bearer(access))
    assert (me.json()["email"], me.json()["is_verified"]) == (REAL, False)


async def test_a_verify_token_is_bound_to_the_exact_address(
    client: httpx.AsyncClient, mailbox: Path
) -> None:
    await register(client, REAL)
    access = await login(client, REAL)
    await client.post("/auth/request-verify-token", json={"email": REAL})
    mailed = token((await wait_for_messages(mailbox))[-1])
    await client.patch("/users/me", json={"email": "CEO@example.com"}, headers=bearer(access))

    response = await client.post("/auth/verify", json={"token": mailed})

    assert response.json() == {"detail": "VERIFY_USER_BAD_TOKEN"}


async def test_a_reset_token_stops_working_when_the_address_changes(
    client: httpx.AsyncClient, mailbox: Path
) -> None:
    await register(client, "old@example.com")
    access = await login(client, "old@example.com")
    await client.post("/auth/forgot-password", json={"email": "old@example.com"})
    mailed = token((await wait_for_messages(mailbox))[-1])
    await client.patch("/users/me", json={"email": "new@example.com"}, headers=bearer(access))

    response = await client.post(
        "/auth/reset-password", json={"token": mailed, "password": "the attacker's password"}
    )

    assert response.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    assert await login(client, "new@example.com")


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\ufeff", "\u2060"])
async def test_registration_refuses_invisible_characters(
    client: httpx.AsyncClient, invisible: str
) -> None:
    response = await client.post("/auth/register", json=user_data(f"ce{invisible}o@example.com"))

    assert response.status_code == 422


# What an attacker tried after a 429, with the real password: other spellings of the account
# (one count with it), look-alikes and invisible characters (no account).
LOGIN_VARIANTS = [
    "VICTIM@example.com",
    " victim@Example.com ",
    "\uff56ictim@example.com",
    "victim@ex\u00e1mple.com",
    "vic\u200btim@example.com",
    "victim\u00ad@example.com",
    "\ufeffvictim@example.com",
    "victim@example.com\u200b",
]


async def test_login_variants_of_a_limited_email_never_log_in(start_app: StartApp) -> None:
    limits = {
        "login_rate_limit_per_email": "3/minute",
        "login_rate_limit_per_address": "1000/minute",
    }
    async with start_app(**limits) as client:
        await register(client, "victim@example.com")
        guesses = [
            await client.post(
                "/auth/jwt/login", data={"username": "victim@example.com", "password": "guess"}
            )
            for _ in range(4)
        ]
        variants = {
            email: (
                await client.post("/auth/jwt/login", data={"username": email, "password": PASSWORD})
            ).status_code
            for email in LOGIN_VARIANTS
        }

    assert [response.status_code for response in guesses] == [400, 400, 400, 429]
    assert variants == {email: 429 for email in LOGIN_VARIANTS[:2]} | {
        email: 400 for email in LOGIN_VARIANTS[2:]
    }


def fullwidth(text: str) -> str:
    return "".join(chr(ord(letter) + 0xFEE0) for letter in text)


async def test_reset_requests_in_many_spellings_send_no_more_than_the_limit(
    start_app: StartApp, mailbox: Path
) -> None:
    limits = {"email_rate_limit_per_email": "5/hour", "email_rate_limit_per_address": "1000/hour"}
    cases = [
        "".join(c.upper() if (n >> i) & 1 else c for i, c in enumerate("victim")) + "@example.com"
        for n in range(24)
    ]
    widths = [f"{'victim'[:n]}{fullwidth('victim'[n:])}@example.com" for n in range(6)]
    async with start_app(**limits) as client:
        await register(client, "victim@example.com")
        codes = [
            (await client.post("/auth/forgot-password", json={"email": email})).status_code
            for email in cases + widths
        ]
    # The app has stopped: every message it was sending is written.

    assert codes == [202] * 5 + [429] * 19 + [202] * 6
    assert [message["To"] for message in messages(mailbox)] == ["victim@example.com"] * 5
