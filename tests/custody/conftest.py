"""Custody tests run against the real sandbox broker (one per session, reset before each test) through
alpaca-py, and a real PostgreSQL (the `db` fixture: each test's events are rolled back)."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca.trading.client import TradingClient

from custody.models import CustodyAccount, Instrument
from custody.services import create_instrument
from ledger import store
from sandbox_broker import RunningSandbox, SandboxControl, start_sandbox

FIXTURES = Path(__file__).parent / "fixtures"
OPS = "user:test-ops"
CUSTODY_KEYS = ("PKSANDBOXCUSTODY", "sandbox-custody-secret")
AP_KEYS = ("PKSANDBOXAP", "sandbox-ap-secret")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("custody_broker") / "broker.json",
                            fill_prices={"AAPL": Decimal("190.12"), "TSLA": Decimal("250.50")})
    yield running
    running.stop()


@pytest.fixture
def broker(sandbox: RunningSandbox) -> SandboxControl:
    control = SandboxControl(sandbox.base_url)
    control.reset()
    return control


@pytest.fixture
def fast_retries(settings) -> None:
    """Small timeouts and pauses, so fault tests take fractions of a second."""
    settings.CUSTODY_BROKER_TIMEOUT_SECONDS = 0.5
    settings.CUSTODY_BROKER_MAX_ATTEMPTS = 3
    settings.CUSTODY_BROKER_BACKOFF_SECONDS = 0.01
    settings.CUSTODY_BROKER_MAX_BACKOFF_SECONDS = 0.05


def make_alpaca_account(name: str, base_url: str, keys: tuple[str, str], monkeypatch) -> CustodyAccount:
    key_env, secret_env = f"TEST_{name.upper().replace('-', '_')}_KEY_ID", f"TEST_{name.upper().replace('-', '_')}_SECRET"
    monkeypatch.setenv(key_env, keys[0])
    monkeypatch.setenv(secret_env, keys[1])
    return CustodyAccount.objects.create(name=name, kind=CustodyAccount.Kind.ALPACA, api_key_env=key_env,
                                         api_secret_env=secret_env, base_url=base_url)


@pytest.fixture
def alpaca_main(db, sandbox, broker, monkeypatch, fast_retries) -> CustodyAccount:
    """Our custody account at the broker (the sandbox's "custody" account)."""
    return make_alpaca_account("alpaca-main", sandbox.base_url, CUSTODY_KEYS, monkeypatch)


@pytest.fixture
def instruments(db) -> dict[str, Instrument]:
    return {
        "AAPL": create_instrument("AAPL", "Apple Inc.", "US0378331005", cusip="037833100", exchange="NASDAQ", actor=OPS),
        "TSLA": create_instrument("TSLA", "Tesla, Inc.", "US88160R1014", cusip="88160R101", exchange="NASDAQ", actor=OPS),
    }


@pytest.fixture
def broker_client(sandbox, broker) -> TradingClient:
    """The custody account driven directly, as a trader outside shareledger would (orders we did not place)."""
    return TradingClient(*CUSTODY_KEYS, paper=True, url_override=sandbox.base_url)


class EventLog:
    """What was appended since the fixture started."""

    def __init__(self) -> None:
        self.start = store.head_position()

    def new(self, event_type: str | None = None) -> list[store.RecordedEvent]:
        events = store.read_all(after_position=self.start, limit=100_000)
        return [event for event in events if event_type is None or event.event_type == event_type]

    def mark(self) -> None:
        self.start = store.head_position()


@pytest.fixture
def ledger_log(db) -> EventLog:
    return EventLog()
