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
def mypy_cache(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A mypy cache folder by name (one per checked project, so that workers never share one),
    kept from run to run in pytest's cache (`pytest --cache-clear` empties it): mypy then checks
    again only what changed, while most of a cold run goes to the libraries the code imports.
    Without pytest's cache (`-p no:cacheprovider`) the folders last one run."""

    def _folder(name: str) -> Path:
        cache = getattr(pytestconfig, "cache", None)
        if cache is None:
            return tmp_path_factory.mktemp(f"mypy-{name}")
        folder: Path = cache.mkdir(f"mypy-{name}")
        return folder

    return _folder


@pytest.fixture(scope="session")
def default_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults`: the project most tests look at."""
    return generate("shop")


@pytest.fixture(scope="session")
def sqlalchemy_project(generate: Callable[..., Path]) -> Path:
    """`usergen new shop --defaults --data-layer sqlalchemy`."""
    return generate("shop", "--data-layer", "sqlalchemy")
