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
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(tmp_path / "dist"),
        str(REPO),
        cwd=tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("usergen-*.whl"))
    target = tmp_path / "site"
    run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "-q",
        "--target",
        str(target),
        str(wheel),
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

    # Every released template version is inside: a project of the oldest one updates offline.
    oldest = elsewhere / "old"
    render_oldest = (
        "import sys; from usergen import versions; from usergen.render import Renderer\n"
        "from pathlib import Path\n"
        "with versions.template_of(versions.shipped()[0]) as root:\n"
        "    print(root)\n"
        "    answers = {'project_name': 'old', 'package_name': 'old'}\n"
        "    files, _ = Renderer(root).render(answers, 'old')\n"
        "for rel, content in files.items():\n"
        "    (Path(sys.argv[1]) / rel).parent.mkdir(parents=True, exist_ok=True)\n"
        "    (Path(sys.argv[1]) / rel).write_bytes(content)\n"
    )
    unpacked = subprocess.run(
        [sys.executable, "-c", render_oldest, str(oldest)],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    updated = subprocess.run(
        [sys.executable, "-m", "usergen", "update"],
        cwd=oldest, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert not Path(unpacked.stdout.strip()).is_relative_to(REPO)
    assert updated.returncode == 0, updated.stderr
    assert "Updated the project" in updated.stdout

    # The field lifecycle's migration templates are inside too, and `usergen` starts at entry.py.
    for command in (["add-field", "nickname", "str"], ["rename-field", "nickname", "handle"]):
        changed = subprocess.run(
            [sys.executable, "-m", "usergen", *command],
            cwd=oldest, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert changed.returncode == 0, changed.stderr
    entry_points = next(target.glob("usergen-*.dist-info")) / "entry_points.txt"
    assert "usergen = usergen.entry:main" in entry_points.read_text()


@pytest.mark.slow
def test_generated_app_runs_its_tests_without_usergen(
    default_project: Path, tmp_path: Path
) -> None:
    """A fresh virtual environment with only the project's own dependencies (their newest
    versions): the whole suite passes there, as test_generated_tests_pass has it on the other
    databases and layer (this is its run on SQLite with the databases layer); the adapter and
    user list tests on MariaDB, and mypy --strict too, since the newest libraries may store or
    type things otherwise than those of this checkout (SQLAlchemy 2.1 did both)."""
    from tests.test_generated_app import check_whole_suite, count_tests, suite_env, suite_options

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = str(environment / "bin" / "python")
    pyproject = (default_project / "pyproject.toml").read_text()
    assert "usergen" not in pyproject

    run(
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "-e",
        f"{default_project}[test,mysql]",
        cwd=tmp_path,
        timeout=900,
    )
    missing = subprocess.run([python, "-c", "import usergen"], capture_output=True, text=True)
    result = run(
        python,
        "-m",
        "pytest",
        *suite_options("sqlite"),
        cwd=default_project,
        env=suite_env("sqlite", "databases"),
    )

    # On MariaDB, SQLAlchemy 2.1 stores ids otherwise than 2.0 unless the tables say how.
    mariadb = run(
        python,
        "-m",
        "pytest",
        *suite_options("mysql"),
        "tests/test_adapter.py",
        "tests/test_user_list.py",
        cwd=default_project,
        env=suite_env("mysql", "databases"),
    )
    types = subprocess.run(
        [python, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=default_project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    versions = run(python, "-m", "pip", "list", cwd=tmp_path).stdout

    assert missing.returncode != 0 and "No module named 'usergen'" in missing.stderr
    check_whole_suite(result.stdout, "sqlite", "databases")
    assert count_tests(mariadb.stdout) >= 20 and " failed" not in mariadb.stdout
    assert types.returncode == 0, f"{types.stdout}{types.stderr}\n{versions}"
