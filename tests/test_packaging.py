"""What users install: the wheel carries the template, and generated apps do not need usergen."""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers import REPO, run


@pytest.mark.slow
def test_wheel_bundles_the_template_and_works_from_any_folder(tmp_path: Path) -> None:
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        cwd=tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("usergen-*.whl"))
    target = tmp_path / "site"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        cwd=tmp_path,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}

    where = subprocess.run(
        [sys.executable, "-c", "from usergen.render import template_root; print(template_root())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-m", "usergen", "new", "app", "--defaults"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )

    assert Path(where.stdout.strip()).is_relative_to(target)
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "app" / "app" / "users" / "table.py").is_file()
    assert not list((elsewhere / "app").rglob("__pycache__"))


@pytest.mark.slow
def test_generated_app_runs_its_tests_without_usergen(
    default_project: Path, tmp_path: Path
) -> None:
    """A fresh virtual environment with only the project's own dependencies."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = str(environment / "bin" / "python")
    pyproject = (default_project / "pyproject.toml").read_text()
    assert "usergen" not in pyproject

    run(
        [python, "-m", "pip", "install", "-q", "-e", f"{default_project}[test]"],
        cwd=tmp_path,
        timeout=900,
    )
    missing = subprocess.run([python, "-c", "import usergen"], capture_output=True, text=True)
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=default_project)

    assert missing.returncode != 0 and "No module named 'usergen'" in missing.stderr
    assert " passed" in result.stdout and " failed" not in result.stdout
