"""The reference side of the OAuth differential test runs in its own virtual environment
(tests/oauth_reference/.venv, made by `python tests/oauth_reference/run.py`). Without it,
nothing here is collected."""

from pathlib import Path

VENV_PYTHON = Path(__file__).parent / ".venv" / "bin" / "python"

collect_ignore_glob = [] if VENV_PYTHON.exists() else ["test_*.py"]
