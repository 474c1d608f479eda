"""The committed artifacts are exactly what the pinned compiler makes of the committed sources."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO_ROOT / "contracts" / "src").glob("*.sol"))
ARTIFACTS_DIR = REPO_ROOT / "contracts" / "artifacts"


def test_every_artifact_records_the_sha256_of_the_source_it_was_built_from():
    for source in SOURCES:
        artifact = json.loads((ARTIFACTS_DIR / f"{source.stem}.json").read_text())
        assert artifact["sourceSha256"] == hashlib.sha256(source.read_bytes()).hexdigest(), source.name


@pytest.mark.skipif(
    not (REPO_ROOT / "node_modules" / "solc").exists() or shutil.which("node") is None,
    reason="node_modules/solc not installed (npm ci)",
)
def test_recompiling_the_contracts_gives_byte_identical_artifacts(tmp_path: Path):
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "contracts" / "build.py"), "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )

    rebuilt = sorted(path.name for path in tmp_path.glob("*.json"))
    assert rebuilt == sorted(f"{source.stem}.json" for source in SOURCES)
    for name in rebuilt:
        assert (tmp_path / name).read_bytes() == (ARTIFACTS_DIR / name).read_bytes(), name
