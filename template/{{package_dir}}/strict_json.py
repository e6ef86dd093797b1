"""JSON request bodies read strictly: a body the app could not safely handle is malformed.

Python's json module accepts things the JSON standard leaves undefined, and each of them broke
the app further on with a 500: NaN and Infinity (and 1e999999, which becomes infinity) cannot be
written back into the 422 answer that echoes them; a lone UTF-16 surrogate ("\\ud800") is no
character at all, so neither the 422 answer nor the password hasher can encode it to UTF-8.
Here they are refused while parsing, and FastAPI answers 422 (``json_invalid``) as for any
malformed body; the error names the problem, never the input.

Routers opt in with ``APIRouter(route_class=StrictJSONRoute)``; do so for your own routers too.
"""

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def malformed(reason: str) -> json.JSONDecodeError:
    # No document in the error: FastAPI keeps it on the validation error, and it is the input.
    return json.JSONDecodeError(reason, "", 0)


def refuse_constant(name: str) -> Any:
    raise malformed(f"{name} is not a JSON number")


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise malformed("Number out of range")
    return value


def loads(body: bytes) -> Any:
    """Parse a UTF-8 JSON body; `json.JSONDecodeError` for anything but well-formed JSON of
    finite numbers and real characters."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("Invalid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=refuse_constant, parse_float=finite_float)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer too long to convert
        raise malformed("Number out of range") from None
    except RecursionError:
        raise malformed("Nested too deeply") from None
    # Only an escape can make a lone surrogate, and encoding finds it; most bodies have none.
    if "\\u" in text:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise malformed("Lone surrogate in a string") from None
    return value


class StrictJSONRequest(Request):
    """A request whose `json` refuses what `loads` refuses."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route that reads its JSON body with `loads`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
