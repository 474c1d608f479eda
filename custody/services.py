"""The custody app's public API: what issuance, partners and reconciliation call. Keep it stable.

Instruments (each change an event on `instrument/<ISIN>` carrying the actor, e.g. "user:alice"):
    get_instrument(symbol) -> Instrument                                   raises UnknownInstrument
    create_instrument(symbol, name, isin, *, actor, cusip="", exchange="", tokens_per_share=Decimal(1)) -> Instrument
        validates ISIN and CUSIP check digits (a US ISIN must embed the CUSIP); InvalidInstrument, InstrumentExists
    pause_instrument(symbol, actor, reason) -> Instrument                  active -> paused
    resume_instrument(symbol, actor, reason="") -> Instrument              paused -> active
    delist_instrument(symbol, actor, reason) -> Instrument                 final
    change_tokens_per_share(symbol, tokens_per_share, actor, reason) -> Instrument
    change_symbol(symbol, new_symbol, actor, reason) -> Instrument
        (InstrumentStateConflict when the current state does not allow the change)

Custody accounts and the broker:
    get_custody_account(name) -> CustodyAccount                            raises UnknownCustodyAccount
    alpaca_client(account) -> TradingClient    credentials from the env vars the account names, base_url override
        for the sandbox, raw_data=True (answers are the broker's JSON dicts), a request timeout, and alpaca-py's
        own retries off: wrap calls in call_broker(what, fn) for the retry policy (BrokerUnavailable, BrokerRefused)
    sync_account(account, *, rescan=False, progress=None) -> SyncReport   orders, activities, positions
    place_order_for_request(request_id, symbol, qty, side, account, *, actor="system:custody") -> OrderOutcome
        side "buy" | "sell"; client order id "sl-" + sha256(request_id)[:40]; never submits the same order twice
        (lost answers are looked up, a duplicate-id 422 is fetched); an order that ended canceled or expired short
        of filled is followed by one for the rest under `<request id>#2`, `#3`... (one new order per call, each as
        idempotent); a filled outcome means the whole qty traded and its fills are booked.
        OrderRequestMismatch if the request id was used for other terms; InvalidOrder; UnknownInstrument
    refresh_order(request_id, account) -> OrderOutcome    its latest order (follow-ups too); UnknownOrder if never placed
    client_order_id_for(request_id) -> str
    register_journal_matcher(fn)     fn(BrokerJournal) -> JournalMatch(partner_id, request_id=None) | None:
        says which partner a JNLS/JNLC belongs to; matched journals post against partner:<id>:pending-mint:<SYM>
        (shares in), partner:<id>:pending-redeem:<SYM> (shares out) or partner:<id>:cash:USD; unmatched ones
        against a clearing account: shares in and all cash against suspense:unmatched-journal:<account>:<asset> =
        unmatched_journal_account(account, asset), shares out against suspense:outgoing-journal:<account>:<SYM> =
        outgoing_journal_account(account, symbol). The sync books every journal once: to assign an unmatched one
        to a partner later, move it out of its clearing account (for shares in: suspense +q,
        partner:<id>:pending-mint:<SYM> -q; for shares out: partner:<id>:pending-redeem:<SYM> +q, suspense -q);
        never post custody:* again for it.

Reads for issuance and reconciliation:
    shares_in_custody(symbol, as_of=None, known_at=None) -> Decimal   ledger balance over every custody:<acct>:<SYM>
    shares_at_account(account, symbol, as_of=None, known_at=None) -> Decimal   one custody:<acct>:<SYM>
    latest_broker_positions(account) -> BrokerPositions | None
        .qty {symbol: Decimal} (total; reconcile on this), .qty_available, .as_of, .raw_sha256, .event_position
    share_activities_unseen_by(account, observation_position, observed_at, as_of) -> list[str]
        what custody:<account>:* at `as_of` includes that an observation may not show: of the movements booked
        after it, those effective after it and those Alpaca dates without a time (booked at 00:00 New York) on
        its day or later; empty when it shows them all
    latest_statement(account, at=None) -> CustodianStatement | None   latest by the statement's own time at `at`
        .statement_date, .as_of, .statement_time, .format, .filename, .file_sha256, .holdings (isin, symbol|None,
        aggregate, available, blocked, pending), .aggregate_by_symbol(), .event_position, .imported_at

Statements:
    import_statement(data, filename, account, *, actor) -> StatementImportResult (already_imported, unknown_isins...)
        StatementRejected (line, reason), StatementAccountMismatch, StatementAlreadyImported, UnknownCustodyAccount,
        StatementDatedInTheFuture (later than now + STATEMENT_CLOCK_ALLOWANCE), StatementConflictsWithImported

Every failure is a subclass of custody.errors.CustodyError (a ledger.errors.DomainError with `code`, `http_status`).
Commands: `manage.py sync_custody [--account X] [--rescan]`, `manage.py import_statement FILE --account X`.
Celery: `custody.tasks.sync_custody_accounts(account=None)`.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ledger.balances import balance, balances_with_prefix

from . import ledger_accounts
from .activities import BrokerJournal, JournalMatch, register_journal_matcher, unregister_journal_matcher
from .broker import alpaca_client, call_broker
from .custody_accounts import get_custody_account
from .instruments import (
    change_symbol,
    change_tokens_per_share,
    create_instrument,
    delist_instrument,
    get_instrument,
    pause_instrument,
    resume_instrument,
)
from .models import CustodyAccount
from .orders import OrderOutcome, client_order_id_for, place_order_for_request, refresh_order
from .positions import BrokerPositions, latest_broker_positions, share_activities_unseen_by
from .statement_import import (
    STATEMENT_CLOCK_ALLOWANCE,
    CustodianStatement,
    StatementImportResult,
    import_statement,
    latest_statement,
)
from .sync import SyncReport, last_activity_position, sync_account

__all__ = [
    "BrokerJournal", "BrokerPositions", "CustodianStatement", "JournalMatch", "OrderOutcome", "StatementImportResult",
    "SyncReport", "alpaca_client", "call_broker", "change_symbol", "change_tokens_per_share", "client_order_id_for",
    "create_instrument", "delist_instrument", "get_custody_account", "get_instrument", "import_statement",
    "last_activity_position", "latest_broker_positions", "latest_statement", "outgoing_journal_account",
    "pause_instrument", "place_order_for_request", "refresh_order",
    "register_journal_matcher", "resume_instrument", "share_activities_unseen_by", "shares_at_account",
    "shares_in_custody", "sync_account",
    "unmatched_journal_account", "unregister_journal_matcher", "STATEMENT_CLOCK_ALLOWANCE",
]


def unmatched_journal_account(account: str, asset: str) -> str:
    """Where the sync parks a JNLS into the account, or a JNLC, that no journal matcher claimed (shares or cash in
    custody, owner unknown); issuance claims a mint's journal from here."""
    return ledger_accounts.unmatched_journal(account, asset)


def outgoing_journal_account(account: str, symbol: str) -> str:
    """Where the sync books a JNLS out of the account that no journal matcher claimed; issuance posts the shares it
    releases or returns by journal here first, so until the sync books them out the account is negative."""
    return ledger_accounts.outgoing_journal(account, symbol)


def shares_in_custody(symbol: str, as_of: datetime | None = None, known_at: datetime | None = None) -> Decimal:
    """Shares of `symbol` the ledger says we hold across all custody accounts (as_of: valid time, known_at:
    what the ledger knew then; see ledger.balances)."""
    if as_of is None and known_at is None:
        return sum((amount for (account, _), amount in balances_with_prefix("custody:", symbol).items()
                    if _is_shares_account(account, symbol)), Decimal(0))
    names = set(CustodyAccount.objects.values_list("name", flat=True))
    names |= {account.split(":")[1] for account, _ in balances_with_prefix("custody:", symbol)
              if _is_shares_account(account, symbol)}
    return sum((shares_at_account(name, symbol, as_of, known_at) for name in sorted(names)), Decimal(0))


def shares_at_account(account: str, symbol: str, as_of: datetime | None = None,
                      known_at: datetime | None = None) -> Decimal:
    return balance(ledger_accounts.custody_shares(account, symbol), symbol, as_of=as_of, known_at=known_at)


def _is_shares_account(account: str, symbol: str) -> bool:
    parts = account.split(":")
    return len(parts) == 3 and parts[2] == symbol
