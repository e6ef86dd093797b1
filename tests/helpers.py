"""Helpers of the generator's tests: running the CLI and commands, comparing trees."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Servers on this machine; each generated test run creates (and drops) its own database there.
DATABASES = {
    "sqlite": None,
    "postgresql": os.environ.get(
        "USERGEN_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("USERGEN_TEST_MYSQL", "mysql://root@127.0.0.1:3306/mysql"),
}
# Redis, for the generated app's rate limit tests (they use key prefixes of their own).
REDIS = os.environ.get("USERGEN_TEST_REDIS", "redis://127.0.0.1:6379")


def usergen(
    *args: str | Path, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "usergen", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command in a generated project; the test fails with its output if it fails."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file under ``root`` (to prove nothing changed)."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
