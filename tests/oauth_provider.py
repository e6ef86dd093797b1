# mypy: disallow-subclassing-any=False
"""A real OAuth2 / OpenID Connect authorization server for tests, on 127.0.0.1.

Built with Authlib's server classes (authorization code grant, PKCE, OpenID Connect's id_token
and userinfo, refresh tokens) in a small Flask app, served by werkzeug in a background thread
on a free port. Nothing in it is a mock: clients reach it over HTTP like any provider.

Self-contained (Flask, Authlib and joserfc only), so that it can be copied into any test suite::

    with OAuthProvider(redirect_uris=["http://testserver/auth/openid/callback"]) as provider:
        provider.add_user("alice", "alice@example.com", email_verified=True)
        provider.login_as("alice")
        client = OpenID(provider.client_id, provider.client_secret, provider.discovery_url)

There is no browser: a test "visits" the authorization URL with an HTTP client, without
following redirects, and reads the code from the Location header. The end user who logs in
is the one chosen by `login_as()` (it stays until changed), or by an `as_user=SUB` query
parameter added to the authorization URL; `deny_next()` makes the next authorization answer
`error=access_denied`.

What it enforces, as a strict real provider would:
- redirect URIs: exact match against the client's registered list (else 400, no redirect);
- PKCE: S256 only ("plain" is refused); a code issued with a challenge needs the matching
  verifier; with `require_pkce = True` an authorization request without a challenge is
  refused (`error=invalid_request`);
- codes: single use (the first token request consumes the code, whatever its outcome; a
  second use is `invalid_grant` and revokes the tokens issued from that code), and expire
  after `code_lifetime` seconds;
- client authentication at the token endpoint: client_secret_basic or client_secret_post.

Test switches: `hide_email` (GitHub-like: no email in userinfo, the id_token or `/user`; the
addresses are at `/user/emails`), `outage(status, endpoints)` (answer every request with that
status), `slow(seconds, endpoints)` (wait before answering), `recover()`, `stop()` (connection
refused); users' emails and `email_verified` can change at any time (`update_user`).
Endpoint names for `outage`/`slow`: discovery, jwks, authorize, token, userinfo, user, emails.

Requests the provider received are kept (`authorization_requests`, `token_requests`) so that
a test can check what a client sent (redirect_uri, code_challenge, scope...), and counted by
endpoint name (`request_counts`), failed and slow ones included.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.integrations.flask_oauth2 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ResourceProtector,
)
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import InvalidRequestError, grants  # type: ignore[import-untyped]
from authlib.oauth2.rfc6750 import BearerTokenValidator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oidc.core import UserInfo, UserInfoEndpoint  # type: ignore[import-untyped]
from authlib.oidc.core.grants import OpenIDCode  # type: ignore[import-untyped]
from flask import Flask, Response, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

ENDPOINTS = ("discovery", "jwks", "authorize", "token", "userinfo", "user", "emails")
SCOPES = ["openid", "email", "profile", "user", "user:email"]
CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"]
CLAIMS += ["name", "email", "email_verified"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of a code verifier (RFC 7636, section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class ProviderUser:
    """An account at the provider. `emails` (GitHub's /user/emails entries: email, primary,
    verified, visibility) defaults to the one address, primary, verified as `email_verified`."""

    sub: str
    email: str | None
    email_verified: bool = True
    name: str = ""
    emails: list[dict[str, Any]] | None = None
    numeric_id: int = 0

    def get_user_id(self) -> str:
        return self.sub

    def email_list(self) -> list[dict[str, Any]]:
        if self.emails is not None:
            return [dict(entry) for entry in self.emails]
        if self.email is None:
            return []
        return [
            {
                "email": self.email,
                "primary": True,
                "verified": self.email_verified,
                "visibility": "private",
            }
        ]


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = " ".join(SCOPES)
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Token:
    client_id: str
    sub: str
    scope: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    issued_at: float
    code: str | None = None
    revoked: bool = False
    provider: OAuthProvider | None = field(default=None, repr=False)

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> ProviderUser:
        assert self.provider is not None
        return self.provider.users[self.sub]

    def get_client(self) -> Client:
        assert self.provider is not None
        return self.provider.clients[self.client_id]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class OAuthProvider:
    """An OAuth2 / OpenID Connect provider on 127.0.0.1 (see the module's docstring)."""

    def __init__(
        self,
        redirect_uris: Iterable[str] = (),
        *,
        client_id: str = "test-client",
        client_secret: str | None = None,
        require_pkce: bool = False,
        code_lifetime: float = 60,
        access_token_lifetime: int = 3600,
        issue_refresh_tokens: bool = True,
        key: RSAKey | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, ProviderUser] = {}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.used_codes: set[str] = set()
        self.tokens: dict[str, Token] = {}
        self.authorization_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.request_counts: Counter[str] = Counter()
        self.require_pkce = require_pkce
        self.code_lifetime = code_lifetime
        self.access_token_lifetime = access_token_lifetime
        self.issue_refresh_tokens = issue_refresh_tokens
        self.hide_email = False
        self._login: str | None = None
        self._deny_next = False
        self._outage: tuple[int, frozenset[str]] | None = None
        self._delay: tuple[float, frozenset[str]] | None = None
        self._stopping = threading.Event()
        self.key = key or RSAKey.generate_key(
            2048, parameters={"use": "sig", "alg": "RS256", "kid": secrets.token_hex(8)}
        )
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.add_client(self.client_id, self.client_secret, redirect_uris)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = self._create_app()

    # --- test controls -------------------------------------------------------------------

    def add_client(self, client_id: str, client_secret: str, redirect_uris: Iterable[str]) -> None:
        with self.lock:
            self.clients[client_id] = Client(client_id, client_secret, list(redirect_uris))

    def add_redirect_uri(self, redirect_uri: str, client_id: str | None = None) -> None:
        with self.lock:
            self.clients[client_id or self.client_id].redirect_uris.append(redirect_uri)

    def add_user(
        self,
        sub: str,
        email: str | None,
        *,
        email_verified: bool = True,
        name: str = "",
        emails: list[dict[str, Any]] | None = None,
    ) -> ProviderUser:
        with self.lock:
            user = ProviderUser(
                sub, email, email_verified, name or sub, emails, numeric_id=len(self.users) + 1
            )
            self.users[sub] = user
            return user

    def update_user(self, sub: str, **changes: Any) -> None:
        """Change an account at the provider (its email, email_verified, emails...)."""
        with self.lock:
            user = self.users[sub]
            for name, value in changes.items():
                if not hasattr(user, name):
                    raise AttributeError(name)
                setattr(user, name, value)

    def login_as(self, sub: str | None) -> None:
        """The end user of the next authorizations (until changed; None: nobody is logged in,
        which refuses with access_denied)."""
        with self.lock:
            if sub is not None and sub not in self.users:
                raise KeyError(sub)
            self._login = sub

    def deny_next(self) -> None:
        """The next authorization answers error=access_denied (the user clicked "Cancel")."""
        with self.lock:
            self._deny_next = True

    def outage(self, status: int = 503, endpoints: Iterable[str] | None = None) -> None:
        """Answer requests to these endpoints (default: all) with `status` and no body."""
        with self.lock:
            self._outage = (status, self._endpoint_set(endpoints))

    def slow(self, seconds: float, endpoints: Iterable[str] | None = None) -> None:
        """Wait `seconds` before answering requests to these endpoints (default: all)."""
        with self.lock:
            self._delay = (seconds, self._endpoint_set(endpoints))

    def recover(self) -> None:
        with self.lock:
            self._outage = None
            self._delay = None

    @staticmethod
    def _endpoint_set(endpoints: Iterable[str] | None) -> frozenset[str]:
        chosen = frozenset(ENDPOINTS if endpoints is None else endpoints)
        unknown = chosen - set(ENDPOINTS)
        if unknown:
            raise ValueError(f"unknown endpoints: {sorted(unknown)}")
        return chosen

    # --- addresses ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the provider is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.url}/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}/token"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.url}/userinfo"

    @property
    def jwks_uri(self) -> str:
        return f"{self.url}/jwks"

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "jwks_uri": self.jwks_uri,
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": CLAIMS,
        }

    # --- running -----------------------------------------------------------------------

    def start(self, port: int = 0) -> OAuthProvider:
        """Serve on 127.0.0.1 (a free port, or `port`: the same one again after stop())."""
        if self._server is not None:
            raise RuntimeError("already running")
        self._stopping.clear()
        server = make_server(
            "127.0.0.1", port or self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        server.daemon_threads = True  # type: ignore[attr-defined]
        server.block_on_close = False  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (connections are then refused); waiting requests end at once."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> OAuthProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Within the block the provider is down (connection refused); it comes back on the
        same port after."""
        self.stop()
        try:
            yield
        finally:
            self.start(self.port)

    # --- claims --------------------------------------------------------------------------

    def user_info(self, user: ProviderUser, scope: str) -> UserInfo:
        claims: dict[str, Any] = {"sub": user.sub, "name": user.name}
        if not self.hide_email and user.email is not None:
            claims["email"] = user.email
            claims["email_verified"] = user.email_verified
        return UserInfo(claims).filter(scope)

    def github_profile(self, user: ProviderUser) -> dict[str, Any]:
        return {
            "id": user.numeric_id,
            "login": user.sub,
            "name": user.name,
            "email": None if self.hide_email else user.email,
        }

    # --- the Flask app ---------------------------------------------------------------------

    def _create_app(self) -> Flask:
        provider = self
        app = Flask(__name__)
        app.config.update(
            OAUTH2_REFRESH_TOKEN_GENERATOR=self.issue_refresh_tokens,
            OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": self.access_token_lifetime},
            OAUTH2_SCOPES_SUPPORTED=SCOPES,
        )

        def query_client(client_id: str) -> Client | None:
            with provider.lock:
                return provider.clients.get(client_id)

        def save_token(token: dict[str, Any], req: Any) -> None:
            code = req.authorization_code.code if req.authorization_code else None
            with provider.lock:
                item = Token(
                    client_id=req.client.client_id,
                    sub=req.user.sub,
                    scope=token.get("scope", ""),
                    access_token=token["access_token"],
                    refresh_token=token.get("refresh_token"),
                    expires_in=int(token.get("expires_in", provider.access_token_lifetime)),
                    issued_at=time.time(),
                    code=code,
                    provider=provider,
                )
                provider.tokens[item.access_token] = item

        server = AuthorizationServer(app, query_client=query_client, save_token=save_token)

        class S256Only(CodeChallenge):
            SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
            DEFAULT_CODE_CHALLENGE_METHOD = "S256"

            def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
                data = grant.request.payload.data
                if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
                    raise InvalidRequestError("Only code_challenge_method=S256.")
                if provider.require_pkce and not data.get("code_challenge"):
                    raise InvalidRequestError("PKCE (S256) is required.")
                super().validate_code_challenge(grant, redirect_uri)

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

            def save_authorization_code(self, code: str, req: Any) -> None:
                data = req.payload.data
                with provider.lock:
                    provider.codes[code] = AuthorizationCode(
                        code=code,
                        client_id=req.client.client_id,
                        redirect_uri=req.payload.redirect_uri or "",
                        scope=req.scope or "",
                        sub=req.user.sub,
                        nonce=data.get("nonce"),
                        code_challenge=data.get("code_challenge"),
                        code_challenge_method=data.get("code_challenge_method"),
                        auth_time=int(time.time()),
                        expires_at=time.time() + provider.code_lifetime,
                    )

            def query_authorization_code(
                self, code: str, client: Client
            ) -> AuthorizationCode | None:
                # Single use: the first token request that presents a code consumes it,
                # whether it then succeeds or not (a wrong verifier burns the code too).
                with provider.lock:
                    item = provider.codes.pop(code, None)
                    if item is None:
                        if code in provider.used_codes:
                            # RFC 6749 section 4.1.2: a reused code revokes its tokens.
                            for token in provider.tokens.values():
                                if token.code == code:
                                    token.revoked = True
                        return None
                    provider.used_codes.add(code)
                if item.client_id != client.client_id or time.time() > item.expires_at:
                    return None
                return item

            def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
                with provider.lock:
                    provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: AuthorizationCode) -> Any:
                with provider.lock:
                    return provider.users.get(authorization_code.sub)

        class RefreshGrant(grants.RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
                with provider.lock:
                    for token in provider.tokens.values():
                        if token.refresh_token == refresh_token and not token.revoked:
                            return token
                return None

            def authenticate_user(self, credential: Token) -> ProviderUser | None:
                with provider.lock:
                    return provider.users.get(credential.sub)

            def revoke_old_credential(self, credential: Token) -> None:
                with provider.lock:
                    credential.revoked = True

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce: str, req: Any) -> bool:
                with provider.lock:
                    return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": str(provider.key.kid)}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": client.client_id}

            def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
                return provider.user_info(user, scope)

        class Tokens(BearerTokenValidator):
            def authenticate_token(self, token_string: str) -> Token | None:
                with provider.lock:
                    return provider.tokens.get(token_string)

        protector = ResourceProtector()
        protector.register_token_validator(Tokens())

        class UserInfoAt(UserInfoEndpoint):
            def get_issuer(self) -> str:
                return provider.issuer

            def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
                return provider.user_info(user, scope)

            def resolve_private_key(self) -> RSAKey:
                return provider.key

        server.register_grant(CodeGrant, [S256Only(required=True), IdToken(require_nonce=False)])
        server.register_grant(RefreshGrant)
        server.register_endpoint(UserInfoAt(resource_protector=protector))

        endpoint_of_path = {
            "/.well-known/openid-configuration": "discovery",
            "/jwks": "jwks",
            "/authorize": "authorize",
            "/token": "token",
            "/userinfo": "userinfo",
            "/user": "user",
            "/user/emails": "emails",
        }

        @app.before_request
        def faults() -> Response | None:
            name = endpoint_of_path.get(request.path)
            with provider.lock:
                delay, outage = provider._delay, provider._outage
                if name:
                    provider.request_counts[name] += 1
                if name == "authorize":
                    provider.authorization_requests.append(request.args.to_dict())
                elif name == "token":
                    provider.token_requests.append(request.form.to_dict())
            if name and delay and name in delay[1]:
                provider._stopping.wait(delay[0])
            if name and outage and name in outage[1]:
                return Response(status=outage[0])
            return None

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Response:
            return jsonify(provider.metadata())

        @app.get("/jwks")
        def jwks() -> Response:
            return jsonify(provider.jwks())

        @app.get("/authorize")
        def authorize() -> Any:
            with provider.lock:
                sub = request.args.get("as_user", provider._login)
                deny, provider._deny_next = provider._deny_next, False
                user = None if deny or sub is None else provider.users.get(sub)
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return server.handle_error_response(None, error)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token() -> Any:
            return server.create_token_response()

        @app.route("/userinfo", methods=["GET", "POST"])
        def userinfo() -> Any:
            return server.create_endpoint_response("userinfo")

        def github_user() -> ProviderUser | None:
            # GitHub's API takes "token X" as well as "Bearer X".
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() not in ("token", "bearer") or not value:
                return None
            with provider.lock:
                item = provider.tokens.get(value.strip())
                if item is None or item.revoked or item.is_expired():
                    return None
                return provider.users.get(item.sub)

        @app.get("/user")
        def user_profile() -> Any:
            user = github_user()
            if user is None:
                return jsonify(message="Bad credentials"), 401
            return jsonify(provider.github_profile(user))

        @app.get("/user/emails")
        def user_emails() -> Any:
            user = github_user()
            if user is None:
                return jsonify(message="Bad credentials"), 401
            return jsonify(user.email_list())

        return app


def new_code_verifier() -> str:
    """A PKCE code verifier: 64 characters of the unreserved set (RFC 7636, section 4.1)."""
    return generate_token(64)  # type: ignore[no-any-return]
