"""The local OAuth2 / OpenID Connect provider (tests/oauth_provider.py) behaves as a strict real
provider does, seen through httpx-oauth's clients: the flows the generated app's OAuth tests
(and the differential test against FastAPI Users) will rely on."""

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata  # type: ignore[import-untyped]
from httpx_oauth.clients import github
from httpx_oauth.clients.openid import OpenID, OpenIDConfigurationError
from httpx_oauth.exceptions import GetIdEmailError
from httpx_oauth.oauth2 import GetAccessTokenError
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.oauth_provider import OAuthProvider, new_code_verifier, s256

pytestmark = pytest.mark.anyio

CALLBACK = "http://testserver/auth/openid/callback"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256", "kid": "test"})


@pytest.fixture
def provider(key: RSAKey) -> Iterator[OAuthProvider]:
    with OAuthProvider([CALLBACK], key=key) as provider:
        provider.add_user("alice", "alice@example.com", email_verified=True, name="Alice")
        provider.add_user("mallory", "victim@example.com", email_verified=False)
        provider.login_as("alice")
        yield provider


@pytest.fixture
def client(provider: OAuthProvider) -> OpenID:
    return OpenID(provider.client_id, provider.client_secret, provider.discovery_url)


async def visit(url: str, **extra: str) -> dict[str, str]:
    """What a browser would do at the authorization URL (the provider logs the chosen user in
    at once): the query of the redirect back to the app, or the provider's own error."""
    if extra:
        url = str(httpx.URL(url).copy_merge_params(extra))
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    if response.status_code != 302:
        return {"status": str(response.status_code), **response.json()}
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {name: values[0] for name, values in parse_qs(location.query).items()}


async def authorize(
    client: OpenID, verifier: str | None, nonce: str | None = None, **extra: str
) -> dict[str, str]:
    """An authorization with a new nonce (a nonce pending in another code is a replay)."""
    url = await client.get_authorization_url(
        CALLBACK,
        state="the-state",
        code_challenge=s256(verifier) if verifier else None,
        code_challenge_method="S256" if verifier else None,
        extras_params={"nonce": nonce or secrets.token_urlsafe(8)},
    )
    return await visit(url, **extra)


def token_error(error: GetAccessTokenError) -> Any:
    assert error.response is not None
    return error.response.status_code, error.response.json()["error"]


async def test_discovery_and_jwks_are_valid(provider: OAuthProvider) -> None:
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(provider.discovery_url)).json()
        jwks = (await http.get(metadata["jwks_uri"])).json()
    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == provider.url
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert [key["kid"] for key in jwks["keys"]] == ["test"]
    assert "d" not in jwks["keys"][0]  # the public key only


async def test_code_flow_with_pkce_through_httpx_oauth(
    provider: OAuthProvider, client: OpenID
) -> None:
    verifier = new_code_verifier()
    answer = await authorize(client, verifier, nonce="the-nonce")
    assert answer["state"] == "the-state"
    sent = provider.authorization_requests[-1]
    assert sent["code_challenge"] == s256(verifier)
    assert sent["redirect_uri"] == CALLBACK

    token = await client.get_access_token(answer["code"], CALLBACK, verifier)
    assert token["token_type"] == "Bearer"
    assert await client.get_id_email(token["access_token"]) == ("alice", "alice@example.com")

    async with httpx.AsyncClient() as http:
        jwks = KeySet.import_key_set((await http.get(provider.jwks_uri)).json())
    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
    assert id_token.header["kid"] == "test"
    claims = id_token.claims
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == provider.client_id
    assert claims["nonce"] == "the-nonce"
    assert (claims["sub"], claims["email"], claims["email_verified"]) == (
        "alice",
        "alice@example.com",
        True,
    )
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        exp={"essential": True},
        at_hash={"essential": True},
    ).validate(claims)

    # The refresh token (rotated at each use) gives a new access token.
    refreshed = await client.refresh_token(token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert await client.get_id_email(refreshed["access_token"]) == ("alice", "alice@example.com")
    with pytest.raises(Exception, match="400"):
        await client.refresh_token(token["refresh_token"])


async def test_a_wrong_verifier_is_refused_and_burns_the_code(client: OpenID) -> None:
    verifier = new_code_verifier()
    code = (await authorize(client, verifier))["code"]
    with pytest.raises(GetAccessTokenError) as refused:
        await client.get_access_token(code, CALLBACK, new_code_verifier())
    assert token_error(refused.value) == (400, "invalid_grant")
    with pytest.raises(GetAccessTokenError) as again:
        await client.get_access_token(code, CALLBACK, verifier)
    assert token_error(again.value) == (400, "invalid_grant")


async def test_a_challenge_needs_its_verifier(client: OpenID) -> None:
    code = (await authorize(client, new_code_verifier()))["code"]
    with pytest.raises(GetAccessTokenError) as refused:
        await client.get_access_token(code, CALLBACK)
    assert token_error(refused.value) == (400, "invalid_request")


async def test_pkce_is_s256_only_and_can_be_required(
    provider: OAuthProvider, client: OpenID
) -> None:
    verifier = new_code_verifier()
    url = await client.get_authorization_url(
        CALLBACK, "s", code_challenge=verifier, code_challenge_method="plain"
    )
    assert (await visit(url))["error"] == "invalid_request"

    # Without require_pkce a flow without PKCE works (FastAPI Users sends none)...
    plain = await authorize(client, None)
    token = await client.get_access_token(plain["code"], CALLBACK)
    assert token["access_token"]
    # ...and a verifier for a code issued without a challenge is refused (RFC 9700, 4.8).
    code = (await authorize(client, None))["code"]
    with pytest.raises(GetAccessTokenError):
        await client.get_access_token(code, CALLBACK, verifier)

    provider.require_pkce = True
    refused = await authorize(client, None)
    assert (refused["error"], refused["state"]) == ("invalid_request", "the-state")
    assert "code" in await authorize(client, new_code_verifier())


async def test_a_code_is_refused_the_second_time(provider: OAuthProvider, client: OpenID) -> None:
    verifier = new_code_verifier()
    code = (await authorize(client, verifier))["code"]
    token = await client.get_access_token(code, CALLBACK, verifier)
    with pytest.raises(GetAccessTokenError) as reused:
        await client.get_access_token(code, CALLBACK, verifier)
    assert token_error(reused.value) == (400, "invalid_grant")
    # RFC 6749, 4.1.2: the tokens issued from a reused code are revoked.
    with pytest.raises(GetIdEmailError) as revoked:
        await client.get_id_email(token["access_token"])
    assert revoked.value.response is not None
    assert revoked.value.response.status_code == 401


async def test_codes_expire(provider: OAuthProvider, client: OpenID) -> None:
    provider.code_lifetime = 0
    verifier = new_code_verifier()
    code = (await authorize(client, verifier))["code"]
    with pytest.raises(GetAccessTokenError) as expired:
        await client.get_access_token(code, CALLBACK, verifier)
    assert token_error(expired.value) == (400, "invalid_grant")


async def test_redirect_uris_and_client_secret_are_checked(
    provider: OAuthProvider, client: OpenID
) -> None:
    url = await client.get_authorization_url("http://evil.example/callback", "s")
    answer = await visit(url)
    assert (answer["status"], answer["error"]) == ("400", "invalid_request")  # no redirect

    verifier = new_code_verifier()
    provider.add_redirect_uri("http://testserver/other")
    code = (await authorize(client, verifier))["code"]
    with pytest.raises(GetAccessTokenError) as mismatch:
        await client.get_access_token(code, "http://testserver/other", verifier)
    assert token_error(mismatch.value) == (400, "invalid_grant")

    impostor = OpenID(provider.client_id, "wrong secret", provider.discovery_url)
    code = (await authorize(client, verifier))["code"]
    with pytest.raises(GetAccessTokenError) as refused:
        await impostor.get_access_token(code, CALLBACK, verifier)
    assert token_error(refused.value) == (401, "invalid_client")


async def test_the_logged_in_user_is_chosen_by_the_test(
    provider: OAuthProvider, client: OpenID
) -> None:
    verifier = new_code_verifier()
    code = (await authorize(client, verifier, as_user="mallory"))["code"]
    token = await client.get_access_token(code, CALLBACK, verifier)
    assert await client.get_id_email(token["access_token"]) == ("mallory", "victim@example.com")

    provider.deny_next()
    denied = await authorize(client, verifier)
    assert (denied["error"], denied["state"]) == ("access_denied", "the-state")
    assert "code" in await authorize(client, verifier)  # only the next one

    provider.login_as(None)
    assert (await authorize(client, verifier))["error"] == "access_denied"


async def token_of(provider: OAuthProvider, client: OpenID, sub: str) -> dict[str, Any]:
    verifier = new_code_verifier()
    code = (await authorize(client, verifier, as_user=sub))["code"]
    return await client.get_access_token(code, CALLBACK, verifier)


async def test_an_unverified_email_is_said_so(provider: OAuthProvider, client: OpenID) -> None:
    token = await token_of(provider, client, "mallory")
    profile = await client.get_profile(token["access_token"])
    assert (profile["email"], profile["email_verified"]) == ("victim@example.com", False)
    claims = jwt.decode(token["id_token"], provider.key).claims
    assert (claims["email"], claims["email_verified"]) == ("victim@example.com", False)

    # An email change at the provider shows at the next userinfo request.
    provider.update_user("mallory", email="new@example.com", email_verified=True)
    profile = await client.get_profile(token["access_token"])
    assert (profile["email"], profile["email_verified"]) == ("new@example.com", True)


async def test_github_like_mode_has_no_email_but_user_emails(
    provider: OAuthProvider, client: OpenID, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.hide_email = True
    provider.add_user(
        "octo",
        None,
        emails=[
            {"email": "octo@old.example", "primary": False, "verified": True},
            {"email": "octo@example.com", "primary": True, "verified": False},
        ],
    )
    token = await token_of(provider, client, "octo")
    assert await client.get_id_email(token["access_token"]) == ("octo", None)
    assert "email" not in jwt.decode(token["id_token"], provider.key).claims

    # httpx-oauth's GitHub client, pointed at this provider, falls back to /user/emails and
    # takes the primary address without looking at "verified".
    monkeypatch.setattr(github, "PROFILE_ENDPOINT", f"{provider.url}/user")
    monkeypatch.setattr(github, "EMAILS_ENDPOINT", f"{provider.url}/user/emails")
    gh = github.GitHubOAuth2(provider.client_id, provider.client_secret)
    gh.authorize_endpoint = provider.authorization_endpoint
    gh.access_token_endpoint = provider.token_endpoint
    url = await gh.get_authorization_url(CALLBACK, "s")
    gh_token = await gh.get_access_token((await visit(url, as_user="octo"))["code"], CALLBACK)
    assert await gh.get_id_email(gh_token["access_token"]) == ("3", "octo@example.com")
    assert (await gh.get_profile(gh_token["access_token"]))["email"] is None
    emails = await gh.get_emails(gh_token["access_token"])
    assert [e["verified"] for e in emails] == [True, False]

    async with httpx.AsyncClient() as http:
        anonymous = await http.get(f"{provider.url}/user/emails")
    assert anonymous.status_code == 401


async def test_outage_slowness_and_stop(provider: OAuthProvider, client: OpenID) -> None:
    verifier = new_code_verifier()
    code = (await authorize(client, verifier))["code"]

    provider.outage(503, ["token"])
    with pytest.raises(GetAccessTokenError) as down:
        await client.get_access_token(code, CALLBACK, verifier)
    assert down.value.response is not None and down.value.response.status_code == 503
    provider.outage(503)
    with pytest.raises(OpenIDConfigurationError):
        OpenID(provider.client_id, provider.client_secret, provider.discovery_url)
    provider.recover()

    provider.slow(5, ["userinfo"])
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(provider.userinfo_endpoint)
        assert (await http.get(provider.discovery_url)).status_code == 200
    provider.recover()

    port = provider.port
    with provider.stopped():
        assert not provider.running
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(provider.discovery_url)
    assert provider.port == port
    async with httpx.AsyncClient() as http:
        assert (await http.get(provider.discovery_url)).status_code == 200


async def test_requests_are_counted_by_endpoint(provider: OAuthProvider) -> None:
    before = provider.request_counts["discovery"]
    provider.outage(503, ["discovery"])
    async with httpx.AsyncClient() as http:
        assert (await http.get(provider.discovery_url)).status_code == 503
        provider.recover()
        assert (await http.get(provider.discovery_url)).status_code == 200
        await http.get(provider.jwks_uri)
    assert provider.request_counts["discovery"] == before + 2
    assert provider.request_counts["jwks"] == 1


def test_stop_does_not_wait_for_a_slow_request(key: RSAKey) -> None:
    provider = OAuthProvider([CALLBACK], key=key).start()
    provider.slow(30)
    outcome: list[object] = []

    def request() -> None:
        try:
            outcome.append(httpx.get(provider.discovery_url, timeout=10).status_code)
        except httpx.HTTPError as error:
            outcome.append(error)

    waiting = threading.Thread(target=request)
    waiting.start()
    time.sleep(0.2)
    started = time.monotonic()
    provider.stop()
    waiting.join(timeout=5)
    assert time.monotonic() - started < 2
    assert outcome  # answered or cut at once, not after 30 s
