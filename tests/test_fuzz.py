"""Fuzzing a generated app with Schemathesis: no server error, no schema violation.

A freshly rendered app with social login (every provider, all pointed at a local OpenID
Connect provider, see oauth_provider.py) runs under uvicorn on SQLite; `st run` tests it with
every check, in the coverage, fuzzing and stateful phases, authenticated as a superuser (see
fuzz_hooks.py) and with rate limits out of the way. A fixed seed and example count keep it
reproducible and bounded (about a minute on two cores).
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import EVERY_PROVIDER
from tests.helpers import free_port, run, usergen
from tests.oauth_provider import OAuthProvider

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow

# Enough to reach every route and status code; each example more costs about a second.
MAX_EXAMPLES = 15
SEED = 1


@dataclass
class Server:
    url: str
    database: Path
    log: Path


@pytest.fixture(scope="module")
def provider() -> Iterator[OAuthProvider]:
    with OAuthProvider() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: OAuthProvider) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz")
    usergen("new", root / "fuzzapp", "--defaults", "--oauth", EVERY_PROVIDER)
    database = root / "fuzz.db"
    unlimited = "1000000/minute"
    env = {
        **os.environ,
        "PYTHONPATH": str(root / "fuzzapp"),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET": "fuzzing-secret-that-is-long-enough-to-sign-tokens",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_PATH": str(root / "mail"),
        "REDIS_URL": "",
        "LOGIN_RATE_LIMIT_PER_ADDRESS": unlimited,
        "LOGIN_RATE_LIMIT_PER_EMAIL": unlimited,
        "EMAIL_RATE_LIMIT_PER_ADDRESS": unlimited,
        "EMAIL_RATE_LIMIT_PER_EMAIL": unlimited,
        "REGISTER_RATE_LIMIT_PER_ADDRESS": unlimited,
        "PASSWORD_CHANGE_RATE_LIMIT_PER_ADDRESS": unlimited,
        "REFRESH_RATE_LIMIT_PER_ADDRESS": unlimited,
        "OAUTH_GITHUB_AUTHORIZE_URL": provider.authorization_endpoint,
        "OAUTH_GITHUB_TOKEN_URL": provider.token_endpoint,
        "OAUTH_GITHUB_API_URL": provider.url,
    }
    for name in EVERY_PROVIDER.split(","):
        env[f"OAUTH_{name.upper()}_CLIENT_ID"] = provider.client_id
        env[f"OAUTH_{name.upper()}_CLIENT_SECRET"] = provider.client_secret
        if name != "github":
            env[f"OAUTH_{name.upper()}_DISCOVERY_URL"] = provider.discovery_url
    # Run from `root`, not the project folder, so the project's .env plays no part.
    run(sys.executable, "-m", "fuzzapp", "migrate", cwd=root, env=env)
    port = free_port()
    log = root / "server.log"
    command = [sys.executable, "-m", "uvicorn", "fuzzapp.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no answer in 60 s\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Server(url, database, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_schemathesis_finds_no_failure(server: Server, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    command = [str(st), "--config-file", str(HERE / "schemathesis.toml"), "--no-color", "run"]
    command += [f"{server.url}/openapi.json"]
    command += ["--phases", "examples,coverage,fuzzing,stateful"]
    command += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1"]
    command += ["--generation-database", "none", "--request-timeout", "10"]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "fuzz_hooks",
        "PYTHONPATH": str(HERE),
        "FUZZ_BASE_URL": server.url,
        "FUZZ_DATABASE": str(server.database),
    }

    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)

    report = f"{result.stdout}\n{result.stderr}\n--- server log ---\n{server.log.read_text()}"
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "failed" not in result.stdout, report
    # Uvicorn logs every unhandled exception; there must be none.
    assert "Traceback" not in server.log.read_text(), report
