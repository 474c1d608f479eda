"""The sandbox's whole world as one JSON document, and its atomic persistence.

Everything a test or the demo can observe (accounts, cash, positions, orders, activities, prices, fill plans,
corporate actions, tokenization requests, idempotency keys) lives in one dict that is exactly what the state
file holds: decimals are strings, timestamps RFC 3339 text. The file is rewritten through a temporary file
and a rename after every change, so a killed sandbox restarts with the last answer it gave and never with a
half-written file. Faults and the request log are deliberately not persisted: they describe one test run.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .errors import InvalidRequest, NotFound
from .wire import decimal_text, timestamp_text, utc_now

STATE_VERSION = 1
CUSTODY_ACCOUNT = "custody"
AP_ACCOUNT = "ap"
_ID_NAMESPACE = uuid.UUID("6f1c1b0e-3f43-4a2b-9a55-5ad7b0c0ffee")

# symbol: (exchange, name, CUSIP, default fill price). Prices are round placeholders, not market data.
DEFAULT_ASSETS: dict[str, tuple[str, str, str, str]] = {
    "AAPL": ("NASDAQ", "Apple Inc. Common Stock", "037833100", "190.00"),
    "AMZN": ("NASDAQ", "Amazon.com, Inc. Common Stock", "023135106", "185.00"),
    "GOOGL": ("NASDAQ", "Alphabet Inc. Class A Common Stock", "02079K305", "170.00"),
    "MSFT": ("NASDAQ", "Microsoft Corporation Common Stock", "594918104", "420.00"),
    "NVDA": ("NASDAQ", "NVIDIA Corporation Common Stock", "67066G104", "130.00"),
    "SPY": ("ARCA", "SPDR S&P 500 ETF Trust", "78462F103", "560.00"),
    "TSLA": ("NASDAQ", "Tesla, Inc. Common Stock", "88160R101", "250.00"),
}


@dataclass(frozen=True)
class SandboxSettings:
    """What a sandbox is started with; credentials and fill prices given here win over the state file."""

    state_path: Path
    fill_prices: dict[str, Decimal] = field(default_factory=dict)
    custody_key_id: str = "PKSANDBOXCUSTODY"
    custody_secret_key: str = "sandbox-custody-secret"
    ap_key_id: str = "PKSANDBOXAP"
    ap_secret_key: str = "sandbox-ap-secret"
    issuer: str = "shareledger"
    starting_cash: Decimal = Decimal("1000000")


def stable_id(*parts: str) -> str:
    """Ids that stay the same across resets, so a test can hard-code nothing yet compare across restarts."""
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


def new_account(name: str, key_id: str, secret_key: str, cash: Decimal, external_account_id: str | None = None) -> dict:
    account_id = stable_id("account", name)
    return {
        "id": account_id,
        "name": name,
        "account_number": "PA" + account_id.replace("-", "")[:10].upper(),
        "key_id": key_id,
        "secret_key": secret_key,
        "external_account_id": external_account_id or name,
        "created_at": timestamp_text(utc_now()),
        "cash": decimal_text(cash),
        "positions": {},
        "orders": [],
        "activities": [],
        "last_activity_at": None,
    }


def new_asset(symbol: str, exchange: str = "NASDAQ", name: str | None = None, cusip: str | None = None) -> dict:
    """An asset in Alpaca's shape; "cusip" is kept for corporate actions and left out of /v2/assets."""
    return {
        "id": stable_id("asset", symbol),
        "class": "us_equity",
        "exchange": exchange,
        "symbol": symbol,
        "name": name or f"{symbol} (sandbox)",
        "status": "active",
        "tradable": True,
        "marginable": True,
        "maintenance_margin_requirement": 30,
        "margin_requirement_long": "30",
        "margin_requirement_short": "100",
        "shortable": True,
        "easy_to_borrow": True,
        "fractionable": True,
        "attributes": ["fractional_eh_enabled"],
        "cusip": cusip,
    }


def seed_state(settings: SandboxSettings) -> dict:
    custody = new_account(CUSTODY_ACCOUNT, settings.custody_key_id, settings.custody_secret_key, settings.starting_cash)
    ap = new_account(AP_ACCOUNT, settings.ap_key_id, settings.ap_secret_key, settings.starting_cash)
    data = {
        "version": STATE_VERSION,
        "issuer": settings.issuer,
        "issuer_account_id": custody["id"],
        "accounts": {custody["id"]: custody, ap["id"]: ap},
        "assets": {},
        "prices": {},
        "fill_plans": {},
        "announcements": [],
        "tokenization_requests": [],
        "idempotency": {},
        "clock": {"is_open": None},
    }
    for symbol, (exchange, name, cusip, price) in DEFAULT_ASSETS.items():
        data["assets"][symbol] = new_asset(symbol, exchange, name, cusip)
        data["prices"][symbol] = decimal_text(Decimal(price))
    apply_settings(data, settings)
    return data


def apply_settings(data: dict, settings: SandboxSettings) -> None:
    accounts = {account["name"]: account for account in data["accounts"].values()}
    accounts[CUSTODY_ACCOUNT].update(key_id=settings.custody_key_id, secret_key=settings.custody_secret_key)
    accounts[AP_ACCOUNT].update(key_id=settings.ap_key_id, secret_key=settings.ap_secret_key)
    data["issuer"] = settings.issuer
    for symbol, price in settings.fill_prices.items():
        set_price(data, symbol, price)


def set_price(data: dict, symbol: str, price: Decimal) -> None:
    """The price market orders fill at and positions are marked to; an unknown symbol becomes a new asset."""
    if price <= 0:
        raise InvalidRequest("price must be greater than 0")
    symbol = symbol.upper()
    data["assets"].setdefault(symbol, new_asset(symbol))
    data["prices"][symbol] = decimal_text(price)


def account_by_ref(data: dict, ref: str) -> dict:
    """An account named by its sandbox name ("custody", "ap") or by its Alpaca id."""
    if ref in data["accounts"]:
        return data["accounts"][ref]
    for account in data["accounts"].values():
        if account["name"] == ref:
            return account
    raise NotFound(f"account {ref} not found")


def account_by_key(data: dict, key_id: str) -> dict | None:
    for account in data["accounts"].values():
        if account["key_id"] == key_id:
            return account
    return None


class BrokerStore:
    """The state dict, the lock every request holds while it reads or changes it, and the file behind it."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.path = Path(settings.state_path)
        self.lock = threading.RLock()
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
            apply_settings(self.data, settings)
        else:
            self.data = seed_state(settings)
        self.save()

    def reset(self) -> None:
        with self.lock:
            self.data = seed_state(self.settings)
            self.save()

    def save(self) -> None:
        """Write the whole document to a temporary file in the same directory, fsync it, rename it over the old."""
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(descriptor, "w") as handle:
                    json.dump(self.data, handle, separators=(",", ":"))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
