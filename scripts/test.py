"""Run the whole test suite: make sure PostgreSQL and Redis are reachable (embedded ones otherwise), then
pytest. Exits non-zero on any failure and when no test ran (pytest's exit code 5)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import devservices  # noqa: E402


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", devservices.database_url())
    env.setdefault("CELERY_BROKER_URL", devservices.redis_url())
    args = [sys.executable, "-m", "pytest", *(argv or ["-q"])]
    code = subprocess.call(args, cwd=ROOT, env=env)
    if code == 5:
        print("test run FAILED: pytest collected no tests", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
