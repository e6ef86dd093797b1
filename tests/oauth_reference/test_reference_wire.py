"""FastAPI Users' OAuth wire (RECORDED.json) is still what its pinned versions do with the local
provider: the reference side of the OAuth differential test (tests/test_oauth_differential.py)
has not drifted. The first run builds tests/oauth_reference/.venv (run.py), as CI does."""

import json
from pathlib import Path

import pytest

from tests.oauth_reference import run as reference


@pytest.mark.slow
def test_the_recording_is_reproducible(tmp_path: Path) -> None:
    reference.ensure_venv()
    fresh = tmp_path / "recorded.json"

    reference.record(fresh)

    assert json.loads(fresh.read_text()) == json.loads(reference.RECORDED.read_text())
