"""python -m sandbox_broker --port 8766 --state PATH [--fill-price SYMBOL=PRICE ...]: serve in the foreground."""
from __future__ import annotations

import argparse
import signal
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .launch import LISTENING_PREFIX
from .server import SandboxServer
from .state import SandboxSettings

DEFAULTS = SandboxSettings(state_path=Path("."))


def fill_price(text: str) -> tuple[str, Decimal]:
    symbol, separator, price = text.partition("=")
    try:
        parsed = Decimal(price)
    except InvalidOperation:
        parsed = Decimal(0)
    if not separator or not symbol or not parsed.is_finite() or parsed <= 0:
        raise argparse.ArgumentTypeError(f"expected SYMBOL=PRICE with a positive price, got {text!r}")
    return symbol.upper(), parsed


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox_broker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port (printed on start)")
    parser.add_argument("--state", required=True, type=Path, help="JSON state file, created if missing")
    parser.add_argument("--fill-price", type=fill_price, nargs="+", action="extend", default=[],
                        metavar="SYMBOL=PRICE", help="price market orders fill at; repeatable")
    parser.add_argument("--issuer", default=DEFAULTS.issuer, help="issuer name the tokenization API accepts")
    parser.add_argument("--custody-key-id", default=DEFAULTS.custody_key_id)
    parser.add_argument("--custody-secret-key", default=DEFAULTS.custody_secret_key)
    parser.add_argument("--ap-key-id", default=DEFAULTS.ap_key_id)
    parser.add_argument("--ap-secret-key", default=DEFAULTS.ap_secret_key)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    settings = SandboxSettings(
        state_path=arguments.state,
        fill_prices=dict(arguments.fill_price),
        custody_key_id=arguments.custody_key_id,
        custody_secret_key=arguments.custody_secret_key,
        ap_key_id=arguments.ap_key_id,
        ap_secret_key=arguments.ap_secret_key,
        issuer=arguments.issuer,
    )
    server = SandboxServer(settings, arguments.host, arguments.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(LISTENING_PREFIX + server.base_url, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
