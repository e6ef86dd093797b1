"""Requests whose headers are too large are refused (431) before the app reads them.

uvicorn with httptools, the fast parser that uvicorn[standard] brings, takes headers of any
size (a 2 MB header reached the app, measured). This bounds what the app parses afterwards
(cookies, tokens) on any server; the server has read the headers already, so in production a
proxy in front should limit them too (nginx: ``large_client_header_buffers``).
"""

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class HeaderSizeLimit:
    """ASGI middleware: 431 when a request's header names and values exceed ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) for name, value in scope["headers"])
            if size > self.max_bytes:
                response = JSONResponse(
                    {"detail": "Request header fields too large"}, status_code=431
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
