"""The same requests to FastAPI Users (from PyPI) and to a generated app: the status codes, JSON
keys and error `detail` codes must match, so FastAPI Users clients work unchanged.

Where the generated app is deliberately stricter (a logged-out or pre-password-change token
stops working; FastAPI Users' JWTs stay valid until they expire) the step says so and checks
both sides' answers explicitly.
"""

import asyncio
import email
import email.policy
import importlib
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.reference_app import create_reference_app, make_superuser

SECRET = "a-secret-for-the-differential-test-0123456789"
PASSWORD = "correct horse battery staple"


@dataclass
class Step:
    """One request. ``auth`` names a saved bearer token; ``save`` maps a context name to a key
    of the JSON answer; ``mail`` (kind, email, name) saves under ``name`` the verify or reset
    token the request emailed; ``differs`` gives (ours, reference) statuses where we differ on
    purpose. ``{name}`` in the path or in JSON string values is replaced from the context."""

    method: str
    path: str
    json: Any = None
    form: dict[str, str] | None = None
    auth: str | None = None
    cookies: bool = False
    save: dict[str, str] = field(default_factory=dict)
    mail: tuple[str, str, str] | None = None
    differs: tuple[int, int] | None = None


def login(name: str, email: str, password: str = PASSWORD) -> Step:
    return Step(
        "POST",
        "/auth/jwt/login",
        form={"username": email, "password": password},
        save={name: "access_token"},
    )


SEQUENCE = [
    Step(
        "POST",
        "/auth/register",
        json={"email": "alice@example.com", "password": PASSWORD},
        save={"alice_id": "id"},
    ),
    Step("POST", "/auth/register", json={"email": "alice@example.com", "password": PASSWORD}),
    Step("POST", "/auth/register", json={"email": "ALICE@example.com", "password": PASSWORD}),
    Step("POST", "/auth/register", json={"email": "bob@example.com", "password": "short"}),
    Step("POST", "/auth/register", json={"email": "bob@example.com", "password": "x" * 129}),
    Step("POST", "/auth/register", json={"email": "not-an-email", "password": PASSWORD}),
    Step("POST", "/auth/register", json={"email": "bob@example.com"}),
    Step(
        "POST",
        "/auth/register",
        json={"email": "bob@example.com", "password": PASSWORD, "is_superuser": True},
        save={"bob_id": "id"},
    ),
    Step(
        "POST",
        "/auth/jwt/login",
        form={"username": "alice@example.com", "password": "wrong password"},
    ),
    Step("POST", "/auth/jwt/login", form={"username": "nobody@example.com", "password": PASSWORD}),
    Step("POST", "/auth/jwt/login", form={"username": "alice@example.com"}),
    login("alice", "alice@example.com"),
    login("alice2", "alice@example.com"),
    login("bob", "bob@example.com"),
    login("admin", "admin@example.com"),
    Step("GET", "/users/me"),
    Step("GET", "/users/me", auth="garbage"),
    Step("GET", "/users/me", auth="alice"),
    Step("PATCH", "/users/me", json={"email": "alice@example.org"}, auth="alice"),
    Step("PATCH", "/users/me", json={"email": "bob@example.com"}, auth="alice"),
    Step("PATCH", "/users/me", json={"password": "short"}, auth="alice"),
    Step("PATCH", "/users/me", json={"is_superuser": True, "is_active": False}, auth="alice"),
    Step("PATCH", "/users/me", json={"email": "not-an-email"}, auth="alice"),
    Step("GET", "/users/{alice_id}", auth="bob"),
    Step("PATCH", "/users/{alice_id}", json={"is_verified": True}, auth="bob"),
    Step("DELETE", "/users/{alice_id}", auth="bob"),
    Step("GET", "/users/{alice_id}"),
    Step("GET", "/users/{alice_id}", auth="admin"),
    Step("GET", "/users/00000000-0000-4000-8000-000000000000", auth="admin"),
    Step("GET", "/users/not-a-uuid", auth="admin"),
    Step("PATCH", "/users/{alice_id}", json={"email": "bob@example.com"}, auth="admin"),
    Step("PATCH", "/users/{alice_id}", json={"password": "short"}, auth="admin"),
    Step("PATCH", "/users/{alice_id}", json={"is_verified": True}, auth="admin"),
    Step("PATCH", "/users/00000000-0000-4000-8000-000000000000", json={}, auth="admin"),
    # Changing the password ends the other sessions here; FastAPI Users keeps them valid.
    Step("PATCH", "/users/me", json={"password": "another long password"}, auth="alice"),
    Step("GET", "/users/me", auth="alice2", differs=(401, 200)),
    login("alice", "alice@example.org", "another long password"),
    # Logging out revokes the token here; FastAPI Users' JWT strategy cannot revoke.
    Step("POST", "/auth/jwt/logout", auth="alice"),
    Step("GET", "/users/me", auth="alice", differs=(401, 200)),
    Step("POST", "/auth/jwt/logout"),
    Step(
        "POST",
        "/auth/cookie/login",
        form={"username": "bob@example.com", "password": "wrong password"},
    ),
    Step("POST", "/auth/cookie/login", form={"username": "bob@example.com", "password": PASSWORD}),
    Step("GET", "/users/me", cookies=True),
    Step("POST", "/auth/cookie/logout", cookies=True),
    Step("PATCH", "/users/{bob_id}", json={"is_active": False}, auth="admin"),
    Step("GET", "/users/me", auth="bob"),
    Step("POST", "/auth/jwt/login", form={"username": "bob@example.com", "password": PASSWORD}),
    Step("DELETE", "/users/{bob_id}", auth="admin"),
    Step("DELETE", "/users/{bob_id}", auth="admin"),
    Step("GET", "/users/{bob_id}", auth="admin"),
    # Email verification.
    Step("POST", "/auth/request-verify-token", json={"email": "carol@example.com"}),
    Step(
        "POST",
        "/auth/register",
        json={"email": "carol@example.com", "password": PASSWORD},
        save={"carol_id": "id"},
    ),
    Step(
        "POST",
        "/auth/request-verify-token",
        json={"email": "Carol@example.com"},
        mail=("verify", "carol@example.com", "carol_verify"),
    ),
    Step("POST", "/auth/request-verify-token", json={"email": "not-an-email"}),
    Step("POST", "/auth/request-verify-token", json={}),
    Step("POST", "/auth/verify", json={"token": "not-a-token"}),
    Step("POST", "/auth/verify", json={}),
    Step("POST", "/auth/verify", json={"token": "{carol_verify}"}),
    Step("POST", "/auth/verify", json={"token": "{carol_verify}"}),
    Step("POST", "/auth/request-verify-token", json={"email": "carol@example.com"}),
    Step("GET", "/users/{carol_id}", auth="admin"),
    # Password reset.
    login("carol_before_reset", "carol@example.com"),
    Step("POST", "/auth/forgot-password", json={"email": "nobody@example.com"}),
    Step("POST", "/auth/forgot-password", json={"email": "not-an-email"}),
    Step("POST", "/auth/forgot-password", json={}),
    Step(
        "POST",
        "/auth/forgot-password",
        json={"email": "CAROL@example.com"},
        mail=("reset", "carol@example.com", "carol_reset"),
    ),
    Step("POST", "/auth/reset-password", json={"token": "not-a-token", "password": PASSWORD}),
    Step("POST", "/auth/reset-password", json={"token": "{carol_verify}", "password": PASSWORD}),
    Step("POST", "/auth/reset-password", json={"token": "{carol_reset}", "password": "short"}),
    Step("POST", "/auth/reset-password", json={"token": "{carol_reset}", "password": "x" * 129}),
    Step("POST", "/auth/reset-password", json={"token": "{carol_reset}"}),
    Step(
        "POST",
        "/auth/reset-password",
        json={"token": "{carol_reset}", "password": "carol's new password"},
    ),
    # Used once, the token is void (both bind it to the password hash).
    Step(
        "POST",
        "/auth/reset-password",
        json={"token": "{carol_reset}", "password": "an attacker's password"},
    ),
    Step("POST", "/auth/jwt/login", form={"username": "carol@example.com", "password": PASSWORD}),
    login("carol", "carol@example.com", "carol's new password"),
    # A reset ends the older sessions here; FastAPI Users' JWTs stay valid.
    Step("GET", "/users/me", auth="carol_before_reset", differs=(401, 200)),
    Step("GET", "/users/me", auth="carol"),
    # Cookie transport.
    Step("POST", "/auth/cookie/logout"),
    Step("POST", "/auth/cookie/login", form={"username": "carol@example.com"}),
    Step(
        "POST",
        "/auth/cookie/login",
        form={"username": "carol@example.com", "password": "carol's new password"},
    ),
    Step("GET", "/users/me", cookies=True),
    Step("PATCH", "/users/me", json={"email": "carol@example.org"}, cookies=True),
    Step("POST", "/auth/cookie/logout", cookies=True),
    Step("GET", "/users/me", cookies=True),
    # Verification follows the email: the old address's token is void, a new one is needed.
    Step(
        "POST",
        "/auth/request-verify-token",
        json={"email": "carol@example.org"},
        mail=("verify", "carol@example.org", "carol_verify_new"),
    ),
    Step("POST", "/auth/verify", json={"token": "{carol_verify}"}),
    Step("POST", "/auth/verify", json={"token": "{carol_verify_new}"}),
]


# Keys our answers add to FastAPI Users' (its clients read only the keys they know): the bearer
# login returns a refresh token, and how long the access token lasts.
ADDED_KEYS = {("POST", "/auth/jwt/login"): {"expires_in", "refresh_token"}}


def shape(response: httpx.Response) -> dict[str, Any]:
    """What must match: status, JSON keys, and the error code in `detail`."""
    seen: dict[str, Any] = {"status": response.status_code}
    if not response.content:
        return seen
    body = response.json()
    if isinstance(body, dict):
        seen["keys"] = sorted(body)
        detail = body.get("detail")
        if isinstance(detail, str):
            seen["detail"] = detail
        elif isinstance(detail, dict):
            seen["detail"] = detail.get("code")
            seen["detail_keys"] = sorted(detail)
        for flag in ("is_active", "is_superuser", "is_verified"):
            if flag in body:
                seen[flag] = body[flag]
    return seen


TokenReader = Callable[[str, str], Awaitable[str]]


class Context(dict[str, str]):
    """Saved values; a name never saved reads as itself (a token no one issued)."""

    def __missing__(self, key: str) -> str:
        return key


def filled(value: Any, context: Context) -> Any:
    if isinstance(value, str):
        return value.format_map(context)
    if isinstance(value, dict):
        return {key: filled(item, context) for key, item in value.items()}
    return value


async def play(
    client: httpx.AsyncClient, step: Step, context: Context, read_token: TokenReader
) -> httpx.Response:
    headers = {}
    if step.auth:
        headers["Authorization"] = f"Bearer {context.get(step.auth, step.auth)}"
    if not step.cookies:
        client.cookies.clear()
    response = await client.request(
        step.method,
        step.path.format_map(context),
        json=filled(step.json, context),
        data=step.form,
        headers=headers,
    )
    if response.status_code < 300 and response.content:
        for name, key in step.save.items():
            context[name] = str(response.json()[key])
    if step.mail is not None:
        kind, address, name = step.mail
        context[name] = await read_token(kind, address)
    return response


def mailbox_reader(mailbox: Path) -> TokenReader:
    """Reads tokens from the generated app's file sender: the newest message to ``address`` of
    the given kind (it sends in the background, so wait for it a moment)."""
    subjects = {"verify": "Verify your email address", "reset": "Reset your password"}

    async def read_token(kind: str, address: str) -> str:
        for _ in range(500):
            for path in sorted(mailbox.glob("*.eml"), reverse=True):
                message = email.message_from_bytes(
                    path.read_bytes(), _class=EmailMessage, policy=email.policy.default
                )
                if message["To"] == address and message["Subject"] == subjects[kind]:
                    body = message.get_content()
                    link = next(word for word in body.split() if word.startswith("http"))
                    return parse_qs(urlsplit(link).query)["token"][0]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {kind} email to {address} in {mailbox}")

    return read_token


def sent_reader(sent: dict[str, dict[str, str]]) -> TokenReader:
    """Reads tokens the reference app's hooks recorded."""

    async def read_token(kind: str, address: str) -> str:
        return sent[kind][address]

    return read_token


@pytest.fixture
def generated_app(generate: Callable[..., Path], tmp_path: Path) -> FastAPI:
    """A generated project, imported into this process and migrated on a fresh SQLite file."""
    from alembic import command
    from alembic.config import Config

    project = generate("diffshop")
    url = f"sqlite:///{tmp_path / 'ours.db'}"
    sys.path.insert(0, str(project))
    try:
        config = Config(str(project / "alembic.ini"))
        config.set_main_option("sqlalchemy.url", url)
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        settings_module = importlib.import_module("diffshop.settings")
        main_module = importlib.import_module("diffshop.main")
        # Email goes to files, to read the tokens from; rate limits are tested in the app's own
        # suite and kept out of the way here (FastAPI Users has none).
        unlimited = "1000/minute"
        settings = settings_module.Settings(
            _env_file=None,
            database_url=url,
            secret=SECRET,
            argon2_memory_cost_kib=1024,
            argon2_time_cost=1,
            email_backend="file",
            email_file_path=tmp_path / "mail",
            redis_url=None,
            login_rate_limit_per_address=unlimited,
            login_rate_limit_per_email=unlimited,
            email_rate_limit_per_address=unlimited,
            email_rate_limit_per_email=unlimited,
            register_rate_limit_per_address=unlimited,
            password_change_rate_limit_per_address=unlimited,
            # FastAPI Users' clients change a password with the new one alone.
            require_current_password=False,
        )
        app: FastAPI = main_module.create_app(settings)
        return app
    finally:
        sys.path.remove(str(project))


@pytest.mark.anyio
async def test_same_requests_same_answers(generated_app: FastAPI, tmp_path: Path) -> None:
    reference, sent = create_reference_app(f"sqlite+aiosqlite:///{tmp_path / 'ref.db'}", SECRET)
    readers = {"ours": mailbox_reader(tmp_path / "mail"), "reference": sent_reader(sent)}
    schemas = importlib.import_module("diffshop.users.schemas")

    async with AsyncExitStack() as stack:
        clients = {}
        for name, app in (("ours", generated_app), ("reference", reference)):
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="https://testserver"
                )
            )
        await generated_app.state.user_services.manager.create(
            schemas.UserCreate(email="admin@example.com", password=PASSWORD), superuser=True
        )
        await make_superuser(reference, "admin@example.com", PASSWORD)

        contexts = {"ours": Context(), "reference": Context()}
        mismatches = []
        for number, step in enumerate(SEQUENCE, start=1):
            ours = await play(clients["ours"], step, contexts["ours"], readers["ours"])
            theirs = await play(
                clients["reference"], step, contexts["reference"], readers["reference"]
            )
            if step.differs is not None:
                assert (ours.status_code, theirs.status_code) == step.differs, (number, step)
                continue
            our_shape = shape(ours)
            added = ADDED_KEYS.get((step.method, step.path), set())
            if added and ours.status_code == 200:
                assert added <= set(our_shape["keys"]), (number, step)
                our_shape["keys"] = [key for key in our_shape["keys"] if key not in added]
            if our_shape != shape(theirs):
                where = f"step {number} {step.method} {step.path}"
                mismatches.append(f"{where}: ours {our_shape} != reference {shape(theirs)}")
            if step.method == "POST" and step.path.endswith("/login") and ours.status_code == 204:
                assert "set-cookie" in ours.headers and "set-cookie" in theirs.headers

    assert not mismatches, "\n".join(mismatches)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
