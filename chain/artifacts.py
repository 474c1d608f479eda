"""Compiled contracts (ABI + bytecode) as committed by contracts/build.py."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from chain.errors import ArtifactNotFound

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "contracts" / "artifacts"


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list[dict]
    bytecode: bytes
    compiler_version: str
    source_sha256: str


@functools.cache
def load_artifact(name: str, artifacts_dir: Path = ARTIFACTS_DIR) -> ContractArtifact:
    """The artifact for contract `name` (e.g. "ShareToken"); read once per process."""
    path = artifacts_dir / f"{name}.json"
    if not path.exists():
        raise ArtifactNotFound(f"{path} does not exist; run contracts/build.py")
    artifact = json.loads(path.read_text())
    return ContractArtifact(
        name=artifact["contractName"],
        abi=artifact["abi"],
        bytecode=bytes.fromhex(artifact["bytecode"].removeprefix("0x")),
        compiler_version=artifact["compiler"]["version"],
        source_sha256=artifact["sourceSha256"],
    )
