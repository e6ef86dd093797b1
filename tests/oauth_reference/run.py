"""Build the reference virtual environment if needed, then record FastAPI Users' OAuth wire.

    python tests/oauth_reference/run.py           # (re)writes RECORDED.json
    python tests/oauth_reference/run.py --check   # compares a new recording with RECORDED.json

Standard library only; installs nothing outside tests/oauth_reference/.venv (git-ignored).
"""

import argparse
import difflib
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
PYTHON = VENV / "bin" / "python"
RECORDED = HERE / "RECORDED.json"


def ensure_venv() -> None:
    if PYTHON.exists():
        return
    print(f"creating {VENV}", file=sys.stderr)
    venv.create(VENV, with_pip=True)
    subprocess.run(
        [PYTHON, "-m", "pip", "install", "-q", "-r", HERE / "requirements.txt"], check=True
    )


def record(output: Path) -> None:
    subprocess.run([PYTHON, HERE / "record.py", output], check=True, timeout=300)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    ensure_venv()
    if not args.check:
        record(RECORDED)
        print(f"wrote {RECORDED}", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "recorded.json"
        record(fresh)
        diff = list(
            difflib.unified_diff(
                RECORDED.read_text().splitlines(),
                fresh.read_text().splitlines(),
                "RECORDED.json",
                "new recording",
                lineterm="",
            )
        )
    print("\n".join(diff) or "the recording matches RECORDED.json")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
