"""Start and stop a local anvil node for development, tests and benchmarks.

anvil comes from the npm package @foundry-rs/anvil (pinned in package.json). It always runs with
`--prune-history` and with HOME and its cache inside the given run folder: otherwise it writes per-block
state under ~/.foundry (about 1 GB after ~2,000 blocks) and slows down badly. Pruning keeps the last
`prune_history` block states in memory, so reads pinned further back than that fail (ChainReadFailed).

    .venv/bin/python -m chain.anvil --port 8545 --run-dir .run     # foreground, Ctrl-C to stop
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

from chain.errors import AnvilNotInstalled, AnvilStartFailed

REPO_ROOT = Path(__file__).resolve().parent.parent
ANVIL_CHAIN_ID = 31337
# anvil's well-known dev accounts (mnemonic "test test ... junk"), each funded with 10,000 ETH.
# Public test keys: for local nodes only.
DEV_ACCOUNT_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)


@dataclass
class AnvilNode:
    """A running anvil process; also a context manager that stops it."""

    port: int
    run_dir: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout_seconds: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def find_anvil_binary(repo_root: Path = REPO_ROOT) -> Path:
    """The anvil executable npm placed in the platform package (e.g. @foundry-rs/anvil-linux-amd64)."""
    candidates = sorted((repo_root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if not candidates:
        raise AnvilNotInstalled(f"no anvil under {repo_root / 'node_modules'}; run `npm ci` in {repo_root}")
    return candidates[0]


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_anvil(
    port: int,
    run_dir: Path,
    *,
    chain_id: int = ANVIL_CHAIN_ID,
    prune_history: int = 256,
    log_to_terminal: bool = False,
    startup_timeout_seconds: float = 15.0,
    state_path: Path | None = None,
) -> AnvilNode:
    """Start anvil on 127.0.0.1:`port` and return once it answers JSON-RPC.

    Its HOME and cache live in `run_dir`; its output goes to `run_dir/anvil-<port>.log` unless
    `log_to_terminal`. With `state_path` the chain state persists across restarts.
    """
    run_dir = Path(run_dir).resolve()
    home = run_dir / "anvil-home"
    home.mkdir(parents=True, exist_ok=True)
    command = [
        str(find_anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--prune-history", str(prune_history),
        "--cache-path", str(run_dir / "anvil-cache"),
    ]
    if state_path is not None:
        # Keep the chain across restarts of the demo (the database outlives the process): load the file at
        # start and dump to it every few seconds and at exit.
        command += ["--state", str(Path(state_path).resolve()), "--state-interval", "5"]
    environment = {**os.environ, "HOME": str(home)}
    log_path = run_dir / f"anvil-{port}.log"
    output = None if log_to_terminal else log_path.open("wb")
    try:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
    finally:
        if output is not None:
            output.close()
    node = AnvilNode(port=port, run_dir=run_dir, process=process)
    try:
        wait_until_answering(node, startup_timeout_seconds, log_path)
    except AnvilStartFailed:
        node.stop()
        raise
    return node


def wait_until_answering(node: AnvilNode, timeout_seconds: float, log_path: Path) -> None:
    """Poll eth_chainId until anvil answers; fail early if the process exits (e.g. port taken)."""
    request_body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise AnvilStartFailed(f"anvil exited with {node.process.returncode}: {_log_tail(log_path)}")
        request = urllib.request.Request(node.url, data=request_body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                if "result" in json.load(response):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise AnvilStartFailed(f"anvil did not answer on {node.url} within {timeout_seconds}s: {_log_tail(log_path)}")


def _log_tail(log_path: Path, lines: int = 20) -> str:
    if not log_path.exists():
        return "(output went to the terminal)"
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a local anvil node in the foreground.")
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / ".run")
    parser.add_argument("--chain-id", type=int, default=ANVIL_CHAIN_ID)
    parser.add_argument("--prune-history", type=int, default=256)
    args = parser.parse_args(argv)

    def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        node = start_anvil(
            args.port, args.run_dir, chain_id=args.chain_id, prune_history=args.prune_history, log_to_terminal=True
        )
    except (AnvilNotInstalled, AnvilStartFailed) as failure:
        print(f"anvil: {failure}", file=sys.stderr)
        return 2
    print(f"anvil answering at {node.url} (chain id {args.chain_id})", flush=True)
    try:
        return node.process.wait()
    except KeyboardInterrupt:
        node.stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
