"""Compile contracts/src/*.sol with the pinned solcjs into committed JSON artifacts.

Why committed artifacts: tests, the bench and production deploys load ABI + bytecode from
contracts/artifacts/ and never need node or a compiler. Why this script: the compile must be reproducible
(same sources + same solc + same settings => byte-identical artifacts), so every setting that changes
bytecode is fixed here, sources are named by file name only (no machine paths in metadata), and the
output JSON is written with sorted keys.

    .venv/bin/python contracts/build.py                  # rewrite contracts/artifacts/
    .venv/bin/python contracts/build.py --out-dir /tmp/a  # compile elsewhere (the reproducibility test)
    .venv/bin/python contracts/build.py --check          # exit 1 if committed artifacts are stale
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = CONTRACTS_DIR.parent
SOURCES_DIR = CONTRACTS_DIR / "src"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
SOLC_PACKAGE = REPO_ROOT / "node_modules" / "solc"
NODE_COMPILE = (
    "const fs = require('fs'); const solc = require('solc');"
    "const [input, output] = process.argv.slice(1);"
    "fs.writeFileSync(output, solc.compile(fs.readFileSync(input, 'utf8')));"
)

EVM_VERSION = "cancun"
OPTIMIZER = {"enabled": True, "runs": 200}
# No IPFS/Swarm hash of the metadata in the bytecode: a comment edit should not change deployed code.
# The artifact's sourceSha256 still pins the exact source text.
METADATA_SETTINGS = {"bytecodeHash": "none"}


class SolcNotInstalled(Exception):
    """node_modules/solc is missing: run `npm ci` at the repository root."""


class CompilationFailed(Exception):
    """solc reported at least one error; the message carries solc's formatted diagnostics."""


def standard_json_input(sources: dict[str, str]) -> dict:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": OPTIMIZER,
            "metadata": METADATA_SETTINGS,
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
            },
        },
    }


def run_solcjs(compiler_input: dict) -> dict:
    """Run solc's standard-JSON interface (`solc.compile`) through node.

    Not the `solcjs --standard-json` CLI: it exits before a piped stdout is flushed and cuts the output at
    64 KiB, so input and output go through files instead.
    """
    if not (SOLC_PACKAGE / "package.json").exists():
        raise SolcNotInstalled(f"{SOLC_PACKAGE} not found; run `npm ci` in {REPO_ROOT}")
    with tempfile.TemporaryDirectory() as scratch:
        input_path, output_path = Path(scratch) / "input.json", Path(scratch) / "output.json"
        input_path.write_text(json.dumps(compiler_input))
        completed = subprocess.run(
            ["node", "-e", NODE_COMPILE, str(input_path), str(output_path)],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
        )
        if completed.returncode != 0:
            raise CompilationFailed(completed.stderr or completed.stdout)
        return json.loads(output_path.read_text())


def artifacts_from_output(sources: dict[str, str], output: dict) -> dict[str, dict]:
    """One artifact per contract named like its file (interfaces declared alongside are skipped)."""
    diagnostics = output.get("errors", [])
    errors = [d["formattedMessage"] for d in diagnostics if d["severity"] == "error"]
    if errors:
        raise CompilationFailed("\n".join(errors))
    for warning in (d["formattedMessage"] for d in diagnostics if d["severity"] != "error"):
        print(warning, file=sys.stderr)

    artifacts = {}
    for source_name, text in sorted(sources.items()):
        contract_name = Path(source_name).stem
        compiled = output["contracts"][source_name][contract_name]
        metadata = json.loads(compiled["metadata"])
        artifacts[contract_name] = {
            "contractName": contract_name,
            "sourceName": f"contracts/src/{source_name}",
            "sourceSha256": hashlib.sha256(text.encode()).hexdigest(),
            "compiler": {
                "name": "solcjs",
                "version": metadata["compiler"]["version"],
                "evmVersion": EVM_VERSION,
                "optimizer": OPTIMIZER,
                "metadata": METADATA_SETTINGS,
            },
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
        }
    return artifacts


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def compile_all() -> dict[str, str]:
    """Rendered artifact text by contract name."""
    sources = {path.name: path.read_text() for path in sorted(SOURCES_DIR.glob("*.sol"))}
    output = run_solcjs(standard_json_input(sources))
    return {name: render(artifact) for name, artifact in artifacts_from_output(sources, output).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=ARTIFACTS_DIR)
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts instead")
    args = parser.parse_args(argv)

    try:
        rendered = compile_all()
    except (SolcNotInstalled, CompilationFailed) as failure:
        print(f"contract build failed: {failure}", file=sys.stderr)
        return 2

    if args.check:
        stale = [
            name for name, text in rendered.items()
            if not (ARTIFACTS_DIR / f"{name}.json").exists() or (ARTIFACTS_DIR / f"{name}.json").read_text() != text
        ]
        for name in stale:
            print(f"stale artifact: contracts/artifacts/{name}.json", file=sys.stderr)
        return 1 if stale else 0

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (args.out_dir / f"{name}.json").write_text(text)
        print(f"wrote {args.out_dir / f'{name}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
