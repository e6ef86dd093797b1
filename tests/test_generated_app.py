"""The generated app's own test suite, run on SQLite, PostgreSQL and MariaDB.

Each run creates a database of its own on the server (the generated conftest does it) and drops
it afterwards.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DATABASES, FIELD_TESTS, REDIS, free_port, run

# Where the generated app's browser tests leave the account pages' screenshots (git-ignored).
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "page-screenshots"


def count_tests(output: str) -> int:
    summary = output.strip().splitlines()[-1]
    return int(summary.split(" passed")[0].split()[-1])


# Every data layer on every database; the default project (databases, SQLite) runs its whole
# suite in a fresh virtual environment of its own dependencies, in tests/test_packaging.py.
SUITES = [
    (database, layer)
    for layer in ("databases", "sqlalchemy")
    for database in DATABASES
    if (database, layer) != ("sqlite", "databases")
]
SUITE_OPTIONS = ["-q", "-rs", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"]


@pytest.mark.slow
@pytest.mark.parametrize(("database", "layer"), SUITES, ids=["-".join(pair) for pair in SUITES])
def test_generated_tests_pass(request: pytest.FixtureRequest, layer: str, database: str) -> None:
    project = request.getfixturevalue(
        "default_project" if layer == "databases" else "sqlalchemy_project"
    )

    result = run(
        sys.executable,
        "-m",
        "pytest",
        *suite_options(database),
        cwd=project,
        env=suite_env(database, layer),
    )

    check_whole_suite(result.stdout, database, layer)


@pytest.mark.slow
@pytest.mark.parametrize("database", DATABASES)
def test_social_login_tests_pass_on_the_databases_layer(oauth_project: Path, database: str) -> None:
    """The sqlalchemy layer's whole suite runs with social login (conftest.sqlalchemy_project);
    its tests run on the databases layer too, whose adapter stores the linked accounts its way."""
    result = run(
        sys.executable,
        "-m",
        "pytest",
        *SUITE_OPTIONS,
        "tests/test_oauth.py",
        "tests/test_adapter.py",
        cwd=oauth_project,
        env={"TEST_DATABASE_URL": DATABASES[database] or ""},
    )

    assert count_tests(result.stdout) >= 40
    assert " failed" not in result.stdout and "SKIPPED" not in result.stdout


def suite_options(database: str) -> list[str]:
    """The account pages' browser tests run on SQLite: the browser talks to the app, whatever
    its database."""
    return SUITE_OPTIONS + ([] if DATABASES[database] is None else ["-k", "not browser"])


def suite_env(database: str, layer: str) -> dict[str, str]:
    # Empty TEST_DATABASE_URL: the temporary SQLite default.
    env = {"TEST_DATABASE_URL": DATABASES[database] or "", "TEST_REDIS_URL": REDIS}
    if DATABASES[database] is None:
        env["PAGES_SCREENSHOTS"] = str(SCREENSHOTS / layer)
        shutil.rmtree(SCREENSHOTS / layer, ignore_errors=True)
    return env


def check_whole_suite(output: str, database: str, layer: str) -> None:
    assert count_tests(output) >= 30
    assert " failed" not in output
    if DATABASES[database] is None:
        # Every page at both widths: the browser tests ran (a skip fails below).
        assert len(list((SCREENSHOTS / layer).glob("*.png"))) == 18
    # Only the tests that need a database server (connection loss, two processes) may skip,
    # and only on SQLite; and PostgreSQL's answer while it restarts, elsewhere than PostgreSQL.
    skipped = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    if DATABASES[database] is None:
        assert skipped and all("needs a database server" in line for line in skipped), skipped
    elif database == "postgresql":
        assert not skipped, skipped
    else:
        assert all("PostgreSQL's own answer" in line for line in skipped), skipped


@pytest.mark.slow
def test_generated_tests_on_the_chosen_database(generate: object) -> None:
    """Projects set up for a server run their tests there too: those of what `--db` changes
    (the engine, the URL forms, the adapter) and the account flow through them; the whole
    suite runs on every server in test_generated_tests_pass."""
    for database in ("postgresql", "mysql"):
        project = generate(f"on_{database}", "--db", database)  # type: ignore[operator]
        result = run(
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            *("tests/test_adapter.py", "tests/test_app.py"),
            *("tests/test_register.py", "tests/test_login.py"),
            cwd=project,
            env={"TEST_DATABASE_URL": DATABASES[database] or ""},
        )
        assert count_tests(result.stdout) >= 30


@pytest.mark.slow
def test_migrations_round_trip(default_project: Path, tmp_path: Path) -> None:
    """`alembic upgrade head`, `downgrade base` and `upgrade head` again, on SQLite."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'round.db'}"}
    for step in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
        run(sys.executable, "-m", "alembic", *step, cwd=default_project, env=env)


@pytest.mark.slow
def test_app_serves_register_login_and_me(default_project: Path, tmp_path: Path) -> None:
    """The README's way of running it: `<package> serve` on the SQLite default."""
    import httpx

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "COOKIE_SECURE": "false",
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "shop", "serve", "--port", str(port)],
        cwd=default_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, server)
        with httpx.Client(base_url=base) as client:
            body = {"email": "ann@example.com", "password": "a long enough password"}
            assert client.post("/auth/register", json=body).status_code == 201
            login = client.post(
                "/auth/jwt/login", data={"username": body["email"], "password": body["password"]}
            )
            token = login.json()["access_token"]
            me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200
            assert me.json()["email"] == "ann@example.com"
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    import time

    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited: {server.stdout.read() if server.stdout else ''}")
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not start within 30 s")


HEALTH_ROUTE = """
    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

"""

CAPITALIZED = """
    @field_validator("nickname")
    @classmethod
    def capitalized(cls, value: str | None) -> str | None:
        if value is not None and not value[:1].isupper():
            raise ValueError("start with a capital letter")
        return value
"""


@pytest.mark.slow
def test_generated_tests_survive_normal_customizing(generate: object) -> None:
    """A route of the user's own and a stricter field validator: the generated tests keep
    passing once the sample values in tests/helpers.py suit the validator (the one place the
    tests take them from): those that send its values (every registration does, from
    there) or list the routes; the other test files do not name the app's fields."""
    project: Path = generate("custom")  # type: ignore[operator]
    run(sys.executable, "-m", "usergen", "add-field", "nickname", "str", "--max-length", "20",
         "--required", "--default", "Ann", cwd=project)  # fmt: skip
    main = project / "custom" / "main.py"
    anchor = "    add_exception_handlers(app)\n"
    main.write_text(main.read_text().replace("\n" + anchor, HEALTH_ROUTE + anchor))
    schemas = project / "custom" / "users" / "schemas.py"
    text = schemas.read_text()
    for model in ("class UserCreate(BaseModel):", "class UserUpdate(BaseModel):"):
        body_end = text.index("\n\n\nclass ", text.index(model))
        text = text[:body_end] + "\n" + CAPITALIZED.rstrip("\n") + text[body_end:]
    schemas.write_text(text)
    helpers = project / "tests" / "helpers.py"
    helpers.write_text(helpers.read_text().replace('("aaaaa", "bbbbb")', '("Aaaaa", "Bbbbb")'))
    assert '"/health"' in main.read_text() and "Aaaaa" in helpers.read_text()

    result = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FIELD_TESTS,
                 "tests/test_login.py", cwd=project)  # fmt: skip

    assert count_tests(result.stdout) >= 30
    assert " failed" not in result.stdout
