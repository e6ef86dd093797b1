"""Fixtures of the generator's tests: generated projects, shared across the session."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import usergen


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Generate a project with `usergen new` into a fresh folder; returns its path."""

    def _generate(name: str, *options: str) -> Path:
        dest = tmp_path_factory.mktemp("projects") / name
        result = usergen("new", dest, "--defaults", *options)
        assert result.returncode == 0, result.stderr
        return dest

    return _generate


@pytest.fixture(scope="session")
def default_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults`: the project most tests look at."""
    return generate("shop")


@pytest.fixture(scope="session")
def sqlalchemy_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults --data-layer sqlalchemy`."""
    return generate("shop", "--data-layer", "sqlalchemy")
