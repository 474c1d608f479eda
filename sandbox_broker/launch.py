"""Start and stop a sandbox broker from pytest fixtures, run scripts and the command line.

`start_sandbox(state_path)` runs it on a background thread of the calling process (fast, what tests want);
`start_sandbox(state_path, in_subprocess=True)` runs `python -m sandbox_broker` as a child process (what a
demo script or a test of the command line wants). Either way the caller gets the base URL to hand to
`TradingClient(..., url_override=base_url)` and one `stop()`.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .server import SandboxServer
from .state import SandboxSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LISTENING_PREFIX = "sandbox broker listening on "
SUBPROCESS_START_TIMEOUT_SECONDS = 15.0


class SandboxStartError(RuntimeError):
    """The sandbox process exited or stayed silent instead of announcing its URL."""


@dataclass
class RunningSandbox:
    base_url: str
    settings: SandboxSettings
    _stop: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        self._stop()


def start_sandbox(
    state_path: str | os.PathLike,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    fill_prices: Mapping[str, Decimal | str] | None = None,
    in_subprocess: bool = False,
    **credentials: str,
) -> RunningSandbox:
    """Serve a sandbox on host:port (0 = any free port) with its state in `state_path`.

    `credentials` may set custody_key_id, custody_secret_key, ap_key_id, ap_secret_key and issuer.
    """
    settings = SandboxSettings(
        state_path=Path(state_path),
        fill_prices={symbol.upper(): Decimal(str(price)) for symbol, price in (fill_prices or {}).items()},
        **credentials,
    )
    if in_subprocess:
        return _start_process(settings, host, port)
    server = SandboxServer(settings, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"sandbox-broker-{server.server_address[1]}", daemon=True)
    thread.start()

    def stop() -> None:
        server.stop()
        thread.join()

    return RunningSandbox(server.base_url, settings, stop)


def stop_sandbox(sandbox: RunningSandbox) -> None:
    sandbox.stop()


def command_line(settings: SandboxSettings, host: str, port: int) -> list[str]:
    argv = [sys.executable, "-m", "sandbox_broker", "--host", host, "--port", str(port),
            "--state", str(settings.state_path), "--issuer", settings.issuer,
            "--custody-key-id", settings.custody_key_id, "--custody-secret-key", settings.custody_secret_key,
            "--ap-key-id", settings.ap_key_id, "--ap-secret-key", settings.ap_secret_key]
    for symbol, price in settings.fill_prices.items():
        argv += ["--fill-price", f"{symbol}={price}"]
    return argv


def _start_process(settings: SandboxSettings, host: str, port: int) -> RunningSandbox:
    process = subprocess.Popen(command_line(settings, host, port), cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + SUBPROCESS_START_TIMEOUT_SECONDS
    while True:
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        line = process.stdout.readline() if ready else ""
        if line.startswith(LISTENING_PREFIX):
            break
        if not line:  # silent past the deadline, or the process closed its output (it exited)
            process.kill()
            process.wait()
            raise SandboxStartError(f"sandbox broker did not start (exit code {process.returncode})")

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    return RunningSandbox(line[len(LISTENING_PREFIX):].strip(), settings, stop)
