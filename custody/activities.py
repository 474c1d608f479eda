"""One Alpaca account activity -> one ledger event with postings per docs/chart-of-accounts.md.

| activity | event | postings (qty q, price p, net_amount n) |
|---|---|---|
| FILL buy | shares_bought | custody:<a>:<SYM> +q, market:<a>:<SYM> -q; custody:<a>:cash:USD -c, market:<a>:USD +q*p, broker:<a>:rounding:USD +(c - q*p) |
| FILL sell | shares_sold | the same with the signs reversed |
| JNLS | shares_journaled | custody:<a>:<SYM> +q (q<0: shares out) against partner:<id>:pending-mint:<SYM> (q>0) or partner:<id>:pending-redeem:<SYM> (q<0) when a journal matcher names the partner, else the clearing account suspense:unmatched-journal:<a>:<SYM> (q>0) or suspense:outgoing-journal:<a>:<SYM> (q<0); cash it moves against partner:<id>:cash:USD or suspense:unmatched-journal:<a>:USD |
| JNLC | cash_journaled | custody:<a>:cash:USD +n against partner:<id>:cash:USD or suspense:unmatched-journal:<a>:USD |
| DIV, DIV* | dividend_received | custody:<a>:cash:USD +n, dividends:receivable:<SYM>:<pay date> -n (withholding DIVNRA/DIVWH: n<0 on the same account) |
| FEE | fee_charged | custody:<a>:cash:USD +n (n<0), broker:<a>:fees:USD -n |
| SPLIT | split_booked | custody:<a>:<SYM> +q (q = change in shares), corporate-actions:split-<date>:<SYM> -q |
| anything else | broker_activity_unclassified | shares and cash it moves against suspense:broker-activity:<a>:<asset> |

A FILL carries no cash amount (Alpaca's TradeActivity has no net_amount), so its cash c is q*p settled to the
cent (half up), as the broker settles it; the sub-cent rest goes to the rounding account (q*p with more than
the ledger's 18 decimal places is posted rounded to 18 there, and kept exact in the payload).

Cash that an activity moves beyond its rule (say a JNLS with a net_amount) also goes against that same
suspense account, so the ledger's cash always follows the broker's and every oddity stays visible.
Alpaca US accounts hold USD only; activities carry no currency.

The payload keeps the broker's activity as received (`broker_activity`, floats turned into decimals), plus
the fields the postings were derived from. The event is a pure function of the activity and of what the
journal matchers answer, so recording it twice under the same idempotency key replays the first.

Times: a FILL takes effect at its transaction_time; other activities carry only a date (alpaca-py's
NonTradeActivity has no time field) and take effect at the start of that day in New York, so the ledger holds
them from 00:00 although the broker made them at some unknown time that day. Their events are
DATED_EVENT_TYPES: a positions observation taken that same day cannot tell whether it shows them
(custody.positions.share_activities_unseen_by says which a point-in-time comparison must not trust).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ledger.canonical import AMOUNT_MAX_SCALE, EXACT
from ledger.store import NewEvent, Posting

from . import ledger_accounts as accounts
from .errors import ActivityNotBookable

CURRENCY = "USD"
CENT = Decimal("0.01")
NEW_YORK = ZoneInfo("America/New_York")
PARTNER_ID_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MAX_SAFE_INTEGER = 2**53 - 1
BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")
# Events of activities that Alpaca dates without a time: effective at the start of their New York day.
DATED_EVENT_TYPES = frozenset({"shares_journaled", "cash_journaled", "dividend_received", "fee_charged",
                               "split_booked", "broker_activity_unclassified"})


@dataclass(frozen=True)
class BrokerJournal:
    """A JNLS (shares) or JNLC (cash) journal as the matchers see it. Quantities are signed: positive into
    our account, negative out of it."""

    account: str
    activity_id: str
    activity_type: str
    symbol: str | None
    qty: Decimal | None
    net_amount: Decimal
    description: str
    on_date: date | None


@dataclass(frozen=True)
class JournalMatch:
    """The partner a journal belongs to, and the request it serves when known."""

    partner_id: str
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not PARTNER_ID_RE.match(self.partner_id):
            raise ValueError(f"partner id {self.partner_id!r} cannot name a ledger account")


JournalMatcher = Callable[[BrokerJournal], "JournalMatch | None"]
_journal_matchers: list[JournalMatcher] = []


def register_journal_matcher(matcher: JournalMatcher) -> None:
    """Let another app (issuance) say which partner a journal belongs to, e.g. from the tokenization request
    id in its description. Matchers are asked in registration order; the first answer wins. A matcher that
    raises stops the sync before that journal (nothing recorded), and the next sync asks again."""
    if matcher not in _journal_matchers:
        _journal_matchers.append(matcher)


def unregister_journal_matcher(matcher: JournalMatcher) -> None:
    if matcher in _journal_matchers:
        _journal_matchers.remove(matcher)


def match_journal(journal: BrokerJournal) -> JournalMatch | None:
    for matcher in _journal_matchers:
        match = matcher(journal)
        if match is not None:
            return match
    return None


def activity_event(account: str, activity: dict[str, Any]) -> NewEvent:
    """The event recording `activity` of custody account `account`; ActivityNotBookable if it cannot be read."""
    if not isinstance(activity, dict) or not isinstance(activity.get("id"), str) or not activity["id"]:
        raise ActivityNotBookable(f"{account}: a broker activity without an id: {str(activity)[:200]}")
    reading = _Reading(account, activity)
    kind = str(activity.get("activity_type") or "")
    if kind == "FILL":
        return reading.fill()
    if kind == "JNLS":
        return reading.share_journal()
    if kind == "JNLC":
        return reading.cash_journal()
    if kind.startswith("DIV"):
        return reading.dividend()
    if kind == "FEE":
        return reading.fee()
    if kind == "SPLIT":
        return reading.split()
    return reading.unclassified()


class _Reading:
    """Reads the fields of one activity, refusing it by name when a field is missing or malformed."""

    def __init__(self, account: str, activity: dict[str, Any]):
        self.account = account
        self.activity = activity
        self.activity_id = activity["id"]
        self.kind = str(activity.get("activity_type") or "")

    # --- one method per rule in the table above ---

    def fill(self) -> NewEvent:
        symbol, qty, price = self.symbol(), self.decimal("qty"), self.decimal("price")
        side = str(self.activity.get("side") or "")
        if qty <= 0 or price <= 0 or side not in ("buy", "sell", "sell_short"):
            self.refuse(f"a fill needs qty > 0, price > 0 and side buy or sell (got {qty}, {price}, {side!r})")
        bought = side == "buy"
        shares = qty if bought else -qty
        notional = EXACT.multiply(qty, price)
        settled = notional.quantize(CENT, ROUND_HALF_UP, context=EXACT)
        trade_value = _at_ledger_scale(notional)
        cash_in = -1 if bought else 1
        legs = [
            *_pair(accounts.custody_shares(self.account, symbol), accounts.market(self.account, symbol), symbol, shares),
            *(Posting(account, CURRENCY, cash_in * amount) for account, amount in (
                (accounts.custody_cash(self.account, CURRENCY), settled),
                (accounts.market(self.account, CURRENCY), -trade_value),
                (accounts.broker_rounding(self.account, CURRENCY), trade_value - settled)) if amount != 0),
        ]
        details = {"symbol": symbol, "side": side, "qty": qty, "price": price, "notional": notional,
                   "settled_amount": settled, "order_id": str(self.activity.get("order_id") or "")}
        return self.event("shares_bought" if bought else "shares_sold", details, legs, self.transaction_time())

    def share_journal(self) -> NewEvent:
        symbol, qty, net_amount = self.symbol(), self.decimal("qty"), self.net_amount()
        if qty == 0:
            self.refuse("a share journal of 0 shares")
        match = match_journal(self.journal(symbol, qty, net_amount))
        if match is None:
            clearing = accounts.unmatched_journal if qty > 0 else accounts.outgoing_journal
            counterparty, cash_counterparty = (clearing(self.account, symbol),
                                               accounts.unmatched_journal(self.account, CURRENCY))
        else:
            pending = accounts.partner_pending_mint if qty > 0 else accounts.partner_pending_redeem
            counterparty = pending(match.partner_id, symbol)
            cash_counterparty = accounts.partner_cash(match.partner_id, CURRENCY)
        legs = [*_pair(accounts.custody_shares(self.account, symbol), counterparty, symbol, qty),
                *_pair(accounts.custody_cash(self.account, CURRENCY), cash_counterparty, CURRENCY, net_amount)]
        return self.event("shares_journaled", {"symbol": symbol, "qty": qty, **self.journal_details(match)}, legs,
                          self.day_start())

    def cash_journal(self) -> NewEvent:
        net_amount = self.net_amount()
        match = match_journal(self.journal(None, None, net_amount))
        counterparty = (accounts.partner_cash(match.partner_id, CURRENCY) if match
                        else accounts.unmatched_journal(self.account, CURRENCY))
        legs = _pair(accounts.custody_cash(self.account, CURRENCY), counterparty, CURRENCY, net_amount)
        return self.event("cash_journaled", {"net_amount": net_amount, **self.journal_details(match)}, legs,
                          self.day_start())

    def dividend(self) -> NewEvent:
        symbol, net_amount, paid_on = self.symbol(), self.net_amount(), self.on_date(required=True)
        legs = _pair(accounts.custody_cash(self.account, CURRENCY), accounts.dividends_receivable(symbol, paid_on),
                     CURRENCY, net_amount)
        details = {"symbol": symbol, "net_amount": net_amount, "paid_on": paid_on.isoformat(),
                   "per_share_amount": self.optional_decimal("per_share_amount"),
                   "qty": self.optional_decimal("qty")}
        return self.event("dividend_received", details, legs, self.day_start())

    def fee(self) -> NewEvent:
        net_amount = self.net_amount()
        legs = _pair(accounts.custody_cash(self.account, CURRENCY), accounts.broker_fees(self.account, CURRENCY),
                     CURRENCY, net_amount)
        return self.event("fee_charged", {"net_amount": net_amount,
                                          "description": str(self.activity.get("description") or "")},
                          legs, self.day_start())

    def split(self) -> NewEvent:
        symbol, qty, booked_on = self.symbol(), self.decimal("qty"), self.on_date(required=True)
        legs = [*_pair(accounts.custody_shares(self.account, symbol), accounts.split_counterparty(symbol, booked_on),
                       symbol, qty),
                *self.leftover_cash()]
        details = {"symbol": symbol, "qty": qty, "description": str(self.activity.get("description") or "")}
        return self.event("split_booked", details, legs, self.day_start())

    def unclassified(self) -> NewEvent:
        legs = list(self.leftover_cash())
        qty = self.optional_decimal("qty")
        details: dict[str, Any] = {"net_amount": self.net_amount()}
        if qty:
            symbol = self.symbol()
            legs += _pair(accounts.custody_shares(self.account, symbol),
                          accounts.unclassified_activity(self.account, symbol), symbol, qty)
            details.update(symbol=symbol, qty=qty)
        return self.event("broker_activity_unclassified", details, legs, self.day_start())

    # --- shared pieces ---

    def event(self, event_type: str, details: dict[str, Any], legs: list[Posting],
              effective_at: datetime | None) -> NewEvent:
        payload = {"activity_id": self.activity_id, "activity_type": self.kind, **details,
                   "broker_activity": json_safe(self.activity)}
        return NewEvent(event_type, payload, legs, effective_at=effective_at)

    def leftover_cash(self) -> list[Posting]:
        return _pair(accounts.custody_cash(self.account, CURRENCY),
                     accounts.unclassified_activity(self.account, CURRENCY), CURRENCY, self.net_amount())

    def journal(self, symbol: str | None, qty: Decimal | None, net_amount: Decimal) -> BrokerJournal:
        return BrokerJournal(self.account, self.activity_id, self.kind, symbol, qty, net_amount,
                             str(self.activity.get("description") or ""), self.on_date(required=False))

    def journal_details(self, match: JournalMatch | None) -> dict[str, Any]:
        return {"description": str(self.activity.get("description") or ""), "matched": match is not None,
                "partner_id": match.partner_id if match else None, "request_id": match.request_id if match else None}

    def symbol(self) -> str:
        symbol = self.activity.get("symbol")
        if not isinstance(symbol, str) or not re.fullmatch(r"[A-Z0-9][A-Z0-9.\-]{0,15}", symbol):
            self.refuse(f"symbol {symbol!r} is missing or malformed")
        return symbol

    def decimal(self, field: str) -> Decimal:
        value = self.optional_decimal(field)
        if value is None:
            self.refuse(f"{field} is missing")
        return value

    def optional_decimal(self, field: str) -> Decimal | None:
        value = self.activity.get(field)
        if value is None or value == "":
            return None
        try:
            number = Decimal(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.refuse(f"{field} {value!r} is not a decimal number")
        return number

    def net_amount(self) -> Decimal:
        return self.optional_decimal("net_amount") or Decimal(0)

    def on_date(self, *, required: bool) -> date | None:
        value = self.activity.get("date")
        if value is None and not required:
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            self.refuse(f"date {value!r} is not a date")

    def day_start(self) -> datetime | None:
        on_date = self.on_date(required=False)
        return new_york_day_start(on_date) if on_date else None

    def transaction_time(self) -> datetime:
        value = self.activity.get("transaction_time")
        moment = parse_broker_timestamp(value)
        if moment is None:
            self.refuse(f"transaction_time {value!r} is not a timestamp with a time zone")
        return moment

    def refuse(self, reason: str):
        raise ActivityNotBookable(f"{self.account}: broker activity {self.activity_id} ({self.kind}): {reason}")


def new_york_day_start(on_date: date) -> datetime:
    """Where an activity dated `on_date` without a time takes effect: the start of that day in New York."""
    return datetime.combine(on_date, time(0), NEW_YORK)


def parse_broker_timestamp(value: object) -> datetime | None:
    """An RFC 3339 timestamp with a time zone; Alpaca may send nanoseconds, which Python cannot hold, so
    digits beyond microseconds are dropped. None if it is not such a timestamp."""
    if not isinstance(value, str):
        return None
    text = BEYOND_MICROSECONDS.sub(r"\1", value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _at_ledger_scale(amount: Decimal) -> Decimal:
    """`amount` rounded to the 18 decimal places a posting holds; unchanged when it has no more."""
    if -amount.as_tuple().exponent <= AMOUNT_MAX_SCALE:
        return amount
    return amount.quantize(Decimal(1).scaleb(-AMOUNT_MAX_SCALE), ROUND_HALF_EVEN, context=EXACT)


def _pair(account: str, counterparty: str, asset: str, amount: Decimal) -> list[Posting]:
    """`amount` into `account` and out of `counterparty`; nothing when it is zero (zero legs are refused)."""
    if amount == 0:
        return []
    return [Posting(account, asset, amount), Posting(counterparty, asset, -amount)]


def json_safe(value: Any) -> Any:
    """The broker's JSON as the ledger accepts it: floats (never sent by Alpaca for amounts, but possible in
    other fields) become the Decimal of their shortest repr, integers beyond 2**53 become strings."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return str(value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value
