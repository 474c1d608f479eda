"""The corporate actions app's public API: what commands, Celery tasks, the console, the partner API and
reconciliation call. Rules live in the modules named below; this module only gathers them.

Announcements (corporate_action/<id>; each correction and cancellation is a new event; refused ones leave none):
    announce_dividend(symbol, *, ex_date, record_date, pay_date, rate, currency="USD", actor) -> CorporateAction
    announce_split(symbol, *, effective_date, old_rate, new_rate, actor)   split or reverse split by the ratio
    announce(kind, symbol, terms, *, actor)          any kind, incl. symbol_change {effective_date, new_symbol}
                                                     and delisting {effective_date}
    correct_action(action_id, changes, *, reason, actor); cancel_action(action_id, *, reason, actor)
    import_corporate_actions(since, until, *, account=None) -> ImportReport     from Alpaca, idempotent
    errors: InvalidAnnouncement (invalid_announcement), UnknownInstrument, ActionStateConflict,
        DividendPayDateTaken (another live cash dividend of the stock is paid that day: one receivable),
        PayDateHasCash (cash is booked for the dividend's pay date: it stays)

Dividends:
    snapshot_holders(action_id, *, actor) -> HolderSnapshot        holders at the end of the record date
        (RecordDateNotClosed; SplitNotApplied while a split effective on or before the record date is unapplied)
    record_dividend_received(action_id, *, custody_account, amount, actor)   statement custodians only
    set_tax_category(address, category, *, actor); set_payout_policy(symbol, *, mode, minimum_payout,
        below_minimum, fee_rate, actor)
    create_dividend_run(action_id, *, actor, reference_price=None) -> PayoutRun   entitlements booked
        (SnapshotMissing, SplitNotApplied, DividendNotReceived, DividendShortfall, RunExists, PayoutNotConfigured,
        InvalidPolicy)
    approve_run(run_id, approver) -> PayoutRun          approver "user:<name>", not the creator (SelfApproval)
    secure_reinvest_shares(run_id, *, custody_account, actor, via="broker"|"custodian") -> PayoutRun
    run_payout(run_id, *, wait_seconds=None) -> PayoutRun   resumable; PayoutNotApproved before approval

Splits, symbol changes, delistings:
    apply_action(action_id, *, actor) -> CorporateAction     splits create a split mint run (approve, run_payout)
        splits apply in order of their effective dates (SplitNotApplied while an earlier one is unapplied)
        a symbol change moves the old symbol's ledger balances to the new one (OpenCorporateActions, RequestsInFlight)

Reads:
    dividend_summary(action_id) -> dict; render_dividend_csv(action_id) -> str
    undistributed_dividends(as_of=None) -> list[DividendBreak]          for reconciliation
    entitlements_for_wallets(addresses) -> list[WalletEntitlement]      for the partner API
    explained_mint_tx_hashes(network, tx_hashes) -> set[str]           for issuance's chain watcher

Every failure is a corporate_actions.errors.CorporateActionError (a ledger.errors.DomainError with `code`).
Commands: announce_dividend, announce_split, snapshot_holders, create_payout_run, approve_payout, run_payout,
dividend_report, import_corporate_actions, apply_corporate_action. Celery: corporate_actions.tasks.run_payout.
"""
from __future__ import annotations

from .alpaca_import import ImportReport, import_corporate_actions
from .announcements import announce, announce_dividend, announce_split, get_action
from .announcements import cancel as cancel_action
from .announcements import correct as correct_action
from .dividends import record_dividend_received, snapshot_holders
from .payout_worker import run_payout
from .policies import set_payout_policy, set_tax_category
from .reports import (
    DividendBreak,
    WalletEntitlement,
    dividend_summary,
    entitlements_for_wallets,
    explained_mint_tx_hashes,
    render_dividend_csv,
    undistributed_dividends,
)
from .runs import approve_run, create_dividend_run, get_run, secure_reinvest_shares
from .splits import apply_action

__all__ = [
    "DividendBreak", "ImportReport", "WalletEntitlement", "announce", "announce_dividend", "announce_split",
    "apply_action", "approve_run", "cancel_action", "correct_action", "create_dividend_run", "dividend_summary",
    "entitlements_for_wallets", "explained_mint_tx_hashes", "get_action", "get_run", "import_corporate_actions",
    "record_dividend_received", "render_dividend_csv", "run_payout", "secure_reinvest_shares", "set_payout_policy",
    "set_tax_category", "snapshot_holders", "undistributed_dividends",
]
