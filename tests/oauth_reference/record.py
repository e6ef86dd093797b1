"""Run FastAPI Users 15's OAuth flows against the local provider and record the wire.

    python tests/oauth_reference/record.py [OUTPUT.json]

(in the reference virtual environment: see README.md). Each step is a request as a browser or
an API client would send it: its status, the Set-Cookie headers (values hidden, attributes
kept), the JSON body with volatile values replaced (<jwt>, <uuid>, <provider>...), and how many
token requests the provider received during the step. The output is deterministic, so that
RECORDED.json can be compared with a new run (test_reference_wire.py) and, later, with ours.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import jwt  # noqa: E402
from fastapi_users.jwt import generate_jwt  # noqa: E402
from httpx_oauth.clients.openid import OpenID, OpenIDConfigurationError  # noqa: E402
from sqlalchemy import select  # noqa: E402

from tests.oauth_provider import OAuthProvider  # noqa: E402
from tests.oauth_reference.reference_app import (  # noqa: E402
    CALLBACK_PATHS,
    OAuthAccount,
    User,
    create_reference_app,
)
from tests.oauth_wire import BASE, WireClient  # noqa: E402

SECRET = "reference-secret-0123456789-0123456789"
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Recorder(WireClient):
    """Each step with what a client sees of it, in order, and facts the bodies do not show."""

    def __init__(self, provider: OAuthProvider, app: Any) -> None:
        super().__init__(provider, app)
        self.steps: list[dict[str, Any]] = []
        self.facts: dict[str, Any] = {}

    # --- recording ---------------------------------------------------------------------------

    async def step(
        self, name: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        before = len(self.provider.token_requests)
        started = time.monotonic()
        response = await client.request(method, url, **kwargs)
        elapsed = time.monotonic() - started
        parsed = urlparse(url)
        entry: dict[str, Any] = {
            "step": name,
            "request": f"{method} {parsed.path}",
            "query": sorted(parse_qs(parsed.query, keep_blank_values=True)),
            "status": response.status_code,
        }
        if kwargs.get("headers", {}).get("Authorization"):
            entry["authorization"] = "Bearer <jwt>"
        cookies = response.headers.get_list("set-cookie")
        if cookies:
            entry["set_cookie"] = [self.cookie(c) for c in cookies]
        if "location" in response.headers:
            entry["location"] = self.text(response.headers["location"])
        entry["body"] = self.body(response)
        entry["provider_token_requests"] = len(self.provider.token_requests) - before
        if elapsed > 2:
            entry["elapsed_s"] = f">= {int(elapsed)}"
        self.steps.append(entry)
        return response

    def cookie(self, header: str) -> str:
        name, _, rest = header.partition("=")
        value, _, attributes = rest.partition(";")
        attributes = re.sub(r"expires=[^;]+", "expires=<date>", attributes)
        shown = '""' if value in ("", '""') else "<value>"
        return f"{name}={shown};{attributes}"

    def normalize(self, data: Any, key: str = "") -> Any:
        if isinstance(data, dict):
            return {k: self.normalize(v, k) for k, v in data.items()}
        if isinstance(data, list):
            return [self.normalize(v) for v in data]
        if not isinstance(data, str):
            return data
        if key == "authorization_url":
            url = urlparse(data)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            if "state" in params:
                params["state"] = "<jwt>"
            return {
                "endpoint": self.text(f"{url.scheme}://{url.netloc}{url.path}"),
                "params": dict(sorted(params.items())),
            }
        if JWT_RE.match(data):
            return "<jwt>"
        if UUID_RE.match(data):
            return "<uuid>"
        return self.text(data)

    async def db_user(self, email: str) -> User:
        async with self.app.state.session_maker() as session:
            result = await session.execute(select(User).where(User.email == email))
            user: User = result.unique().scalar_one()
            return user

    async def set_active(self, email: str, active: bool) -> None:
        async with self.app.state.session_maker() as session:
            manager = self.app.state.user_manager(session)
            user = await manager.get_by_email(email)
            await manager.user_db.update(user, {"is_active": active})

    async def oauth_accounts(self, account_id: str) -> list[OAuthAccount]:
        async with self.app.state.session_maker() as session:
            result = await session.execute(
                select(OAuthAccount).where(OAuthAccount.account_id == account_id)
            )
            return list(result.scalars())


def forged_state(data: dict[str, str], lifetime: int | None = 3600) -> str:
    return generate_jwt({**data, "aud": "fastapi-users:oauth-state"}, SECRET, lifetime)


def csrf_of(browser: httpx.AsyncClient) -> str:
    value = browser.cookies.get("fastapiusersoauthcsrf")
    assert value, "no CSRF cookie"
    return value


async def flows(r: Recorder) -> None:
    provider = r.provider

    # --- login, new and returning user ------------------------------------------------------
    browser = r.browser()
    url = await r.start("authorize", browser, "/auth/openid")
    state = parse_qs(urlparse(url).query)["state"][0]
    claims = jwt.decode(state, options={"verify_signature": False})
    r.facts["state_claims"] = sorted(claims)
    r.facts["state_lifetime_s"] = round((claims["exp"] - time.time()) / 60) * 60
    r.facts["state_header"] = jwt.get_unverified_header(state)
    callback = await r.at_provider(url, as_user="alice")
    response = await r.step("new user: callback", browser, "GET", callback)
    alice_token = response.json()["access_token"]
    alice = await r.me("new user: /users/me", alice_token)
    r.facts["oauth_user_is_verified_without_is_verified_by_default"] = alice["is_verified"]
    r.facts["csrf_cookie_cleared_by_callback"] = any(
        "fastapiusersoauthcsrf" in c for c in response.headers.get_list("set-cookie")
    )

    response = await r.login("returning user", "alice")
    again = await r.me("returning user: /users/me", response.json()["access_token"])
    r.facts["returning_user_is_the_same"] = again["id"] == alice["id"]

    provider.update_user("alice", email="alice@new.example")
    response = await r.login("email changed at provider", "alice")
    changed = await r.me("email changed at provider: /users/me", response.json()["access_token"])
    accounts = await r.oauth_accounts("alice")
    r.facts["after_provider_email_change"] = {
        "user_email": changed["email"],
        "oauth_account_email": [a.account_email for a in accounts],
    }
    provider.update_user("alice", email="alice@example.com")

    # Replaying the same state (and its cookie) with a new code: accepted again.
    callback = await r.at_provider(url, as_user="alice")
    await r.step("state reused with a new code", browser, "GET", callback)
    await browser.aclose()

    # --- cookie transport -----------------------------------------------------------------
    await r.login("cookie backend", "alice", "/auth/cookie/openid")

    # --- an existing account with the same email ------------------------------------------------
    await r.register("bob@example.com")
    provider.add_user("bob-at-provider", "Bob@Example.com", email_verified=True)
    await r.login("existing password account, verified provider email", "bob-at-provider")

    # associate_by_email=True: an unverified provider email takes over the local account.
    victim = await r.register("victim@example.com")
    response = await r.login(
        "associate_by_email, unverified provider email", "mallory", "/auth/openid-by-email"
    )
    taken = await r.me(
        "associate_by_email, unverified provider email: /users/me",
        response.json()["access_token"],
    )
    r.facts["associate_by_email_links_unverified_provider_email"] = taken["id"] == victim["id"]

    # is_verified_by_default=True: a new user is verified whatever the provider said.
    response = await r.login(
        "is_verified_by_default, unverified provider email", "carol", "/auth/openid-by-email"
    )
    carol = await r.me(
        "is_verified_by_default, unverified provider email: /users/me",
        response.json()["access_token"],
    )
    r.facts["is_verified_by_default_ignores_email_verified"] = carol["is_verified"]

    # Pre-account hijacking: the attacker registered the victim's email first, with a password.
    planted = await r.register("dave@example.com")
    response = await r.login("pre-hijacked account", "dave", "/auth/openid-by-email")
    victims = await r.me("pre-hijacked account: /users/me", response.json()["access_token"])
    attacker = await r.me(
        "pre-hijacked account: attacker's password login, /users/me",
        await r.password_login("dave@example.com"),
    )
    r.facts["pre_hijack_victim_and_attacker_share_the_account"] = (
        victims["id"] == attacker["id"] == planted["id"]
    )

    # --- refusals ------------------------------------------------------------------------------
    provider.hide_email = True
    await r.login("no email from the provider", "alice")
    provider.hide_email = False

    await r.set_active("alice@example.com", False)
    await r.login("inactive user", "alice")
    await r.set_active("alice@example.com", True)

    # --- the state --------------------------------------------------------------------------
    browser = r.browser()
    url = await r.start("state checks: authorize", browser, "/auth/openid")
    callback = await r.at_provider(url, as_user="alice")
    good_state = parse_qs(urlparse(callback).query)["state"][0]
    code_of = lambda location: parse_qs(urlparse(location).query)["code"][0]  # noqa: E731

    async def fresh_code() -> str:
        return code_of(await r.at_provider(url, as_user="alice"))

    tampered = good_state[:-2] + ("AA" if not good_state.endswith("AA") else "BB")
    path = "/auth/openid/callback"
    await r.step(
        "tampered state", browser, "GET", f"{path}?code={await fresh_code()}&state={tampered}"
    )
    expired = forged_state({"csrftoken": csrf_of(browser)}, lifetime=-10)
    await r.step(
        "expired state", browser, "GET", f"{path}?code={await fresh_code()}&state={expired}"
    )
    no_exp = forged_state({"csrftoken": csrf_of(browser)}, lifetime=None)
    await r.step(
        "state without exp", browser, "GET", f"{path}?code={await fresh_code()}&state={no_exp}"
    )
    no_csrf = forged_state({})
    await r.step(
        "state without csrftoken",
        browser,
        "GET",
        f"{path}?code={await fresh_code()}&state={no_csrf}",
    )
    await r.step("no state", browser, "GET", f"{path}?code={await fresh_code()}")
    async with r.browser() as other:
        await r.step(
            "state from another browser (no CSRF cookie)",
            other,
            "GET",
            f"{path}?code={await fresh_code()}&state={good_state}",
        )
        await r.start("other browser: authorize", other, "/auth/openid")
        await r.step(
            "state from another browser (its own CSRF cookie)",
            other,
            "GET",
            f"{path}?code={await fresh_code()}&state={good_state}",
        )
    # A token of the app signed with the same secret, another audience, as the state.
    await r.step(
        "state of another audience (a login JWT)",
        browser,
        "GET",
        f"{path}?code={await fresh_code()}&state={alice_token}",
    )

    # --- the code and the provider's answers ------------------------------------------------
    await r.step("no code", browser, "GET", f"{path}?state={good_state}")
    provider.deny_next()
    denied = await r.at_provider(url)
    await r.step("provider error=access_denied", browser, "GET", denied)
    reused = await fresh_code()
    await r.step("code: first use", browser, "GET", f"{path}?code={reused}&state={good_state}")
    await r.step("code: reused", browser, "GET", f"{path}?code={reused}&state={good_state}")
    await r.step(
        "code_verifier in the callback query, no challenge was sent",
        browser,
        "GET",
        f"{path}?code={await fresh_code()}&state={good_state}&code_verifier={'v' * 50}",
    )
    provider.require_pkce = True
    refused = await r.at_provider(url)
    await r.step("provider requiring PKCE", browser, "GET", refused)
    provider.require_pkce = False

    provider.outage(503, ["token"])
    await r.step(
        "token endpoint 503", browser, "GET", f"{path}?code={await fresh_code()}&state={good_state}"
    )
    provider.outage(503, ["userinfo"])
    await r.step(
        "userinfo endpoint 503",
        browser,
        "GET",
        f"{path}?code={await fresh_code()}&state={good_state}",
    )
    provider.recover()
    code = await fresh_code()
    provider.slow(8, ["token"])
    await r.step(
        "token endpoint slow (8 s)", browser, "GET", f"{path}?code={code}&state={good_state}"
    )
    provider.recover()
    code = await fresh_code()
    with provider.stopped():
        await r.step("provider down", browser, "GET", f"{path}?code={code}&state={good_state}")
        try:
            OpenID("id", "secret", provider.discovery_url)
            r.facts["openid_client_with_provider_down"] = "built"
        except OpenIDConfigurationError as error:
            r.facts["openid_client_with_provider_down"] = type(error).__name__
    await browser.aclose()

    # --- association --------------------------------------------------------------------------
    erin = await r.register("erin@example.com")
    erin_token = await r.password_login("erin@example.com")
    provider.add_user("erin-gh", "erin@elsewhere.example", email_verified=False)
    assoc = "/auth/associate/openid"
    async with r.browser() as anonymous:
        await r.step("associate: authorize, not logged in", anonymous, "GET", f"{assoc}/authorize")
    auth = {"Authorization": f"Bearer {erin_token}"}
    browser = r.browser()
    url = await r.start("associate: authorize", browser, assoc, erin_token)
    callback = await r.at_provider(url, as_user="erin-gh")
    response = await r.step("associate: callback", browser, "GET", callback, headers=auth)
    r.facts["associate_response_is_the_user"] = response.json().get("id") == erin["id"]
    response = await r.login("login with the associated identity", "erin-gh")
    linked = await r.me(
        "login with the associated identity: /users/me", response.json()["access_token"]
    )
    r.facts["associated_identity_logs_into_the_user"] = linked["id"] == erin["id"]

    callback = await r.at_provider(url, as_user="erin-gh")
    await r.step("associate: callback, not logged in", browser, "GET", callback)
    callback = await r.at_provider(url, as_user="erin-gh")
    bob_token = await r.password_login("bob@example.com")
    await r.step(
        "associate: callback as another user than the state's",
        browser,
        "GET",
        callback,
        headers={"Authorization": f"Bearer {bob_token}"},
    )
    login_url = await r.start("login authorize (for its state)", browser, "/auth/openid")
    login_state = parse_qs(urlparse(login_url).query)["state"][0]
    code = code_of(await r.at_provider(url, as_user="erin-gh"))
    await r.step(
        "associate: callback with a login state (no sub)",
        browser,
        "GET",
        f"{assoc}/callback?code={code}&state={login_state}",
        headers=auth,
    )
    url = await r.start("associate: authorize again", browser, assoc, erin_token)
    provider.hide_email = True
    callback = await r.at_provider(url, as_user="erin-gh")
    await r.step("associate: no email", browser, "GET", callback, headers=auth)
    provider.hide_email = False

    # The same provider identity associated with a second user: nothing stops it...
    bob_browser = r.browser()
    bob_url = await r.start("associate bob: authorize", bob_browser, assoc, bob_token)
    callback = await r.at_provider(bob_url, as_user="erin-gh")
    await r.step(
        "associate an identity already linked to another user",
        bob_browser,
        "GET",
        callback,
        headers={"Authorization": f"Bearer {bob_token}"},
    )
    await bob_browser.aclose()
    r.facts["oauth_account_rows_for_one_identity"] = len(await r.oauth_accounts("erin-gh"))
    # ...and the next login with it fails.
    await r.login("login with an identity linked to two users", "erin-gh")
    await browser.aclose()


async def record() -> dict[str, Any]:
    provider = OAuthProvider([BASE + path for path in CALLBACK_PATHS])
    provider.add_user("alice", "alice@example.com", email_verified=True)
    provider.add_user("mallory", "victim@example.com", email_verified=False)
    provider.add_user("carol", "carol@example.com", email_verified=False)
    provider.add_user("dave", "dave@example.com", email_verified=True)
    with provider, tempfile.TemporaryDirectory() as folder:
        app = create_reference_app(
            f"sqlite+aiosqlite:///{folder}/reference.db",
            SECRET,
            provider.discovery_url,
            provider.client_id,
            provider.client_secret,
        )
        await app.state.create_tables()
        recorder = Recorder(provider, app)
        try:
            await flows(recorder)
        finally:
            await app.state.dispose()
        authorization = provider.authorization_requests[0]
        # (as_user is the test provider's own control, not sent by FastAPI Users.)
        recorder.facts["authorization_request_params"] = sorted(set(authorization) - {"as_user"})
        recorder.facts["token_request_params"] = sorted(provider.token_requests[0])
    import fastapi_users
    import httpx_oauth

    return {
        "versions": {
            "fastapi-users": fastapi_users.__version__,
            "httpx-oauth": httpx_oauth.__version__,
        },
        "facts": dict(sorted(recorder.facts.items())),
        "steps": recorder.steps,
    }


def main() -> None:
    result = json.dumps(asyncio.run(record()), indent=1, ensure_ascii=False) + "\n"
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(result)
    else:
        sys.stdout.write(result)


if __name__ == "__main__":
    main()
