"""Helpers for tests that generate real projects and run commands in them."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

# The database servers the generated apps are tested on (their tests make their own database).
SERVERS = {
    "postgresql": os.environ.get(
        "USERGEN_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1/postgres"
    ),
    "mysql": os.environ.get("USERGEN_TEST_MYSQL", "mysql://root@127.0.0.1/mysql"),
}
# Caches that tools write into a project; they are not the project's files.
_TOOL_FOLDERS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def run(
    *command: str | Path, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def usergen(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the usergen command line, as a user would."""
    return run(sys.executable, "-m", "usergen", *args, cwd=cwd, check=check)


def new_project(parent: Path, name: str = "shop") -> Path:
    usergen("new", name, "--defaults", cwd=parent)
    return parent / name


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (tool caches left out)."""
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
    import socket

    parsed = make_url(url)
    port = parsed.port or {"postgresql": 5432, "mysql": 3306}[parsed.get_backend_name()]
    try:
        socket.create_connection((parsed.host or "127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True
