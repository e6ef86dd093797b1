"""The account pages: HTML forms for every account flow, served by the app under /account."""

from .router import build_pages_router

__all__ = ["build_pages_router"]
