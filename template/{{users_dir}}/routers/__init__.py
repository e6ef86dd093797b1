"""The HTTP routes of user accounts, wire-compatible with FastAPI Users."""
