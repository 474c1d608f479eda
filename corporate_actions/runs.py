"""Payout runs: what each holder is owed, booked before anything is paid, and approved by a second person.

A dividend run (`create_dividend_run`) takes the recorded snapshot, the cash custody booked for the dividend
(dividends:receivable:<SYM>:<pay date>), each holder's tax category and the instrument's payout policy, applies
the rounding rule of corporate_actions.entitlements, and records in ONE append:

    payout_run_created   terms, policy, snapshot hash, totals
    holder_entitled      one per holder:  dividends:receivable +gross
                                          tax:withheld:<country> -tax, dividends:fees -fee
                                          pay:     dividends:payable -paid (+ dividends:carried +carried_in)
                                                   reinvest: dividends:residue -remainder
                                          carry:   dividends:carried:<SYM>:<network>:<address> -net
                                          forfeit: dividends:forfeited -(net + carried_in), dividends:carried +carried_in
    residue_booked       dividends:receivable +(received - sum gross), dividends:residue -(same)

after which the receivable is exactly zero. Paying (corporate_actions.payout_worker) then moves each holder's
amount from dividends:payable to dividends:paid, once, when its transaction is confirmed.

A split run (`create_split_mint_run`, called by splits.apply_split) lists the tokens to mint to each holder.
Every run starts `created` and pays nothing until `approve_run` by a person other than its creator.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from ledger import store
from ledger.balances import balance, balances_with_prefix
from ledger.canonical import EXACT, normalize_decimal
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, Posting

from . import ledger_accounts as accounts
from . import streams
from .announcements import get_action
from .entitlements import CARRY, FORFEIT, PAY, Allocation, Entitlement, Holding, ShortfallError, Terms, allocate
from .errors import (
    ActionStateConflict,
    ApprovalByPersonRequired,
    DividendNotReceived,
    DividendShortfall,
    InvalidPolicy,
    PayoutNotConfigured,
    ReinvestSharesNotSecured,
    RunExists,
    RunStateConflict,
    SelfApproval,
    SnapshotMissing,
    UnknownRun,
)
from .locks import lock
from .models import CorporateAction, HolderSnapshot, PayoutLine, PayoutPolicy, PayoutRun, SnapshotHolder
from .policies import policy_for, tax_categories_of, withholding_rates
from .snapshots import record_date_cutoff, refuse_unapplied_splits, splits_in_force

Kind = PayoutRun.Kind
MAX_REFERENCE_PRICE_PLACES = 6


def get_run(run_id: str) -> PayoutRun:
    run = PayoutRun.objects.select_related("action").filter(id=run_id).first()
    if run is None:
        raise UnknownRun(f"no payout run {run_id!r}")
    return run


def dividend_run_id(action_id: str) -> str:
    return f"{action_id}-payout"


def split_run_id(action_id: str) -> str:
    return f"{action_id}-split-mint"


def _move(to_account: str, from_account: str, asset: str, amount: Decimal) -> list[Posting]:
    """`amount` into `to_account`, out of `from_account`; nothing when zero (the ledger refuses zero legs)."""
    if amount == 0:
        return []
    return [Posting(to_account, asset, amount), Posting(from_account, asset, -amount)]


def _units(amount: Decimal, decimals: int, what: str) -> int:
    units = EXACT.multiply(amount, Decimal(10) ** decimals)
    if units != units.to_integral_value():
        raise PayoutNotConfigured(f"{what} {amount} is finer than the token's {decimals} decimals")
    return int(units)


# --- dividends ---

def create_dividend_run(action_id: str, *, actor: str, reference_price: Decimal | str | None = None) -> PayoutRun:
    """Compute and book every holder's entitlement for a snapshotted cash dividend (see the module docstring).
    Refused, with nothing recorded: SnapshotMissing (also when a split in force at the record date was applied
    after the snapshot), SplitNotApplied (such a split is still unapplied), DividendNotReceived, DividendShortfall,
    RunExists, PayoutNotConfigured (no stablecoin for a network), InvalidPolicy (reference price missing or
    unexpected)."""
    with transaction.atomic():
        lock(f"action:{action_id}")
        action = get_action(action_id)
        if action.kind != CorporateAction.Kind.CASH_DIVIDEND:
            raise ActionStateConflict(f"{action_id} is a {action.kind}, not a cash dividend")
        if action.status == CorporateAction.Status.ANNOUNCED:
            raise SnapshotMissing(f"dividend {action_id} has no holder snapshot yet (snapshot_holders first)")
        if action.status != CorporateAction.Status.SNAPSHOTTED:
            raise RunExists(f"dividend {action_id} is {action.status}; its payout run is {dividend_run_id(action_id)}")
        policy = policy_for(action.isin)
        price = _reference_price(policy.mode, reference_price)
        received = normalize_decimal(-balance(accounts.receivable(action.symbol, action.pay_date), action.currency))
        if received <= 0:
            raise DividendNotReceived(
                f"no {action.currency} booked in {accounts.receivable(action.symbol, action.pay_date)} for {action_id} "
                f"(balance {-received}); sync custody or record the cash first")
        snapshot = HolderSnapshot.objects.get(action=action)
        if snapshot.cutoff != record_date_cutoff(action.record_date):
            raise SnapshotMissing(f"the snapshot of {action_id} is for another record date; snapshot again")
        _refuse_snapshot_before_splits(action, snapshot)
        holdings = _holdings(action, snapshot)
        terms = Terms(rate=action.rate, received=received, minimum_payout=policy.minimum_payout,
                      below_minimum=policy.below_minimum, fee_rate=policy.fee_rate, reference_price=price)
        try:
            allocation = allocate(holdings, terms)
        except ShortfallError as shortfall:
            raise DividendShortfall(f"dividend {action_id}: {shortfall}") from None
        events = _dividend_events(action, snapshot, policy, allocation)
        run_id = dividend_run_id(action_id)
        try:
            store.append(streams.PAYOUT_RUN, run_id, events, metadata={"actor": actor},
                         expected_version=store.NO_STREAM)
        except ConcurrencyError:
            raise RunExists(f"payout run {run_id} already exists") from None
    return get_run(run_id)


def _refuse_snapshot_before_splits(action: CorporateAction, snapshot: HolderSnapshot) -> None:
    """A split announced after the dividend was snapshotted, yet in force at its record date, leaves the snapshot
    counting holders at a ratio, or without tokens, that the record date did not have: SplitNotApplied until the
    split is applied, SnapshotMissing after (snapshot again)."""
    refuse_unapplied_splits(action, snapshot.cutoff)
    for split in splits_in_force(action.isin, snapshot.cutoff):
        applied_at = [event.position for event in store.read_stream(streams.CORPORATE_ACTION, split.id)
                      if event.event_type == "split_applied"]
        if applied_at and applied_at[0] > snapshot.event_position:
            raise SnapshotMissing(f"{split.kind.replace('_', ' ')} {split.id} of {split.symbol}, effective "
                                  f"{split.effective_date}, was applied after the snapshot of {action.id} was taken; "
                                  "snapshot again")


def _reference_price(mode: str, reference_price: Decimal | str | None) -> Decimal | None:
    if mode == PayoutPolicy.Mode.AIRDROP:
        if reference_price is not None:
            raise InvalidPolicy("airdrop dividends take no reference price (the policy says airdrop)")
        return None
    if reference_price is None or isinstance(reference_price, float):
        raise InvalidPolicy("a reinvest dividend needs a reference price (a decimal string) to buy shares at")
    price = normalize_decimal(Decimal(str(reference_price)))
    if not price.is_finite() or price <= 0 or -price.as_tuple().exponent > MAX_REFERENCE_PRICE_PLACES:
        raise InvalidPolicy(f"reference price must be > 0 with at most {MAX_REFERENCE_PRICE_PLACES} decimal places")
    return price


def _holdings(action: CorporateAction, snapshot: HolderSnapshot) -> list[Holding]:
    per_network = {network["network"]: network for network in snapshot.networks}
    rows = list(SnapshotHolder.objects.filter(action=action, excluded=False).order_by("network", "address"))
    categories = tax_categories_of(sorted({row.address for row in rows}))
    rates = withholding_rates()
    carried = {account: -amount for (account, _), amount in
               balances_with_prefix(accounts.carried_prefix(action.symbol), action.currency).items()}
    holdings = []
    for row in rows:
        network = per_network[row.network]
        tokens = EXACT.divide(row.balance_units, Decimal(10) ** network["decimals"])
        shares = normalize_decimal(EXACT.divide(tokens, Decimal(network["tokens_per_share"])))
        category = categories[row.address]
        if category not in rates:
            raise PayoutNotConfigured(f"holder {row.address} has tax category {category!r}, which has no rate")
        holdings.append(Holding(
            network=row.network, address=row.address, balance_units=int(row.balance_units), shares=shares,
            tax_category=category, tax_rate=rates[category],
            carried_in=carried.get(accounts.carried(action.symbol, row.network, row.address), Decimal(0))))
    return holdings


def _dividend_events(action: CorporateAction, snapshot: HolderSnapshot, policy, allocation: Allocation) -> list[NewEvent]:
    reinvest = allocation.terms.reference_price is not None
    networks = {network["network"]: network for network in snapshot.networks}
    stablecoins = {} if reinvest else _stablecoins(action.currency, {e.holding.network for e in allocation.entitlements
                                                                     if e.outcome == PAY})
    batch_counters: dict[str, int] = defaultdict(int)
    entitled = []
    reinvest_shares = Decimal(0)
    for line_no, e in enumerate(allocation.entitlements, start=1):
        units, batch_no = 0, None
        if e.outcome == PAY:
            if reinvest:
                network = networks[e.holding.network]
                tokens = EXACT.multiply(e.reinvest_shares, Decimal(network["tokens_per_share"]))
                units = _units(tokens, network["decimals"], "reinvested tokens")
                reinvest_shares += e.reinvest_shares
            else:
                units = _units(e.paid, stablecoins[e.holding.network]["decimals"], "payout")
            batch_no = batch_counters[e.holding.network] // settings.DIVIDEND_BATCH_SIZE + 1
            batch_counters[e.holding.network] += 1
        entitled.append(NewEvent("holder_entitled", {
            "line_no": line_no, "network": e.holding.network, "address": e.holding.address,
            "balance_units": str(e.holding.balance_units), "shares": e.holding.shares,
            "tax_category": e.holding.tax_category, "tax_rate": e.holding.tax_rate, "gross": e.gross, "tax": e.tax,
            "fee": e.fee, "carried_in": e.holding.carried_in, "net": e.net, "outcome": e.outcome, "amount": e.paid,
            "carried_forward": e.carried_forward, "forfeited": e.forfeited,
            "reinvest_shares": e.reinvest_shares, "reinvest_remainder": e.reinvest_remainder,
            "units": str(units), "batch_no": batch_no,
        }, postings=_entitlement_postings(action, e)))
    rounding = allocation.terms.received - allocation.gross
    totals = {**allocation.totals(), "tax_by_category": allocation.tax_by_category,
              "reinvest_shares": reinvest_shares, "holders": len(allocation.entitlements),
              "holders_paid": sum(1 for e in allocation.entitlements if e.outcome == PAY)}
    created = NewEvent("payout_run_created", {
        "action_id": action.id, "kind": Kind.REINVEST if reinvest else Kind.AIRDROP, "symbol": action.symbol,
        "currency": action.currency, "rate": action.rate, "pay_date": action.pay_date.isoformat(),
        "reference_price": allocation.terms.reference_price, "policy": {
            "mode": policy.mode, "minimum_payout": policy.minimum_payout, "below_minimum": policy.below_minimum,
            "fee_rate": policy.fee_rate},
        "withholding_rates": withholding_rates(), "withholding_country": settings.DIVIDEND_WITHHOLDING_COUNTRY,
        "targets": _token_targets(snapshot.networks) if reinvest else stablecoins,
        "snapshot_sha256": snapshot.holders_sha256,
        "snapshot_position": snapshot.event_position, "batch_size": settings.DIVIDEND_BATCH_SIZE, "totals": totals,
        "receivable_account": accounts.receivable(action.symbol, action.pay_date)})
    residue = NewEvent("residue_booked", {"amount": rounding, "reason": "received - sum of gross entitlements: "
                                          "sub-cent remainders, issuer wallets' tokens, shares beyond tokens"},
                       postings=_move(accounts.receivable(action.symbol, action.pay_date),
                                      accounts.residue(action.symbol), action.currency, rounding))
    return [created, *entitled, residue]


def _stablecoins(currency: str, networks: Iterable[str]) -> dict[str, dict]:
    configured = {}
    for network in sorted(networks):
        coin = settings.DIVIDEND_STABLECOINS.get(network)
        if not coin or network not in settings.DIVIDEND_DISPERSERS:
            raise PayoutNotConfigured(f"no stablecoin or Disperser configured for network {network} "
                                      "(DIVIDEND_STABLECOINS, DIVIDEND_DISPERSERS)")
        if coin.get("currency", "USD") != currency:
            raise PayoutNotConfigured(f"the stablecoin on {network} pays {coin.get('currency', 'USD')}, not {currency}")
        configured[network] = {"address": coin["address"], "symbol": coin["symbol"], "decimals": int(coin["decimals"]),
                               "disperser": settings.DIVIDEND_DISPERSERS[network]}
    return configured


def _token_targets(networks: list[dict]) -> dict[str, dict]:
    """The token contract each network's mints go to, with what turns base units into shares."""
    return {network["network"]: {"address": network["token_address"], "decimals": network["decimals"],
                                 "tokens_per_share": network["tokens_per_share"]} for network in networks}


def _entitlement_postings(action: CorporateAction, e: Entitlement) -> list[Posting]:
    symbol, currency, holding = action.symbol, action.currency, e.holding
    receivable = accounts.receivable(symbol, action.pay_date)
    carried = accounts.carried(symbol, holding.network, holding.address)
    legs = [*_move(receivable, accounts.tax_withheld(settings.DIVIDEND_WITHHOLDING_COUNTRY), currency, e.tax),
            *_move(receivable, accounts.fees(symbol, action.id), currency, e.fee)]
    if e.outcome == PAY:
        legs += _split_receivable(receivable, currency, e.net, [
            (accounts.payable(symbol, action.id), e.paid), (accounts.residue(symbol), e.reinvest_remainder)],
            carried, e.carried_in_released)
    elif e.outcome == CARRY:
        legs += _move(receivable, carried, currency, e.net)
    elif e.outcome == FORFEIT:
        legs += _split_receivable(receivable, currency, e.net, [(accounts.forfeited(symbol, action.id), e.forfeited)],
                                  carried, e.carried_in_released)
    return legs


def _split_receivable(receivable: str, currency: str, net: Decimal, credits: list[tuple[str, Decimal]],
                      carried: str, carried_in: Decimal) -> list[Posting]:
    """net leaves the receivable and carried_in leaves the holder's carried account; together they fund
    `credits` (which sum to net + carried_in)."""
    legs = [Posting(receivable, currency, net)] if net else []
    if carried_in:
        legs.append(Posting(carried, currency, carried_in))
    legs += [Posting(account, currency, -amount) for account, amount in credits if amount]
    return legs


# --- splits ---

def create_split_mint_run(action: CorporateAction, snapshot_payload: dict[str, Any], *,
                          paused_instrument: bool) -> list[NewEvent]:
    """The events of a split's mint run (appended by splits.apply_split together with split_applied): each
    holder gets floor(balance x (new - old) / old) base units; the sub-unit remainder (below 10^-decimals
    token per holder) is minted to nobody and stays in corporate-actions:<id>:<SYM> as the split's residue."""
    ratio = EXACT.divide(action.new_rate - action.old_rate, action.old_rate)
    lines, batch_counters = [], defaultdict(int)
    minted_shares = Decimal(0)
    line_no = 0
    for network in snapshot_payload["networks"]:
        for address, units in network["holders"]:
            line_no += 1
            mint_units = int(EXACT.multiply(Decimal(units), ratio).to_integral_value(rounding="ROUND_DOWN"))
            shares = normalize_decimal(EXACT.divide(EXACT.divide(Decimal(mint_units), Decimal(10) ** network["decimals"]),
                                                    Decimal(network["tokens_per_share"])))
            batch_no = None
            if mint_units:
                batch_no = batch_counters[network["network"]] // settings.DIVIDEND_BATCH_SIZE + 1
                batch_counters[network["network"]] += 1
                minted_shares += shares
            lines.append(NewEvent("holder_entitled", {
                "line_no": line_no, "network": network["network"], "address": address, "balance_units": units,
                "shares": normalize_decimal(EXACT.divide(EXACT.divide(Decimal(units), Decimal(10) ** network["decimals"]),
                                                         Decimal(network["tokens_per_share"]))),
                "outcome": PAY if mint_units else "none", "amount": shares, "units": str(mint_units),
                "batch_no": batch_no}))
    created = NewEvent("payout_run_created", {
        "action_id": action.id, "kind": Kind.SPLIT_MINT, "symbol": action.symbol, "old_rate": action.old_rate,
        "new_rate": action.new_rate, "snapshot_sha256": snapshot_payload["holders_sha256"],
        "targets": _token_targets(snapshot_payload["networks"]),
        "batch_size": settings.DIVIDEND_BATCH_SIZE, "paused_instrument": paused_instrument,
        "totals": {"minted_shares": normalize_decimal(minted_shares), "holders": line_no,
                   "holders_paid": sum(batch_counters.values())}})
    return [created, *lines]


# --- approval, reinvest shares ---

def approve_run(run_id: str, approver: str) -> PayoutRun:
    """A person other than the run's creator approves it; only then is anything paid or minted."""
    run = get_run(run_id)
    if run.status != PayoutRun.Status.CREATED:
        raise RunStateConflict(f"payout run {run_id} is {run.status}, not waiting for approval")
    if not approver.startswith("user:"):
        raise ApprovalByPersonRequired(f"payout run {run_id} needs a person's approval, not {approver}")
    if approver == run.created_by:
        raise SelfApproval(f"{approver} created payout run {run_id} and cannot also approve it")
    try:
        store.append(streams.PAYOUT_RUN, run_id, [NewEvent("payout_run_approved", {"approved_by": approver})],
                     metadata={"actor": approver}, expected_version=run.stream_version)
    except ConcurrencyError:
        raise RunStateConflict(f"payout run {run_id} changed meanwhile; look again") from None
    return get_run(run_id)


def secure_reinvest_shares(run_id: str, *, custody_account: str, actor: str, via: str = "broker",
                           reference: str = "") -> PayoutRun:
    """Put the shares behind a reinvest run's new tokens in custody before anything is minted.

    via="broker": buy them through custody (place_order_for_request, idempotent for this run; call again while
    the order is open). Custody books the fill (custody +Q / market -Q); this event assigns the bought shares
    to the dividend: market:<account>:<SYM> +Q, corporate-actions:<id>:<SYM> -Q.
    via="custodian": a statement custodian bought them (reference: its confirmation):
    custody:<account>:<SYM> +Q, corporate-actions:<id>:<SYM> -Q.
    Each minted holder later posts chain:<network>:<SYM>:supply -shares, corporate-actions:<id>:<SYM> +shares,
    so the action's account returns to zero and custody equals tokens outstanding.
    """
    from custody.services import get_custody_account, place_order_for_request

    run = get_run(run_id)
    if run.kind != Kind.REINVEST:
        raise RunStateConflict(f"payout run {run_id} is a {run.kind}; only reinvest runs buy shares")
    if run.status == PayoutRun.Status.CREATED:
        raise RunStateConflict(f"payout run {run_id} is not approved yet")
    if run.shares_secured:
        return run
    shares = Decimal(run.totals["reinvest_shares"])
    account = get_custody_account(custody_account)
    if via == "broker":
        outcome = place_order_for_request(f"{run_id}-shares", run.symbol, shares, "buy", account.name,
                                          actor=streams.SYSTEM_ACTOR)
        if not outcome.filled:
            raise ReinvestSharesNotSecured(f"broker order {outcome.broker_order_id} for {shares} {run.symbol} is "
                                           f"{outcome.status}; call again once it is filled")
        source, reference = accounts.market(account.name, run.symbol), outcome.broker_order_id
    elif via == "custodian":
        if account.kind != account.Kind.STATEMENT:
            raise RunStateConflict(f"{account.name} is an Alpaca account: buy through the broker (via=broker)")
        source = accounts.custody_shares(account.name, run.symbol)
    else:
        raise RunStateConflict(f"shares are secured via broker or custodian, not {via!r}")
    event = NewEvent("reinvest_shares_secured", {"via": via, "custody_account": account.name, "qty_shares": shares,
                                                 "reference": reference},
                     postings=_move(source, accounts.corporate_action(run.action_id, run.symbol), run.symbol, shares))
    store.append(streams.PAYOUT_RUN, run_id, [event], metadata={"actor": actor}, expected_version=run.stream_version)
    return get_run(run_id)


def pay_lines(run: PayoutRun):
    return PayoutLine.objects.filter(run=run, outcome=PayoutLine.Outcome.PAY)
