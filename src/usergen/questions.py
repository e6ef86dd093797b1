"""The template's questions as copier.yml asks them: their choices, defaults and rules.

copier.yml is where they are written, for Copier and for usergen alike; this module reads them
from there rather than copying them, so the command line offers the same databases, and
refuses the same names, as `copier copy` of the template.
"""

import functools
from collections.abc import Mapping
from typing import Any

from usergen.errors import UsergenError
from usergen.render import Renderer, load_config


@functools.cache
def _questions() -> dict[str, Any]:
    return load_config()


def _question(name: str) -> dict[str, Any]:
    question = _questions().get(name)
    if not isinstance(question, dict):
        raise UsergenError(f"copier.yml has no question {name!r}; reinstall usergen")
    return question


def choices(name: str) -> tuple[str, ...]:
    """The values the question ``name`` accepts, in copier.yml's order."""
    listed = _question(name).get("choices")
    if isinstance(listed, dict):
        return tuple(str(value) for value in listed.values())
    if isinstance(listed, list):
        return tuple(str(value) for value in listed)
    raise UsergenError(f"copier.yml: question {name!r} has no choices")


def default(name: str) -> str:
    """The question's default as written (a template for computed defaults)."""
    return str(_question(name)["default"])


@functools.cache
def _renderer() -> Renderer:
    return Renderer()


def render_default(name: str, context: Mapping[str, Any]) -> str:
    """The question's default for the earlier answers in ``context``, as Copier computes it."""
    return _renderer().render_string(default(name), context).strip()


def refusal(name: str, value: str, context: Mapping[str, Any] | None = None) -> str:
    """Why copier.yml's validator of ``name`` refuses ``value`` ('' if it accepts it)."""
    validator = _question(name).get("validator")
    if validator is None:
        return ""
    return _renderer().render_string(str(validator), {**(context or {}), name: value}).strip()
