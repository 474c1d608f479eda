"""Cash dividends before the payout run: the record-date snapshot, and the cash of custodians that send no
activity feed.

Cash at an Alpaca custody account arrives as the broker's DIV activity, which the custody sync books
(custody:<account>:cash:USD +n, dividends:receivable:<SYM>:<pay date> -n). A statement custodian reports it on
paper: operations record it here, with the same postings, so every dividend's cash sits in the same
receivable whichever custodian paid it.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledger import store
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, Posting

from . import ledger_accounts as accounts
from . import streams
from .announcements import get_action
from .errors import ActionStateConflict, BrokerBooksDividends, InvalidAnnouncement
from .models import CorporateAction, HolderSnapshot
from .snapshots import record_date_cutoff, take_snapshot

Status = CorporateAction.Status


def snapshot_holders(action_id: str, *, actor: str) -> HolderSnapshot:
    """Record who held the tokens at the end of the dividend's record date, on every network (see
    corporate_actions.snapshots). Allowed until the payout run exists; RecordDateNotClosed before the day ends;
    SplitNotApplied, with nothing recorded, while a split effective on or before the record date is not applied
    (apply it, then snapshot again)."""
    action = get_action(action_id)
    if action.kind != CorporateAction.Kind.CASH_DIVIDEND:
        raise ActionStateConflict(f"{action_id} is a {action.kind}; splits are snapshotted when applied")
    if action.status not in (Status.ANNOUNCED, Status.SNAPSHOTTED):
        raise ActionStateConflict(f"dividend {action_id} is {action.status}; its holders are final")
    try:
        take_snapshot(action, record_date_cutoff(action.record_date), exclude_issuer_wallets=True, actor=actor)
    except ConcurrencyError:
        raise ActionStateConflict(f"dividend {action_id} was snapshotted by someone else meanwhile") from None
    return HolderSnapshot.objects.get(action_id=action_id)


def record_dividend_received(action_id: str, *, custody_account: str, amount: Decimal | str, actor: str,
                             reference: str = "") -> CorporateAction:
    """Book a statement custodian's dividend payment: custody:<account>:cash:<CCY> +amount,
    dividends:receivable:<SYM>:<pay date> -amount."""
    from custody.services import get_custody_account

    action = get_action(action_id)
    if action.kind != CorporateAction.Kind.CASH_DIVIDEND or action.status == Status.CANCELLED:
        raise ActionStateConflict(f"{action_id} is not a live cash dividend")
    account = get_custody_account(custody_account)
    if account.kind == account.Kind.ALPACA:
        raise BrokerBooksDividends(f"{account.name} is an Alpaca account: its dividends come from the broker's "
                                   "DIV activities (sync custody)")
    cash = _amount(amount)
    receivable = accounts.receivable(action.symbol, action.pay_date)
    event = NewEvent("dividend_cash_recorded", {
        "custody_account": account.name, "amount": cash, "currency": action.currency, "reference": reference,
        "receivable_account": receivable},
        postings=[Posting(accounts.custody_cash(account.name, action.currency), action.currency, cash),
                  Posting(receivable, action.currency, -cash)])
    try:
        store.append(streams.CORPORATE_ACTION, action.id, [event], metadata={"actor": actor},
                     expected_version=action.stream_version)
    except ConcurrencyError:
        raise ActionStateConflict(f"corporate action {action_id} changed meanwhile; retry") from None
    return get_action(action_id)


def _amount(value: object) -> Decimal:
    if isinstance(value, (float, bool)):
        raise InvalidAnnouncement(f"amount must be a decimal string, not a {type(value).__name__}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidAnnouncement(f"amount {value!r} is not a decimal number") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidAnnouncement(f"amount must be a positive amount in whole cents, got {value!r}")
    return amount
