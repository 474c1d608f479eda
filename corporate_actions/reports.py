"""What corporate actions tell the rest of the system: per-dividend reports (CSV), dividend breaks for
reconciliation, a partner's entitlements for the API, and which mints are ours for the chain watcher."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from custody.services import shares_in_custody
from ledger.balances import balance, balances_with_prefix
from ledger.canonical import EXACT, normalize_decimal
from partners.addresses import checksum_address

from . import ledger_accounts as accounts
from .announcements import get_action
from .models import CorporateAction, PayoutLine, PayoutRun, PayoutTx
from .runs import dividend_run_id, get_run
from .snapshots import record_date_cutoff

LINE_COLUMNS = ("line_no", "network", "address", "balance_units", "shares", "tax_category", "tax_rate", "gross",
                "tax", "fee", "carried_in", "net", "outcome", "amount", "units", "paid", "tx_hash")


# --- per dividend ---

def broker_dividend_activity(action: CorporateAction) -> Decimal:
    """Cash the custody sync booked from the broker's DIV activities into this dividend's receivable."""
    return _receivable_inflow(action, "custody_account")


def _receivable_inflow(action: CorporateAction, stream_type: str) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(-p.amount), 0) FROM ledger_posting p JOIN ledger_event e ON e.position = p.event_position"
            " WHERE p.account = %s AND p.asset = %s AND e.stream_type = %s",
            [accounts.receivable(action.symbol, action.pay_date), action.currency, stream_type])
        return normalize_decimal(cursor.fetchone()[0])


def dividend_summary(action_id: str) -> dict[str, object]:
    """The dividend's totals, checked: what the broker paid, what holders got, and the exact identity."""
    action = get_action(action_id)
    run = get_run(dividend_run_id(action_id))
    totals = {name: Decimal(value) for name, value in run.totals.items()
              if name not in ("tax_by_category", "holders", "holders_paid")}
    paid_lines = PayoutLine.objects.filter(run=run, paid=True)
    paid_on_chain = sum((line.amount for line in paid_lines), Decimal(0))
    broker = broker_dividend_activity(action)
    by_ops = _receivable_inflow(action, "corporate_action")
    left = totals["paid"] + totals["tax"] + totals["fees"] + totals["carried_forward"] + totals["forfeited"] \
        + totals["residue"]
    return {
        "action_id": action.id, "symbol": action.symbol, "isin": action.isin, "record_date": action.record_date,
        "pay_date": action.pay_date, "rate": action.rate, "currency": action.currency, "run_id": run.id,
        "run_kind": run.kind, "run_status": run.status, "approved_by": run.approved_by,
        "snapshot_sha256": action.snapshot.holders_sha256, "holders": run.totals["holders"],
        "holders_paid_now": run.totals["holders_paid"], "broker_dividend_activity": broker,
        "received_recorded_by_ops": by_ops, **totals,
        "received_matches_cash_booked": totals["received"] == broker + by_ops,
        "identity_holds": left == totals["received"] + totals["carried_in_released"],
        "paid_on_chain": normalize_decimal(paid_on_chain), "holders_paid_on_chain": paid_lines.count(),
        "payable_outstanding": normalize_decimal(-balance(accounts.payable(action.symbol, action.id), action.currency)),
    }


def render_dividend_csv(action_id: str) -> str:
    """Summary (name,value rows), a blank row, then one row per holder; amounts as exact decimal strings."""
    summary = dividend_summary(action_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "value"])
    for name, value in summary.items():
        writer.writerow([name, _text(value)])
    writer.writerow([])
    writer.writerow(LINE_COLUMNS)
    for line in PayoutLine.objects.filter(run_id=summary["run_id"]).order_by("line_no").iterator(chunk_size=2000):
        writer.writerow([_text(getattr(line, column)) for column in LINE_COLUMNS])
    return out.getvalue()


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(normalize_decimal(value), "f")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else str(value)


# --- for reconciliation ---

@dataclass(frozen=True)
class DividendBreak:
    kind: str  # received_not_distributed | distributed_not_received | payable_outstanding | not_received
    #            | received_without_announcement
    symbol: str
    action_id: str | None
    pay_date: date
    account: str
    currency: str
    amount: Decimal
    detail: str


def undistributed_dividends(as_of: date | None = None) -> list[DividendBreak]:
    """Dividends whose pay date is on or before `as_of` (default today) and whose cash and payments disagree:
    cash received but not (or not all) allocated to holders; more allocated than received; allocated but not
    yet paid on chain; nothing received at all; and cash received for a pay date no announcement names."""
    today = as_of or timezone.localdate()
    breaks: list[DividendBreak] = []
    announced: set[str] = set()
    dividends = CorporateAction.objects.filter(kind=CorporateAction.Kind.CASH_DIVIDEND).exclude(
        status=CorporateAction.Status.CANCELLED)
    for action in dividends:
        receivable = accounts.receivable(action.symbol, action.pay_date)
        announced.add(receivable)
        if action.pay_date > today:
            continue
        open_cash = balance(receivable, action.currency)
        if open_cash < 0:
            breaks.append(DividendBreak("received_not_distributed", action.symbol, action.id, action.pay_date, receivable,
                                        action.currency, -open_cash, "cash received and not allocated to holders"))
        elif open_cash > 0:
            breaks.append(DividendBreak("distributed_not_received", action.symbol, action.id, action.pay_date, receivable,
                                        action.currency, open_cash, "more allocated to holders than was received"))
        elif not _ever_posted(receivable, action.currency):
            expected = EXACT.multiply(shares_in_custody(action.symbol, as_of=record_date_cutoff(action.record_date)),
                                      action.rate)
            breaks.append(DividendBreak("not_received", action.symbol, action.id, action.pay_date, receivable,
                                        action.currency, normalize_decimal(expected),
                                        "pay date passed and no dividend cash booked (amount: shares held at the "
                                        "record date x rate)"))
        payable = balance(accounts.payable(action.symbol, action.id), action.currency)
        if payable:
            breaks.append(DividendBreak("payable_outstanding", action.symbol, action.id, action.pay_date,
                                        accounts.payable(action.symbol, action.id), action.currency, -payable,
                                        "allocated to holders and not yet paid on chain"))
    for (account, currency), amount in balances_with_prefix("dividends:receivable:").items():
        parts = account.split(":")
        if account in announced or len(parts) != 4:
            continue
        try:
            pay_date = date.fromisoformat(parts[3])
        except ValueError:
            pay_date = today
        breaks.append(DividendBreak("received_without_announcement", parts[2], None, pay_date, account, currency,
                                    -amount, "dividend cash for a pay date no announced dividend has"))
    return breaks


def _ever_posted(account: str, asset: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM ledger_posting WHERE account = %s AND asset = %s)", [account, asset])
        return cursor.fetchone()[0]


# --- for the partner API ---

@dataclass(frozen=True)
class WalletEntitlement:
    action_id: str
    run_id: str
    kind: str  # dividend_airdrop | dividend_reinvest | split_mint
    symbol: str
    network: str
    address: str
    record_date: date | None
    pay_date: date | None
    currency: str
    balance_units: Decimal
    shares: Decimal
    tax_category: str
    tax_rate: Decimal | None
    gross: Decimal | None
    tax: Decimal | None
    fee: Decimal | None
    net: Decimal | None
    outcome: str  # pay | carry | forfeit | none
    amount: Decimal  # cash value delivered (or shares minted for a split)
    units: Decimal  # stablecoin or token base units sent
    status: str  # awaiting_approval | approved | paid | carried | forfeited | none
    tx_hash: str
    paid_at: datetime | None


def entitlements_for_wallets(addresses: list[str]) -> list[WalletEntitlement]:
    """Every dividend and split entitlement of these wallets, newest run first."""
    wallets = [checksum_address(address) for address in addresses]
    lines = (PayoutLine.objects.filter(address__in=wallets).select_related("run", "run__action")
             .order_by("-run__created_at", "network", "address"))
    return [_entitlement(line) for line in lines]


def _entitlement(line: PayoutLine) -> WalletEntitlement:
    run, action = line.run, line.run.action
    if line.outcome == PayoutLine.Outcome.PAY:
        status = "paid" if line.paid else ("awaiting_approval" if run.status == PayoutRun.Status.CREATED else "approved")
    else:
        status = {"carry": "carried", "forfeit": "forfeited"}.get(line.outcome, "none")
    return WalletEntitlement(
        action_id=action.id, run_id=run.id, kind=run.kind, symbol=run.symbol, network=line.network,
        address=line.address, record_date=action.record_date or action.effective_date, pay_date=action.pay_date,
        currency=run.currency, balance_units=line.balance_units, shares=line.shares, tax_category=line.tax_category,
        tax_rate=line.tax_rate, gross=line.gross, tax=line.tax, fee=line.fee, net=line.net, outcome=line.outcome,
        amount=line.amount, units=line.units, status=status, tx_hash=line.tx_hash, paid_at=line.paid_at)


# --- for the chain watcher ---

def explained_mint_tx_hashes(network: str, tx_hashes: set[str]) -> set[str]:
    """Which of these transactions are reinvest or split mints of ours (so they are not unexplained mints)."""
    return set(PayoutTx.objects.filter(network=network, kind="mint", tx_hash__in=list(tx_hashes))
               .values_list("tx_hash", flat=True))

