"""Schemathesis hooks for tests/test_fuzz.py, loaded by `st run` via SCHEMATHESIS_HOOKS.

- Authentication: each token belongs to a fresh superuser (registered over HTTP, promoted in
  the app's SQLite file), so the fuzzer reaches every route. A case may log its token out or
  change its password, so the token is checked before each case and replaced once revoked.
  (Schemathesis' own refetch on 401 would also retry the probes of the ignored_auth check,
  which must see the 401.) The token travels in the login cookie: the app accepts it there or
  as a bearer header, and Schemathesis can take away an apiKey cookie to check that a route
  refuses a request without it, but not an OAuth2 bearer header.
- Email format: the app validates addresses with email-validator, which refuses more than
  JSON Schema's "email" format does (special-use domains such as .test, over-long
  addresses); valid inputs are drawn from what it accepts.
"""

import os
import sqlite3
import uuid
from typing import Any

import email_validator
import httpx
import schemathesis
from hypothesis import strategies as st

BASE_URL = os.environ["FUZZ_BASE_URL"]
DATABASE = os.environ["FUZZ_DATABASE"]
PASSWORD = "fuzzing password 1"
COOKIE = "__Host-fastapiusersauth"  # the app's Secure cookie


def accepted_email(value: str) -> bool:
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


schemathesis.openapi.format("email", st.emails().filter(accepted_email))


@schemathesis.auth(refresh_interval=None, retry_on=[])
class FreshSuperuser:
    token: str | None = None

    def get(self, case: Any, context: Any) -> str:
        with httpx.Client(base_url=BASE_URL) as client:
            cookies = {COOKIE: self.token or ""}
            if self.token is None or client.get("/users/me", cookies=cookies).status_code != 200:
                self.token = self.new_superuser(client)
        return self.token

    def new_superuser(self, client: httpx.Client) -> str:
        email = f"fuzz-{uuid.uuid4().hex}@example.com"
        client.post(
            "/auth/register", json={"email": email, "password": PASSWORD}
        ).raise_for_status()
        with sqlite3.connect(DATABASE, timeout=10) as database:
            database.execute(
                'UPDATE "user" SET is_superuser = 1, is_verified = 1 WHERE email = ?', (email,)
            )
        response = client.post("/auth/jwt/login", data={"username": email, "password": PASSWORD})
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def set(self, case: Any, data: str, context: Any) -> None:
        case.cookies = {**(case.cookies or {}), COOKIE: data}
