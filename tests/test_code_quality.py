"""The generator's own code passes the checks it demands of the code it generates."""

import sys
from collections.abc import Callable
from pathlib import Path

from tests.helpers import REPO, run


def test_ruff() -> None:
    run(
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--no-cache",
        "src",
        "tests",
        "benchmarks",
        cwd=REPO,
    )
    run(
        sys.executable,
        "-m",
        "ruff",
        "format",
        "--check",
        "--no-cache",
        "src",
        "tests",
        "benchmarks",
        cwd=REPO,
    )


def test_mypy_strict(mypy_cache: Callable[[str], Path]) -> None:
    run(sys.executable, "-m", "mypy", "--cache-dir", str(mypy_cache("usergen")), cwd=REPO)
