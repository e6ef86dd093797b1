"""User field specs: what `usergen add-field NAME TYPE [options]` means, checked and written down.

A spec is the plain mapping recorded in the project's answers file (the `fields` answer), from
which field_code.py computes the code the templates interpolate, e.g.::

    {"name": "nickname", "type": "str", "max_length": 50, "required": False,
     "unique": True, "index": False, "read_only": False}

Everything is checked here, before anything is rendered, so the templates can trust a spec:
defaults are parsed for their type (by the type table, field_types.py) and written in one
canonical form (decimal "12.50", date "2024-05-17", datetime in UTC with its offset,
hyphenated uuid, JSON object).
"""

import keyword
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from usergen.errors import UsageError, UsergenError
from usergen.field_types import (
    DECIMAL_DEFAULTS,
    DECIMAL_MAX_PRECISION,
    MAX_CHOICE_LENGTH,
    STR_DEFAULT_MAX_LENGTH,
    STR_MAX_INDEXED_LENGTH,
    STR_MAX_LENGTH,
)
from usergen.field_types import TYPES as TABLE

TYPES = tuple(TABLE)

# Columns and model attributes every generated user has (password is UserCreate's).
BUILTIN_NAMES = frozenset(
    {
        "id",
        "email",
        "normalized_email",
        "password",
        "hashed_password",
        "password_version",
        "is_active",
        "is_superuser",
        "is_verified",
        "created_at",
    }
)
# Built-in names that a template version after 0.1.0 introduced, and which: a project of an
# earlier version may have a field of its own by that name (`usergen update` asks to rename it).
BUILT_IN_SINCE = {"created_at": "0.3.0"}
# Names the generated classes use for something else: pydantic's BaseModel methods, SQLAlchemy's
# declarative attributes, and the validators of the update models.
CLASS_ATTRIBUTES = frozenset(
    {
        "construct", "copy", "dict", "from_orm", "json", "parse_file", "parse_obj", "parse_raw",
        "schema", "schema_json", "update_forward_refs", "validate", "metadata", "registry",
        "refuse_null", "refuse_null_flags",
    }
)  # fmt: skip

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Long enough for any sensible name, short enough for index names (ix_user_<name>, at most 63
# characters in PostgreSQL) and for the generated lines to stay within 100 characters.
MAX_NAME_LENGTH = 40

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FieldOptions:
    """The options of `add-field`, as given on the command line (None: not given)."""

    required: bool = False
    default: str | None = None
    unique: bool = False
    index: bool = False
    read_only: bool = False
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    choices: str | None = None


def check_name(name: str, taken: Collection[str], *, recorded: bool = False) -> str:
    """Return ``name`` if it can name a new user field, else raise UsageError saying why.

    ``recorded``: the name comes from an answers file, where a name built in only since a later
    template version (BUILT_IN_SINCE) was a field like any other.
    """
    if not _NAME.match(name):
        raise UsageError(
            f"invalid field name {name!r}: use lowercase letters, digits and single '_' "
            "between words, starting with a letter (e.g. last_login)"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"invalid field name {name!r}: use at most {MAX_NAME_LENGTH} characters")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UsageError(f"invalid field name {name!r}: it is a Python keyword")
    if name in BUILTIN_NAMES and not (recorded and name in BUILT_IN_SINCE):
        raise UsageError(f"the user already has a field {name!r} (it is built in)")
    if name in CLASS_ATTRIBUTES or name.startswith("model_"):
        raise UsageError(
            f"invalid field name {name!r}: the user classes already use it for something else"
        )
    if name in taken:
        raise UsageError(f"the user already has a field {name!r}")
    return name


def parse_field(
    name: str,
    type_: str,
    options: FieldOptions,
    taken: Collection[str] = (),
    *,
    recorded: bool = False,
) -> dict[str, Any]:
    """Check `add-field NAME TYPE [options]` and return its spec. Raises UsageError.

    ``recorded``: the spec comes from an answers file, where an earlier usergen may have
    accepted a combination refused today (bool --unique); it renders all the same.
    """
    check_name(name, taken, recorded=recorded)
    if type_ not in TYPES:
        raise UsageError(f"unknown field type {type_!r}: use one of {', '.join(TYPES)}")
    _check_options_apply(type_, options)
    spec: dict[str, Any] = {"name": name, "type": type_}
    takes = TABLE[type_].options
    if "max_length" in takes:
        spec["max_length"] = _max_length(options.max_length)
    if "precision" in takes:
        spec["precision"], spec["scale"] = _precision_scale(options.precision, options.scale)
    if "choices" in takes:
        spec["choices"] = _choices(options.choices)
    spec.update(
        required=options.required,
        unique=options.unique,
        index=options.index,
        read_only=options.read_only,
    )
    if options.default is not None:
        spec["default"] = parse_default(spec, options.default)
    _check_combination(spec)
    if not recorded:
        _check_sense(spec)
    return spec


def _check_options_apply(type_: str, options: FieldOptions) -> None:
    for option, value, key in (
        ("--max-length", options.max_length, "max_length"),
        ("--precision", options.precision, "precision"),
        ("--scale", options.scale, "scale"),
        ("--choices", options.choices, "choices"),
    ):
        if value is not None and key not in TABLE[type_].options:
            types = [name for name, entry in TABLE.items() if key in entry.options]
            raise UsageError(f"{option} applies to {' and '.join(sorted(types))} fields only")
    if type_ == "choices" and options.choices is None:
        raise UsageError("a choices field needs its values: --choices free,pro,team")


def _max_length(value: int | None) -> int:
    length = STR_DEFAULT_MAX_LENGTH if value is None else value
    if not 1 <= length <= STR_MAX_LENGTH:
        raise UsageError(
            f"--max-length must be between 1 and {STR_MAX_LENGTH}; use the text type for "
            "longer values"
        )
    return length


def _precision_scale(precision: int | None, scale: int | None) -> tuple[int, int]:
    precision = DECIMAL_DEFAULTS[0] if precision is None else precision
    scale = min(DECIMAL_DEFAULTS[1], precision) if scale is None else scale
    if not 1 <= precision <= DECIMAL_MAX_PRECISION:
        raise UsageError(f"--precision must be between 1 and {DECIMAL_MAX_PRECISION}")
    if not 0 <= scale <= precision:
        raise UsageError(f"--scale must be between 0 and the precision ({precision})")
    return precision, scale


def _choices(text: str | None) -> list[str]:
    values = [value.strip() for value in (text or "").split(",")]
    if not values or any(not value for value in values):
        raise UsageError("--choices needs comma-separated values, e.g. --choices free,pro,team")
    for value in values:
        if len(value) > MAX_CHOICE_LENGTH or _CONTROL.search(value):
            raise UsageError(
                f"invalid choice {value!r}: use at most {MAX_CHOICE_LENGTH} printable characters"
            )
    if len(set(values)) != len(values):
        raise UsageError("--choices lists a value twice")
    if len(values) < 2:
        raise UsageError("--choices needs at least two values (one value is not a choice)")
    return values


def parse_default(spec: Mapping[str, Any], text: str) -> Any:
    """Parse a --default for the field ``spec`` and return it in canonical form."""
    type_ = spec["type"]
    try:
        value = TABLE[type_].parse(spec, text)
    except (ValueError, ArithmeticError) as error:
        raise UsageError(f"--default {text!r} is not a valid {type_} value: {error}") from None
    return value


def _check_combination(spec: Mapping[str, Any]) -> None:
    """Refuse what the templates cannot render correctly."""
    name, type_ = spec["name"], spec["type"]
    if spec["required"] and spec["read_only"] and "default" not in spec:
        raise UsageError(
            "a required read-only field needs --default: users cannot send it, so new users "
            f"get the default (e.g. usergen add-field {name} {type_} --required --read-only "
            "--default VALUE)"
        )
    if spec["unique"] and "default" in spec:
        raise UsageError(
            "a unique field cannot have a --default: every user would get the same value"
        )
    if (spec["unique"] or spec["index"]) and not TABLE[type_].indexable:
        raise UsageError(
            f"a {type_} field cannot be --unique or --index: MySQL/MariaDB cannot index it "
            "(use str with --max-length instead)"
        )
    length = TABLE[type_].max_length(spec)
    if (spec["unique"] or spec["index"]) and length is not None and length > STR_MAX_INDEXED_LENGTH:
        raise UsageError(
            f"a --unique or --index {type_} field can be at most {STR_MAX_INDEXED_LENGTH} "
            "characters long (MySQL/MariaDB's index limit)"
        )


def _check_sense(spec: Mapping[str, Any]) -> None:
    """Refuse combinations that render, but make no sense for a new field."""
    type_ = spec["type"]
    if spec["unique"] and TABLE[type_].few_values:
        raise UsageError(
            f"a {type_} field cannot be --unique: it has so few values that only a handful of "
            "users could ever have one; drop --unique (or use --index to look users up by it)"
        )
    if spec["unique"] and spec["required"] and TABLE[type_].distinct is None:
        # The generated tests derive a distinct value of the type for every user they register.
        kinds = [name for name, entry in TABLE.items() if entry.distinct is not None]
        raise UsageError(
            f"a {type_} field cannot be both --unique and --required; a required unique "
            f"field can be {', '.join(kinds)}"
        )
    if spec["unique"] and spec["index"]:
        raise UsageError("--unique already indexes the column; drop --index")


def check_backfill(spec: Mapping[str, Any], source: str | None) -> str | None:
    """Check `--backfill-from COLUMN` for the new field ``spec``; return it."""
    if source is None:
        return None
    if not spec["required"] or "default" in spec:
        raise UsageError(
            "--backfill-from fills the users that already exist with a required field that has "
            "no --default; without one of those it has nothing to do"
        )
    sources = {column for entry in TABLE.values() for column in entry.backfill_from}
    if source not in sources:
        raise UsageError(
            f"--backfill-from {source!r}: existing users can be filled from "
            f"{', '.join(sorted(sources))}"
        )
    if source not in TABLE[spec["type"]].backfill_from:
        *others, last = sorted(
            name for name, entry in TABLE.items() if source in entry.backfill_from
        )
        kinds = f"{', '.join(others)} and {last}" if others else last
        raise UsageError(f"--backfill-from {source} fills {kinds} fields only")
    return source


_FLAGS = ("required", "unique", "index", "read_only")


def check_spec(spec: Any, taken: Collection[str] = ()) -> dict[str, Any]:
    """Check a spec read back from an answers file; UsergenError if it is not one we wrote."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise UsergenError(f"a recorded field is not a field spec: {spec!r}")
    name = spec["name"]
    try:
        if spec.get("type") not in TYPES or any(
            not isinstance(spec.get(flag), bool) for flag in _FLAGS
        ):
            raise UsageError("bad type or flags")
        options = FieldOptions(
            required=spec["required"],
            unique=spec["unique"],
            index=spec["index"],
            read_only=spec["read_only"],
            max_length=spec.get("max_length"),
            precision=spec.get("precision"),
            scale=spec.get("scale"),
            choices=",".join(spec["choices"]) if isinstance(spec.get("choices"), list) else None,
            default=_default_text(spec),
        )
        again = parse_field(name, spec["type"], options, taken, recorded=True)
    except UsergenError as error:
        raise UsergenError(f"the recorded field {name!r} is damaged: {error}") from None
    if again != spec:
        raise UsergenError(f"the recorded field {name!r} is damaged: {spec!r}")
    return again


def _default_text(spec: Mapping[str, Any]) -> str | None:
    if "default" not in spec:
        return None
    value = spec["default"]
    if spec.get("type") == "json" or isinstance(value, bool | int | float | str):
        return TABLE[spec["type"]].default_text(value)
    raise UsageError(f"unexpected default {value!r}")
