"""usergen: user accounts and authentication for FastAPI apps, generated as code you own."""

__version__ = "0.9.0"
