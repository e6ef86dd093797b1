"""FastAPI Users' OAuth wire (RECORDED.json) is still what its pinned versions do with the local
provider: the reference side of the OAuth differential test has not drifted. Collected only
where tests/oauth_reference/.venv exists (conftest.py)."""

import json
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_the_recording_is_reproducible(tmp_path: Path) -> None:
    fresh = tmp_path / "recorded.json"
    subprocess.run(
        [HERE / ".venv" / "bin" / "python", HERE / "record.py", fresh], check=True, timeout=300
    )
    recorded = json.loads((HERE / "RECORDED.json").read_text())
    assert json.loads(fresh.read_text()) == recorded
