"""The field types of `usergen add-field`: everything usergen knows about each, in one table.

One `FieldType` per type says how its values are checked and written down (the --default
option), which SQLAlchemy type holds them (in the app, and in a migration per dialect), how
the API models type and constrain them, and which values the generated tests send. fields.py
checks specs with it, field_code.py turns specs into the code the templates interpolate, and
the migrations are written from that code too. Adding a type is one entry here (and its tests).

Code is produced plain, on one line, with the imports it needs beside it: ruff formats the
rendered files and sorts their imports (formatting.py).
"""

import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Spec = Mapping[str, Any]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

STR_DEFAULT_MAX_LENGTH = 255
# MySQL counts 4 bytes per character (utf8mb4) against a 65,535-byte row; longer text: `text`.
STR_MAX_LENGTH = 2000
# MySQL indexes at most 3,072 bytes of a column: 768 utf8mb4 characters.
STR_MAX_INDEXED_LENGTH = 768
DECIMAL_DEFAULTS = (12, 2)
DECIMAL_MAX_PRECISION = 38
INT_RANGE = (-(2**31), 2**31 - 1)  # a 32-bit INTEGER in every database
MAX_CHOICE_LENGTH = 64
# The longest address the built-in email column holds (RFC 5321's 64 + 1 + 255).
EMAIL_MAX_LENGTH = 320

# Imports the generated modules need for a piece of code.
DATETIME = "import datetime as dt"
DECIMAL = "from decimal import Decimal"
UUID = "import uuid"
ANY = "from typing import Any"
LITERAL = "from typing import Literal"
MYSQL = "from sqlalchemy.dialects import mysql"
UTC_DATETIME = "from ..db import UTCDateTime"
UUID_COLUMN = "from ..db import UUID_TYPE"
# The field_types module of the generated app, imported from users/schemas.py.
FIELD_TYPES = ".field_types"


class Code(NamedTuple):
    """A Python expression (or type) as text, and the import lines it needs."""

    text: str
    imports: frozenset[str] = frozenset()


def code(text: str, *imports: str) -> Code:
    return Code(text, frozenset(imports))


def py_str(text: str) -> str:
    """A string literal, quoted as ruff format quotes it (double quotes unless the text holds
    more double quotes than single ones); usergen refuses control characters."""
    escaped = text.replace("\\", "\\\\")
    if text.count('"') > text.count("'"):
        return "'" + escaped.replace("'", "\\'") + "'"
    return '"' + escaped.replace('"', '\\"') + '"'


def py_literal(value: Any) -> str:
    """The Python literal of a JSON-like value."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, float):
        return repr(value).replace("e+", "e")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{py_str(str(key))}: {py_literal(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(py_literal(item) for item in value) + "]"
    raise TypeError(f"no literal for {value!r}")


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _plain_text(spec: Spec, text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("control characters are not allowed")
    return text


def _literal(spec: Spec, value: Any) -> Code:
    return code(py_literal(value))


def _quoted(spec: Spec, value: Any) -> str:
    return py_str(str(value))


@dataclass(frozen=True, kw_only=True)
class FieldType:
    """One field type. Callables take the field's spec (see fields.py); ``value`` is a default
    in canonical form (what ``parse`` returned, as the answers file holds it)."""

    # The answers-file options this type has beyond the flags (max_length; precision and
    # scale; choices): fields.py reads them from the command line.
    options: tuple[str, ...] = ()
    # --default text → the value in canonical form; ValueError says what is wrong.
    parse: Callable[[Spec, str], Any]
    # The Python type of the values (the user table's attribute, without None).
    python: Callable[[Spec], Code]
    # The SQLAlchemy type of the app's column.
    column: Callable[[Spec], Code]
    # Sample values for the generated tests, as the API returns them (JSON): two valid ones,
    # and a Python expression the API must refuse with a 422.
    samples: Callable[[Spec], tuple[Any, Any]]
    invalid: Callable[[Spec], str]
    # The type in the API models, if not ``python``; and a definition of it that the app's
    # users/field_types.py holds for the field (a type alias), if it needs one.
    model: Callable[[Spec], Code] | None = None
    definition: Callable[[Spec], Code] | None = None
    # The type in `User` (what the API answers), if not ``model``: a value checked on the way
    # in need not be checked again on every response.
    response: Callable[[Spec], Code] | None = None
    # The column type in migrations, if not ``column`` (migrations do not import the app),
    # and the variants it has on some dialects: (type, dialects) pairs.
    migration: Callable[[Spec], Code] | None = None
    dialects: tuple[tuple[Code, tuple[str, ...]], ...] = ()
    # Arguments of pydantic's Field that refuse what the column cannot hold.
    constraints: Callable[[Spec], list[str]] = lambda spec: []
    # The default as a Python value of the model type; as the SQL literal of server_default
    # (so existing rows get it); as the API returns it.
    default: Callable[[Spec, Any], Code] = _literal
    server_default: Callable[[Spec, Any], str] = _quoted
    returned: Callable[[Spec, Any], Any] = lambda spec, value: value
    # The canonical value back as --default text (to check a recorded spec by parsing it again).
    default_text: Callable[[Any], str] = str
    # An expression of `email` giving each registered test user a value of its own: a type
    # that has one can be required and unique at once.
    distinct: Callable[[Spec], Code] | None = None
    # The longest text the column holds, where that is the field's option (--max-length): an
    # index or a value copied in (--backfill-from) must fit it.
    max_length: Callable[[Spec], int | None] = lambda spec: None
    # MySQL/MariaDB can index the column (without a prefix length).
    indexable: bool = True
    # So few values that a unique column would hold a handful of users.
    few_values: bool = False
    # Built-in columns an existing user's value may be copied from (--backfill-from).
    backfill_from: frozenset[str] = field(default_factory=frozenset)
    # How the account pages ask for a value: the `kind` of the app's pages/forms.FormField
    # (text, textarea, integer, number, checkbox, date, datetime, email, select or json).
    form_input: str = "text"


def _str(spec: Spec, text: str) -> str:
    _plain_text(spec, text)
    if len(text) > spec["max_length"]:
        raise ValueError(f"longer than --max-length {spec['max_length']}")
    return text


def _choice(spec: Spec, text: str) -> str:
    _plain_text(spec, text)
    if text not in spec["choices"]:
        raise ValueError(f"not one of {', '.join(spec['choices'])}")
    return text


def _int(spec: Spec, text: str) -> int:
    number = int(text.strip())
    if not INT_RANGE[0] <= number <= INT_RANGE[1]:
        raise ValueError("out of the 32-bit integer range")
    return number


def _float(spec: Spec, text: str) -> float:
    real = float(text)
    if not math.isfinite(real):
        raise ValueError("must be a finite number")
    return real


def _decimal(spec: Spec, text: str) -> str:
    precision, scale = spec["precision"], spec["scale"]
    try:
        number = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    quantum = decimal.Decimal(1).scaleb(-scale)
    if number != number.quantize(quantum, rounding=decimal.ROUND_DOWN):
        raise ValueError(f"more than {scale} digits after the point (--scale)")
    canonical = number.quantize(quantum)
    if len(canonical.as_tuple().digits) > precision and canonical != 0:
        raise ValueError(f"more than {precision} digits (--precision)")
    return f"{canonical:f}"


def _decimal_samples(spec: Spec) -> tuple[str, str]:
    """1.50 and -2.25 at the field's scale (0.5 and -0.25 if it has no whole digits)."""
    precision, scale = spec["precision"], spec["scale"]
    whole = precision > scale
    tail0 = "." + ("5" + "0" * scale)[:scale] if scale else ""
    tail1 = "." + ("25" + "0" * scale)[:scale] if scale else ""
    return ("1" if whole else "0") + tail0, ("-2" if whole else "-0") + tail1


def _bool(spec: Spec, text: str) -> bool:
    words = {"true": True, "yes": True, "on": True, "1": True}
    words.update({"false": False, "no": False, "off": False, "0": False})
    if text.strip().lower() not in words:
        raise ValueError("use true or false")
    return words[text.strip().lower()]


def _datetime(spec: Spec, text: str) -> str:
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2024-05-17T10:30:00Z or +02:00")
    return moment.astimezone(dt.UTC).isoformat()


def _json(spec: Spec, text: str) -> Any:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(str(error)) from None
    if not isinstance(loaded, dict):
        raise ValueError('a json field holds an object, e.g. {"theme": "dark"}')
    return _plain_json(loaded)


def _plain_json(value: Any) -> Any:
    """Refuse JSON values the answers file and the databases cannot hold the same way."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and Infinity are not JSON")
    if isinstance(value, dict):  # sorted, as the answers file writes it back
        return {str(key): _plain_json(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    return value


def _choice_type(spec: Spec) -> Code:
    name = f"{pascal(spec['name'])}Choice"
    return code(name, f"from {FIELD_TYPES} import {name}")


def _choice_alias(spec: Spec) -> Code:
    """`TierChoice = Literal["free", "pro"]`: the type of a choices field's values."""
    values = ", ".join(py_str(choice) for choice in spec["choices"])
    return code(f"{_choice_type(spec).text} = Literal[{values}]", LITERAL)


def _email(spec: Spec, text: str) -> str:
    """A default address, checked for shape only: the app's EmailStr checks what clients send,
    and usergen does not depend on email-validator to check a default the way it does."""
    address = _plain_text(spec, text.strip())
    local, at, domain = address.rpartition("@")
    if not (local and at and "." in domain) or " " in address:
        raise ValueError("not an email address, e.g. someone@example.com")
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValueError(f"longer than {EMAIL_MAX_LENGTH} characters")
    return address


def _uuid_samples(spec: Spec) -> tuple[str, str]:
    return "9b2c1f8e-3d5a-4c7b-8e1f-2a3b4c5d6e7f", "0f1e2d3c-4b5a-4697-8877-665544332211"


TYPES: dict[str, FieldType] = {
    "str": FieldType(
        options=("max_length",),
        parse=_str,
        python=lambda spec: code("str"),
        column=lambda spec: code(f"sa.String({spec['max_length']})"),
        constraints=lambda spec: [
            f"max_length={spec['max_length']}",
            "pattern=NO_NUL_CHARACTER",
        ],
        samples=lambda spec: (
            "a" * min(spec["max_length"], 5),
            "b" * min(spec["max_length"], 5),
        ),
        invalid=lambda spec: f'"x" * {spec["max_length"] + 1}',
        distinct=lambda spec: code(f"distinct_text(email)[:{spec['max_length']}]"),
        max_length=lambda spec: int(spec["max_length"]),
        backfill_from=frozenset({"email"}),
    ),
    "text": FieldType(
        parse=_plain_text,
        python=lambda spec: code("str"),
        column=lambda spec: code("sa.Text()"),
        constraints=lambda spec: ["pattern=NO_NUL_CHARACTER"],
        samples=lambda spec: ("Some text", "Other text, with 'quotes' and \"more\""),
        invalid=lambda spec: '"with a NUL \\x00 inside"',
        indexable=False,
        backfill_from=frozenset({"email"}),
        form_input="textarea",
    ),
    "int": FieldType(
        parse=_int,
        python=lambda spec: code("int"),
        column=lambda spec: code("sa.Integer()"),
        constraints=lambda spec: ["ge=-(2**31)", "le=2**31 - 1"],
        samples=lambda spec: (42, -7),
        invalid=lambda spec: "2**31",
        server_default=lambda spec, value: py_str(py_literal(value)),
        distinct=lambda spec: code("int(distinct_text(email)[:7], 16)"),
        form_input="integer",
    ),
    "float": FieldType(
        parse=_float,
        python=lambda spec: code("float"),
        column=lambda spec: code("sa.Double()"),
        constraints=lambda spec: ["allow_inf_nan=False"],
        samples=lambda spec: (1.5, -2.25),
        invalid=lambda spec: '"not a number"',
        server_default=lambda spec, value: py_str(py_literal(value)),
        default_text=repr,
        form_input="number",
    ),
    "decimal": FieldType(
        options=("precision", "scale"),
        parse=_decimal,
        python=lambda spec: code("Decimal", DECIMAL),
        column=lambda spec: code(f"sa.Numeric({spec['precision']}, {spec['scale']})"),
        constraints=lambda spec: [
            f"max_digits={spec['precision']}",
            f"decimal_places={spec['scale']}",
        ],
        samples=_decimal_samples,
        invalid=lambda spec: py_str("1" + "0" * spec["precision"]),
        default=lambda spec, value: code(f"Decimal({py_str(value)})", DECIMAL),
        form_input="number",
    ),
    "bool": FieldType(
        parse=_bool,
        python=lambda spec: code("bool"),
        column=lambda spec: code("sa.Boolean()"),
        samples=lambda spec: (True, False),
        invalid=lambda spec: '"maybe"',
        server_default=lambda spec, value: "sa.true()" if value else "sa.false()",
        default_text=lambda value: "true" if value else "false",
        few_values=True,
        form_input="checkbox",
    ),
    "date": FieldType(
        parse=lambda spec, text: dt.date.fromisoformat(text.strip()).isoformat(),
        python=lambda spec: code("dt.date", DATETIME),
        column=lambda spec: code("sa.Date()"),
        samples=lambda spec: ("2024-05-17", "1999-12-31"),
        invalid=lambda spec: '"2024-02-30"',
        default=lambda spec, value: code(f"dt.date.fromisoformat({py_str(value)})", DATETIME),
        form_input="date",
    ),
    "datetime": FieldType(
        parse=_datetime,
        python=lambda spec: code("dt.datetime", DATETIME),
        # Read back as UTC whatever the database's clock: db.UTCDateTime.
        column=lambda spec: code("UTCDateTime()", UTC_DATETIME),
        # What UTCDateTime stores in: microseconds on MySQL/MariaDB too.
        migration=lambda spec: code("sa.DateTime()"),
        dialects=((code("mysql.DATETIME(fsp=6)", MYSQL), ("mysql", "mariadb")),),
        model=lambda spec: code("Timestamp", f"from {FIELD_TYPES} import Timestamp"),
        samples=lambda spec: ("2024-05-17T10:30:00.123456Z", "1999-12-31T23:59:59Z"),
        invalid=lambda spec: '"yesterday"',
        default=lambda spec, value: code(f"dt.datetime.fromisoformat({py_str(value)})", DATETIME),
        # Naive UTC, as UTCDateTime stores it.
        server_default=lambda spec, value: py_str(value[:-6].replace("T", " ")),
        returned=lambda spec, value: value.replace("+00:00", "Z"),
        form_input="datetime",
    ),
    "uuid": FieldType(
        parse=lambda spec, text: str(uuid.UUID(text.strip())),
        python=lambda spec: code("uuid.UUID", UUID),
        # 32 hex characters on MySQL and MariaDB whichever SQLAlchemy runs: db.UUID_TYPE.
        column=lambda spec: code("UUID_TYPE", UUID_COLUMN),
        migration=lambda spec: code("sa.Uuid()"),
        dialects=((code("sa.Uuid(native_uuid=False)"), ("mysql", "mariadb")),),
        samples=_uuid_samples,
        invalid=lambda spec: '"not-a-uuid"',
        default=lambda spec, value: code(f"uuid.UUID({py_str(value)})", UUID),
        # The 32 hex digits sa.Uuid stores where the database has no uuid type.
        server_default=lambda spec, value: py_str(value.replace("-", "")),
        distinct=lambda spec: code("str(uuid.UUID(distinct_text(email)[:32]))", UUID),
    ),
    "json": FieldType(
        parse=_json,
        python=lambda spec: code("dict[str, Any]", ANY),
        column=lambda spec: code("sa.JSON(none_as_null=True)"),
        samples=lambda spec: (
            {"theme": "dark"},
            {"theme": "light", "sizes": [1, 2.5], "beta": True, "note": None},
        ),
        invalid=lambda spec: '["not", "an", "object"]',
        server_default=lambda spec, value: py_str(
            json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        ),
        default_text=json.dumps,
        indexable=False,
        form_input="json",
    ),
    "choices": FieldType(
        options=("choices",),
        parse=_choice,
        # The table holds the text; the API models hold the choices' Literal.
        python=lambda spec: code("str"),
        column=lambda spec: code(
            f"sa.Enum({', '.join(map(py_str, spec['choices']))}, native_enum=False)"
        ),
        model=_choice_type,
        definition=_choice_alias,
        samples=lambda spec: (spec["choices"][0], spec["choices"][1]),
        invalid=lambda spec: py_str("-".join(spec["choices"]) + "-other"),
        few_values=True,
        form_input="select",
    ),
    "email": FieldType(
        parse=_email,
        python=lambda spec: code("str"),
        column=lambda spec: code(f"sa.String({EMAIL_MAX_LENGTH})"),
        # Checked like the built-in email on the way in; a plain str in `User`, as the
        # built-in email is, so responses do not check it again.
        model=lambda spec: code("EmailStr", "from pydantic import EmailStr"),
        response=lambda spec: code("str"),
        samples=lambda spec: ("alice@example.com", "bob@example.org"),
        invalid=lambda spec: '"not an address"',
        distinct=lambda spec: code('distinct_text(email)[:16] + "@example.com"'),
        backfill_from=frozenset({"email"}),
        form_input="email",
    ),
}
