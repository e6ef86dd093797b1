"""What keeps the pages safe in a browser: the headers of every page, the check that a form
comes from this very origin, and where a page may send the browser next."""

import logging
import re
from urllib.parse import urlsplit

from fastapi import Request

# No script at all, styles and images from this app only, forms that post only here, and no
# page of another site may frame these (clickjacking). The pages need nothing more.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The verify and reset pages carry a token in their address: no other site may see it.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    # The pages show the account; nothing may keep a copy.
    "Cache-Control": "no-store",
}


def is_same_origin(request: Request, *, navigation: bool = False) -> bool:
    """Whether a form was posted (or, with ``navigation``, a page opened) by a page of this
    very origin, or by the user themselves. SameSite cookies stop other sites, not a sibling
    subdomain or another port of this host, so the browser's own word is checked:
    Sec-Fetch-Site, or Origin in browsers without it. Clients that are not browsers send
    neither, and no page can make them post."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        # "none": the user did it themselves (typed the address, reloaded after a post).
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        # Browsers without Fetch Metadata send no Origin on a navigation: nothing to judge by.
        return True
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host")


def local_path(target: str | None, fallback: str) -> str:
    """``target`` if it is a path of this site, else ``fallback``: a login link may name the
    page to return to, and must not send the browser to another site."""
    # Browsers drop tabs and newlines from addresses and read "\\" as "/": "/\t/evil.example"
    # would lead to another site.
    unsafe = any(character <= " " or character == "\\" for character in target or "")
    if not target or unsafe or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


class RedactTokens(logging.Filter):
    """Hides the token of the verify and reset links in uvicorn's access log: the pages are
    opened with it in the query string, and a log is no place for a key to an account."""

    TOKEN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.TOKEN.sub(r"\1…", value) if isinstance(value, str) else value
                for value in record.args
            )
        return True


def redact_tokens_in_access_log() -> None:
    """Install `RedactTokens` on uvicorn's access log, once."""
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactTokens) for existing in access_log.filters):
        access_log.addFilter(RedactTokens())
