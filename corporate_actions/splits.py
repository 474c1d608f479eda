"""Applying splits, reverse splits, symbol changes and delistings.

Splits (old_rate shares become new_rate; ratio r = new_rate / old_rate), in one ledger transaction:

- Custody. Alpaca custody accounts: the broker's SPLIT activity, booked by the custody sync
  (custody:<a>:<SYM> +q, corporate-actions:split-<date>:<SYM> -q), must be in the ledger and must equal the
  ratio's change S x (r - 1), else SplitNotBookedByBroker / SplitMismatch (a break: the broker is checked,
  not trusted); the booking is then tied to this action: corporate-actions:split-<date>:<SYM> +q,
  corporate-actions:<id>:<SYM> -q. Other custody accounts (statement custodians): this app books
  custody:<a>:<SYM> +S x (r - 1) against corporate-actions:<id>:<SYM>.
- Tokens of a split (r > 1) follow by MINTING: every holder at the effective time (all wallets, the
  issuer's too: every token must follow its share) is owed floor(balance x (r - 1)) base units, in a split
  mint run that needs approval like a payout (tokens_per_share stays as it is). Rounding down leaves less
  than one base unit per holder unminted; that remainder stays in corporate-actions:<id>:<SYM>. The
  instrument is paused (no mints or redemptions at a half-applied ratio) until every holder is minted.
- Tokens of a reverse split (r < 1) cannot be burned from holders (ShareToken burns only from the redemption
  wallet), so the RATIO changes instead: tokens_per_share becomes tokens_per_share / r (1-for-10: one token
  is a tenth of a new share) and no holder balance changes, so no holder has a fractional remainder to round.
  The ledger's supply, kept in share equivalents, shrinks accordingly on each network:
  chain:<network>:<SYM>:supply +(T - T x r) against corporate-actions:<id>:<SYM>; a share equivalent finer
  than 10^-18 is rounded toward zero and the difference stays in corporate-actions:<id>:<SYM>.

When custody held exactly the tokens outstanding, corporate-actions:<id>:<SYM> ends at zero (up to those
documented remainders); anything else is the difference reconciliation reports. Mints and redemptions in
flight would straddle two ratios: applying is refused (RequestsInFlight) until they finish. Splits are applied in
the order they take effect: one effective earlier and not applied yet refuses the next (SplitNotApplied).

A dividend whose record date a split took effect on or before waits for that split too: its snapshot is refused
(SplitNotApplied) until the split is applied, then counts holders at the ratio in force at the record date and,
for a split, with the new tokens still owed to them (corporate_actions.snapshots).

Symbol changes and delistings change the instrument through custody (its stream is keyed by ISIN, so every
event before the change stays attached), in the same transaction as this app's *_applied event.

A symbol change also moves the ledger, since every reader names accounts and assets by the current symbol (the
reserve check, reconciliation, the dashboard): symbol_change_applied moves each non-zero balance in the old
symbol's asset (custody, token supply, pending, market, suspense, corporate-actions accounts...) to the same
path with the new symbol in place of the old one, in the new symbol's asset, and each balance of the dividend
accounts named by symbol alone (receivable, carried, residue) to the path with the new symbol. The old asset's
balances sum to zero (every event balances per asset), so moving all of them balances per asset with no
clearing account. Dividend accounts named by an action (payable, paid, fees, forfeited) stay: that action keeps
the symbol it was announced under. So the change waits (OpenCorporateActions) until every other action of the
instrument is paid, applied or cancelled, and (RequestsInFlight) until no mint or redemption is open.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone

from custody.models import CustodyAccount, Instrument
from custody.services import change_symbol, change_tokens_per_share, delist_instrument, pause_instrument
from issuance.models import MintRequest, RedeemRequest
from ledger import store
from ledger.balances import balance, balances_with_prefix
from ledger.canonical import EXACT, normalize_decimal
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, Posting, StreamAppend

from . import ledger_accounts as accounts
from . import streams
from .announcements import get_action
from .errors import (
    ActionStateConflict,
    NotEffectiveYet,
    OpenCorporateActions,
    RequestsInFlight,
    SplitMismatch,
    SplitNotBookedByBroker,
)
from .instruments import instrument_by_isin
from .locks import lock
from .models import CorporateAction
from .runs import create_split_mint_run, split_run_id
from .snapshots import effective_cutoff, refuse_unapplied_splits, take_snapshot

Kind = CorporateAction.Kind
Status = CorporateAction.Status
LEDGER_QUANTUM = Decimal("1e-18")


def apply_action(action_id: str, *, actor: str) -> CorporateAction:
    """Make an announced split, reverse split, symbol change or delisting take effect."""
    action = get_action(action_id)
    if action.status not in (Status.ANNOUNCED, Status.SNAPSHOTTED):
        raise ActionStateConflict(f"corporate action {action_id} is {action.status}")
    appliers = {Kind.STOCK_SPLIT: apply_split, Kind.REVERSE_SPLIT: apply_split,
                Kind.SYMBOL_CHANGE: _apply_symbol_change, Kind.DELISTING: _apply_delisting}
    if action.kind not in appliers:
        raise ActionStateConflict(f"a {action.kind} is paid through a payout run, not applied")
    return appliers[action.kind](action, actor)


def apply_split(action: CorporateAction, actor: str) -> CorporateAction:
    """Apply a split or reverse split (module docstring). Splits apply in the order they take effect: one effective
    before this one and not applied yet refuses it (SplitNotApplied), since this split's ratio and mints start
    from the shares and tokens per share that one leaves, and snapshots read the ratio history in that order."""
    instrument = instrument_by_isin(action.isin)
    refuse_unapplied_splits(action, effective_cutoff(action.effective_date))
    _refuse_in_flight(instrument)
    ratio = EXACT.divide(action.new_rate, action.old_rate)
    snapshot = None
    if action.kind == Kind.STOCK_SPLIT:  # holders at the effective time (RecordDateNotClosed before it)
        snapshot = take_snapshot(action, effective_cutoff(action.effective_date), exclude_issuer_wallets=False,
                                 actor=actor)
    else:
        _refuse_before(action)
    with transaction.atomic():
        lock(f"action:{action.id}")  # before the append lock, the order every append under this lock takes
        with store.appends_held():  # the balances read below stay the ones the append moves (a sync waits)
            appends = _split_appends(get_action(action.id), instrument, ratio, snapshot, actor)
            try:
                store.append_many(appends, metadata={"actor": actor})
            except ConcurrencyError:
                raise ActionStateConflict(f"corporate action {action.id} changed meanwhile; retry") from None
    return get_action(action.id)


def _split_appends(action: CorporateAction, instrument: Instrument, ratio: Decimal, snapshot: dict | None,
                   actor: str) -> list[StreamAppend]:
    """split_applied with custody (and, for a reverse split, supply) moved by the ratio; a split's mint run."""
    if action.status not in (Status.ANNOUNCED, Status.SNAPSHOTTED):
        raise ActionStateConflict(f"corporate action {action.id} is {action.status}")
    _refuse_in_flight(instrument)  # again, now that no request can move: one signed since would straddle ratios
    custody_legs, custody_detail = _custody_change(action, ratio)
    payload = {"symbol": instrument.symbol, "old_rate": action.old_rate, "new_rate": action.new_rate,
               "custody": custody_detail}
    appends = []
    if action.kind == Kind.STOCK_SPLIT:
        paused = instrument.status == Instrument.Status.ACTIVE
        if paused:
            pause_instrument(instrument.symbol, actor, f"split {action.id}: minting new tokens to holders")
        run_events = create_split_mint_run(action, snapshot, paused_instrument=paused)
        payload.update(method="mint_to_holders", mint_run_id=split_run_id(action.id),
                       tokens_to_mint_shares=run_events[0].payload["totals"]["minted_shares"],
                       summary=f"custody x{ratio}; new tokens minted to holders by run {split_run_id(action.id)}")
        appends.append(StreamAppend(streams.PAYOUT_RUN, split_run_id(action.id), run_events,
                                    expected_version=store.NO_STREAM))
        supply_legs = []
    else:
        new_ratio = normalize_decimal(EXACT.divide(instrument.tokens_per_share, ratio))
        change_tokens_per_share(instrument.symbol, new_ratio, actor,
                                f"reverse split {action.id}: {normalize_decimal(action.old_rate)} shares became "
                                f"{normalize_decimal(action.new_rate)}")
        supply_legs, supply_detail = _supply_change(action, instrument.symbol, ratio)
        payload.update(method="tokens_per_share", old_tokens_per_share=instrument.tokens_per_share,
                       tokens_per_share=new_ratio, supply=supply_detail,
                       summary=f"custody x{ratio}; tokens per share {instrument.tokens_per_share} -> {new_ratio}, "
                               "holder balances unchanged")
    appends.insert(0, StreamAppend(streams.CORPORATE_ACTION, action.id, [
        NewEvent("split_applied", payload, postings=custody_legs + supply_legs)],
        expected_version=action.stream_version))
    return appends


def _refuse_in_flight(instrument: Instrument) -> None:
    mints = MintRequest.objects.filter(instrument=instrument, status__in=MintRequest.OPEN).count()
    redeems = RedeemRequest.objects.filter(instrument=instrument, status__in=RedeemRequest.OPEN).count()
    if mints or redeems:
        raise RequestsInFlight(f"{instrument.symbol} has {mints} mints and {redeems} redemptions open; finish them "
                               "first (a split now would mix two ratios)")


def _custody_change(action: CorporateAction, ratio: Decimal) -> tuple[list[Posting], list[dict]]:
    symbol = action.symbol
    counterparty = accounts.corporate_action(action.id, symbol)
    held = {account.split(":")[1]: amount for (account, _), amount in balances_with_prefix("custody:", symbol).items()
            if len(account.split(":")) == 3 and account.split(":")[2] == symbol}
    kinds = dict(CustodyAccount.objects.filter(name__in=list(held)).values_list("name", "kind"))
    legs: list[Posting] = []
    detail: list[dict] = []
    at_broker = Decimal(0)  # shares at Alpaca accounts now, the broker's SPLIT booking included
    for name, shares in sorted(held.items()):
        if kinds.get(name) == CustodyAccount.Kind.ALPACA:
            at_broker += shares
            detail.append({"account": name, "shares_now": shares, "booked_by": "broker"})
            continue
        change = _ledger_amount(EXACT.multiply(shares, ratio - 1))
        if change:
            legs += [Posting(accounts.custody_shares(name, symbol), symbol, change),
                     Posting(counterparty, symbol, -change)]
            detail.append({"account": name, "shares_before": shares, "change": change, "booked_by": "corporate_actions"})
    if at_broker:
        broker_account = accounts.broker_split(symbol, action.effective_date)
        booked = normalize_decimal(-balance(broker_account, symbol))
        expected = _ledger_amount(EXACT.multiply(at_broker - booked, ratio - 1))
        if booked == 0:
            raise SplitNotBookedByBroker(f"no SPLIT of {symbol} on {action.effective_date} is booked in "
                                         f"{broker_account} yet (expected {expected}); sync custody first")
        if booked != expected:
            raise SplitMismatch(f"the broker booked {booked} {symbol} for the split on {action.effective_date}; "
                                f"{at_broker - booked} shares at the ratio {normalize_decimal(action.old_rate)}:"
                                f"{normalize_decimal(action.new_rate)} imply "
                                f"{expected}")
        legs += [Posting(broker_account, symbol, booked), Posting(counterparty, symbol, -booked)]
        detail.append({"broker_split_account": broker_account, "booked": booked, "expected": expected})
    return legs, detail


def _supply_change(action: CorporateAction, symbol: str, ratio: Decimal) -> tuple[list[Posting], list[dict]]:
    counterparty = accounts.corporate_action(action.id, symbol)
    legs, detail = [], []
    for (account, _), supply in sorted(balances_with_prefix("chain:", symbol).items()):
        parts = account.split(":")
        if len(parts) != 4 or parts[2] != symbol or parts[3] != "supply":
            continue
        new_supply = _ledger_amount(EXACT.multiply(supply, ratio))
        change = new_supply - supply
        legs += [Posting(account, symbol, change), Posting(counterparty, symbol, -change)]
        detail.append({"network": parts[1], "outstanding_shares_before": -supply,
                       "outstanding_shares_after": -new_supply})
    return legs, detail


def _ledger_amount(amount: Decimal) -> Decimal:
    """At most 18 places (the ledger's NUMERIC(38, 18)), rounded toward zero."""
    return normalize_decimal(amount.quantize(LEDGER_QUANTUM, rounding=ROUND_DOWN, context=EXACT))


def _refuse_before(action: CorporateAction) -> None:
    if action.effective_date > timezone.localdate():
        raise NotEffectiveYet(f"{action.kind} {action.id} takes effect on {action.effective_date}")


def _apply_symbol_change(action: CorporateAction, actor: str) -> CorporateAction:
    _refuse_before(action)
    instrument = instrument_by_isin(action.isin)
    old, new = instrument.symbol, action.new_symbol
    # Appends held: no request, action or broker sync reaches the old symbol's accounts between these checks and
    # reads and the move (each of them is an append).
    with store.appends_held():
        _refuse_in_flight(instrument)
        _refuse_open_actions(action)
        change_symbol(old, new, actor, f"corporate action {action.id}")
        moves = _symbol_moves(old, new)
        _record_applied(action, "symbol_change_applied", {
            "old_symbol": old, "new_symbol": new, "accounts_moved": len(moves) // 2,
            "summary": f"{old} is now {new} (ISIN {action.isin} and its history unchanged; "
                       f"{len(moves) // 2} ledger balances moved to {new})"}, actor, moves)
    return get_action(action.id)


def _refuse_open_actions(action: CorporateAction) -> None:
    open_ids = sorted(CorporateAction.objects.filter(isin=action.isin).exclude(id=action.id)
                      .exclude(status__in=(Status.APPLIED, Status.PAID, Status.CANCELLED)).values_list("id", flat=True))
    if open_ids:
        raise OpenCorporateActions(f"{', '.join(open_ids)} of {action.symbol} still open: each keeps the symbol it was "
                                   "announced under; pay, apply or cancel them before the symbol changes")


def _symbol_moves(old: str, new: str) -> list[Posting]:
    """Every balance the old symbol names, moved to the new symbol's account (see the module docstring)."""
    residue = accounts.residue(old)
    named = {**balances_with_prefix("", old),  # every account in the old symbol's asset
             **balances_with_prefix(accounts.receivable_prefix(old)), **balances_with_prefix(accounts.carried_prefix(old)),
             **{key: amount for key, amount in balances_with_prefix(residue).items() if key[0] == residue}}
    legs = []
    for (account, asset), amount in sorted(named.items()):
        legs += [Posting(account, asset, -amount), Posting(_renamed(account, old, new), new if asset == old else asset,
                                                             amount)]
    return legs


def _renamed(account: str, old: str, new: str) -> str:
    """The path with the symbol replaced wherever it names the instrument: after the path's kind and its first
    part (a custody account, network, partner or action), e.g. custody:alpaca-main:OLD, chain:anvil:OLD:supply,
    partner:p1:pending-redeem:OLD, dividends:carried:OLD:anvil:0xabc."""
    parts = account.split(":")
    return ":".join(parts[:2] + [new if part == old else part for part in parts[2:]])


def _apply_delisting(action: CorporateAction, actor: str) -> CorporateAction:
    _refuse_before(action)
    instrument = instrument_by_isin(action.isin)
    with transaction.atomic():
        delist_instrument(instrument.symbol, actor, f"corporate action {action.id}")
        _record_applied(action, "delisting_applied", {
            "symbol": instrument.symbol, "summary": f"{instrument.symbol} delisted: no new mints or redemptions"},
            actor)
    return get_action(action.id)


def _record_applied(action: CorporateAction, event_type: str, payload: dict, actor: str,
                    postings: Sequence[Posting] = ()) -> None:
    try:
        store.append(streams.CORPORATE_ACTION, action.id, [NewEvent(event_type, payload, postings)],
                     metadata={"actor": actor}, expected_version=action.stream_version)
    except ConcurrencyError:
        raise ActionStateConflict(f"corporate action {action.id} changed meanwhile; retry") from None
