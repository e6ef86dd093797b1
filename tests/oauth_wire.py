"""Driving an app through OAuth flows against the local provider (tests/oauth_provider.py), a
step at a time, as a browser or an API client would.

Shared by the two sides of the OAuth differential test: tests/oauth_reference/record.py, which
records FastAPI Users' answers (in its own virtual environment: this module needs httpx only),
and tests/test_oauth_differential.py, which replays the same steps against a generated app.
Each side says what it keeps of a step (`step`) and how it normalizes a JSON body
(`normalize`).
"""

import re
from typing import Any

import httpx

from tests.oauth_provider import OAuthProvider

BASE = "https://testserver"
PASSWORD = "correct horse battery"


class WireClient:
    """The app, its provider, and the requests of the flows; subclasses record the steps."""

    def __init__(self, provider: OAuthProvider, app: Any) -> None:
        self.provider = provider
        self.app = app

    def browser(self) -> httpx.AsyncClient:
        """A browser (its own cookie jar) talking to the app as https://testserver; an
        exception in the app is a 500 as a server would send it."""
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=BASE)

    async def at_provider(self, authorization_url: str, **extra: str) -> str:
        """The browser at the provider: the URL it is sent back to (the app's callback)."""
        url = str(httpx.URL(authorization_url).copy_merge_params(extra))
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
        assert response.status_code == 302, response.text
        location: str = response.headers["location"]
        assert location.startswith(BASE), location
        return location

    async def step(
        self, name: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """Send one request of a flow, and keep what this side compares of it."""
        raise NotImplementedError

    def normalize(self, data: Any, key: str = "") -> Any:
        """A JSON body with its volatile values replaced (<jwt>, <uuid>, <provider>)."""
        raise NotImplementedError

    def text(self, value: str) -> str:
        """Text with the provider's address, which changes from run to run, replaced."""
        value = value.replace(self.provider.url, "<provider>")
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", value)

    def body(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            data = response.json()
        except ValueError:
            return {"text": self.text(response.text)}
        return self.normalize(data)

    def callback(self, url: str, prefix: str) -> str:
        """Where the browser goes from the provider, for a login started at ``prefix``."""
        return url

    async def start(
        self, name: str, browser: httpx.AsyncClient, prefix: str, token: str | None = None
    ) -> str:
        """A flow's first step: the provider's authorization URL the app hands out."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.step(name, browser, "GET", f"{prefix}/authorize", headers=headers)
        assert response.status_code == 200, response.text
        url: str = response.json()["authorization_url"]
        return url

    async def login(
        self,
        name: str,
        sub: str,
        prefix: str = "/auth/openid",
        browser: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """A whole login through the provider as `sub`: authorize, provider, callback."""
        browser = browser or self.browser()
        url = await self.start(f"{name}: authorize", browser, prefix)
        callback = self.callback(await self.at_provider(url, as_user=sub), prefix)
        return await self.step(f"{name}: callback", browser, "GET", callback)

    async def register(self, email: str) -> dict[str, Any]:
        async with self.browser() as browser:
            response = await browser.post(
                "/auth/register", json={"email": email, "password": PASSWORD}
            )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def password_login(self, email: str) -> str:
        async with self.browser() as browser:
            response = await browser.post(
                "/auth/jwt/login", data={"username": email, "password": PASSWORD}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def me(self, name: str, token: str) -> dict[str, Any]:
        async with self.browser() as browser:
            response = await self.step(
                name, browser, "GET", "/users/me", headers={"Authorization": f"Bearer {token}"}
            )
        data: dict[str, Any] = response.json()
        return data
