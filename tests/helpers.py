"""Helpers of the generator's tests: running the CLI and commands (in generated projects too),
comparing trees, and the database servers the generated apps are tested on."""

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent

# The database servers on this machine; each generated test run creates (and drops) its own
# database there.
SERVERS = {
    "postgresql": os.environ.get(
        "USERGEN_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("USERGEN_TEST_MYSQL", "mysql://root@127.0.0.1:3306/mysql"),
}
# Every database a generated app runs on: None is the embedded SQLite.
DATABASES: dict[str, str | None] = {"sqlite": None, **SERVERS}
# Redis, for the generated app's rate limit tests (they use key prefixes of their own).
REDIS = os.environ.get("USERGEN_TEST_REDIS", "redis://127.0.0.1:6379")
# Caches that tools write into a project; they are not the project's files.
_TOOL_FOLDERS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def run(
    *command: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    stdin: str = "",
    timeout: int = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a command; unless ``check`` is false, the test fails with its output if it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def usergen(
    *args: str | Path, cwd: Path | None = None, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, without a terminal."""
    return run(
        sys.executable, "-m", "usergen", *args, cwd=cwd, stdin=stdin, check=check, timeout=120
    )


def new_project(parent: Path, name: str = "shop") -> Path:
    usergen("new", name, "--defaults", cwd=parent)
    return parent / name


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file under ``root`` (tool caches left out), to prove
    what changed and what did not."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not _TOOL_FOLDERS & set(relative.parts):
            hashes[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def check_code(project: Path) -> None:
    """ruff, ruff format and mypy --strict (the project's configuration) pass."""
    run(sys.executable, "-m", "ruff", "check", ".", cwd=project)
    run(sys.executable, "-m", "ruff", "format", "--check", ".", cwd=project)
    run(sys.executable, "-m", "mypy", cwd=project)


def run_app_tests(project: Path, server: str | None, *paths: str) -> str:
    """The project's own tests (all, or ``paths``) on SQLite (None) or a database server; the
    summary line."""
    env = {"TEST_DATABASE_URL": SERVERS[server]} if server else {}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths]
    result = run(*command, cwd=project, env=env)
    return result.stdout.strip().splitlines()[-1]


def server_reachable(url: str) -> bool:
    parsed = make_url(url)
    port = parsed.port or {"postgresql": 5432, "mysql": 3306}[parsed.get_backend_name()]
    try:
        socket.create_connection((parsed.host or "127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
