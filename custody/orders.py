"""Orders issuance needs at the broker (buy shares for a mint, sell them for a cash redemption), placed so
that a retry can never trade twice.

The client order id is derived from our request id (`sl-` + the first 40 hex digits of its SHA-256), so
every attempt for one request carries the same id and the broker itself refuses a second order with it.
When the answer to a submission is lost (timeout, dropped connection, 5xx), we look the order up by its
client order id before trying again; a 422 "client_order_id must be unique" means an earlier attempt got
through, and we fetch that order.

An order that ends canceled or expired short of its quantity (cancelled at the broker, a day order that
expired after a partial fill) would leave the request waiting forever: its fills are booked and the rest is
ordered under the derived request id `<request id>#2` (then `#3`...), each with its own client order id, so
the follow-ups are as idempotent as the first order. A rejected order is not followed up: the same order
would be rejected again, and a person has to look.

Events on `custody_account/<account>` (no postings: the FILL activities carry the shares and cash):
`order_submitted` (once per order, key `alpaca:<account>:order:<broker id>:submitted`) and, once the broker
reports a final status, `order_filled` or `order_closed` (key `alpaca:<account>:order:<broker id>:<status>`).
Orders placed outside shareledger are not tracked here; their fills still reach the ledger as activities.
"""
from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderType, TimeInForce
from django.conf import settings

from ledger import store
from ledger.errors import IdempotencyConflict

from . import streams
from .activity_sync import SYNC_METADATA, sync_activities
from .broker import (
    RETRYABLE_STATUSES,
    TRANSIENT_FAILURES,
    DamagedAnswer,
    alpaca_client,
    backoff_seconds,
    broker_error_code,
    call_broker,
    is_not_found,
)
from .custody_accounts import get_custody_account
from .errors import BrokerRefused, BrokerUnavailable, InvalidOrder, OrderRequestMismatch, UnknownOrder
from .instruments import get_instrument
from .models import BrokerOrder, CustodyAccount

FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
FOLLOWED_UP_STATUSES = frozenset({"canceled", "expired"})  # ended short of filled; the rest is ordered again
DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"
SUBMITTED = "submitted"


@dataclass(frozen=True)
class OrderOutcome:
    """Where an order for a request stands at the broker. `newly_submitted` is False when this call found an
    order placed by an earlier attempt. When `status == "filled"`, the fills are already booked in the
    ledger (custody:<account>:<SYM> and cash)."""

    request_id: str
    account: str
    client_order_id: str
    broker_order_id: str
    symbol: str
    side: str
    qty: Decimal
    status: str
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    newly_submitted: bool

    @property
    def filled(self) -> bool:
        return self.status == "filled"

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def client_order_id_for(request_id: str) -> str:
    return "sl-" + hashlib.sha256(request_id.encode()).hexdigest()[:40]


def place_order_for_request(request_id: str, symbol: str, qty: Decimal, side: str, account: str | CustodyAccount,
                            *, actor: str = "system:custody") -> OrderOutcome:
    """Make sure `qty` is traded at the broker for this request, and report where its latest order stands.

    Safe to call again for the same request (after a crash, a timeout, or just to poll): it never submits a
    second order for the same quantity. An order that ended canceled or expired is followed by one for the
    rest (see the module docstring), at most one new order per call; `filled` then means the whole `qty`
    traded. The same request id with another symbol, side or qty is OrderRequestMismatch.
    """
    account = get_custody_account(account)
    symbol, qty, side = get_instrument(symbol).symbol, _positive_qty(qty), _side(side)
    remaining = qty
    for order_request_id in _order_request_ids(request_id):
        outcome = _one_order(order_request_id, symbol, remaining, side, account, actor)
        if outcome.newly_submitted or outcome.status not in FOLLOWED_UP_STATUSES or outcome.filled_qty >= remaining:
            return outcome
        remaining -= outcome.filled_qty


def _one_order(request_id: str, symbol: str, qty: Decimal, side: str, account: CustodyAccount,
               actor: str) -> OrderOutcome:
    """Exactly one market order at the broker for this (possibly derived) request id."""
    client_order_id = client_order_id_for(request_id)
    known = BrokerOrder.objects.filter(account_name=account.name, client_order_id=client_order_id).first()
    client = alpaca_client(account)
    if known is not None:
        _refuse_different(request_id, (known.symbol, known.side, known.qty), (symbol, side, qty))
        wire = call_broker(f"look up order {client_order_id}", lambda: _order_by_client_id(client, client_order_id))
        newly_submitted = False
    else:
        wire, newly_submitted = _submit_or_find(client, account, client_order_id, symbol, side, qty)
        _refuse_different(request_id, _wire_terms(wire), (symbol, side, qty))
        _record_submitted(account, request_id, wire, actor)
    return _settle(account, request_id, wire, newly_submitted)


def _order_request_ids(request_id: str) -> Iterator[str]:
    """The request's own id, then those of its follow-ups: `<request id>#2`, `#3`..."""
    yield request_id
    for follow_up in itertools.count(2):
        yield f"{request_id}#{follow_up}"


def refresh_order(request_id: str, account: str | CustodyAccount) -> OrderOutcome:
    """Ask the broker where the latest order for this request (its last follow-up, if any) stands now (records a
    final status when reached)."""
    account = get_custody_account(account)
    placed = set(BrokerOrder.objects.filter(account_name=account.name, request_id__startswith=request_id)
                 .values_list("client_order_id", flat=True))
    latest = None
    for order_request_id in _order_request_ids(request_id):
        if client_order_id_for(order_request_id) not in placed:
            break
        latest = order_request_id
    if latest is None:
        raise UnknownOrder(f"{account.name} has no order for request {request_id}")
    client_order_id = client_order_id_for(latest)
    client = alpaca_client(account)
    wire = call_broker(f"look up order {client_order_id}", lambda: _order_by_client_id(client, client_order_id))
    return _settle(account, latest, wire, newly_submitted=False)


def sync_orders(account: CustodyAccount) -> int:
    """Record final statuses of our orders still open at the broker; returns how many were recorded."""
    client = alpaca_client(account)
    recorded = 0
    for order in BrokerOrder.objects.filter(account_name=account.name).exclude(status__in=FINAL_STATUSES):
        wire = call_broker(f"look up order {order.client_order_id}",
                           lambda: _order_by_client_id(client, order.client_order_id))
        recorded += _record_final(account, order.request_id, wire)
    return recorded


def _settle(account: CustodyAccount, request_id: str, wire: dict, newly_submitted: bool) -> OrderOutcome:
    _record_final(account, request_id, wire)
    if wire["status"] in FINAL_STATUSES and Decimal(wire.get("filled_qty") or 0) > 0:
        sync_activities(account)  # so that a final outcome means its fills are in the ledger
    return OrderOutcome(request_id, account.name, wire["client_order_id"], wire["id"], wire["symbol"], wire["side"],
                        Decimal(wire["qty"]), wire["status"], Decimal(wire.get("filled_qty") or 0),
                        Decimal(wire["filled_avg_price"]) if wire.get("filled_avg_price") else None, newly_submitted)


def _submit_or_find(client, account: CustodyAccount, client_order_id: str, symbol: str, side: str,
                    qty: Decimal) -> tuple[dict, bool]:
    """Submit once; when the answer is lost, find the order by its client order id before submitting again."""
    # The fields of alpaca-py's MarketOrderRequest, except that it types qty as a float: Alpaca's API takes
    # the exact decimal string, so we post that through the same client.
    body = {"symbol": symbol, "qty": str(qty), "side": OrderSide(side).value, "type": OrderType.MARKET.value,
            "time_in_force": TimeInForce.DAY.value, "client_order_id": client_order_id}
    attempts = settings.CUSTODY_BROKER_MAX_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return _checked_order(client.post("/orders", body)), True
        except APIError as error:
            if error.status_code == 422 and DUPLICATE_CLIENT_ORDER_ID in str(error):
                return call_broker(f"look up order {client_order_id}",
                                   lambda: _order_by_client_id(client, client_order_id)), False
            if error.status_code not in RETRYABLE_STATUSES:
                raise BrokerRefused(f"{account.name}: the broker refused order {client_order_id} with HTTP "
                                    f"{error.status_code}: {str(error)[:200]}", error.status_code or 0,
                                    broker_error_code(error)) from error
            failure = f"HTTP {error.status_code}"
        except TRANSIENT_FAILURES as error:
            failure = type(error).__name__
        found = _find_by_client_id(client, client_order_id)
        if found is not None:
            return found, False
        if attempt < attempts:
            time.sleep(backoff_seconds(attempt))
    raise BrokerUnavailable(f"{account.name}: order {client_order_id} could not be placed after {attempts} "
                            f"attempts (last: {failure}); calling again is safe")


def _find_by_client_id(client, client_order_id: str) -> dict | None:
    try:
        return call_broker(f"look up order {client_order_id}", lambda: _order_by_client_id(client, client_order_id))
    except BrokerRefused as refusal:
        if is_not_found(refusal):
            return None
        raise


def _order_by_client_id(client, client_order_id: str) -> dict:
    return _checked_order(client.get_order_by_client_id(client_order_id))


def _checked_order(wire: object) -> dict:
    fields = ("id", "client_order_id", "symbol", "side", "qty", "status")
    if not isinstance(wire, dict) or not all(isinstance(wire.get(field), str) for field in fields):
        raise DamagedAnswer("the order answer lacks id, client_order_id, symbol, side, qty or status")
    try:
        Decimal(wire["qty"]), Decimal(wire.get("filled_qty") or 0), Decimal(wire.get("filled_avg_price") or 0)
    except InvalidOperation:
        raise DamagedAnswer(f"order {wire['id']} has a quantity or price that is not a decimal") from None
    return wire


def _record_submitted(account: CustodyAccount, request_id: str, wire: dict, actor: str) -> None:
    payload = {"request_id": request_id, "client_order_id": wire["client_order_id"], "broker_order_id": wire["id"],
               "symbol": wire["symbol"], "side": wire["side"], "qty": Decimal(wire["qty"]),
               "submitted_at": wire.get("submitted_at") or wire.get("created_at")}
    try:
        store.append(streams.CUSTODY_ACCOUNT, account.name, [store.NewEvent("order_submitted", payload)],
                     metadata={"actor": actor, "request_id": request_id},
                     idempotency_key=f"alpaca:{account.name}:order:{wire['id']}:{SUBMITTED}")
    except IdempotencyConflict:
        pass  # recorded by a concurrent attempt for the same request (another actor): the order is the same


def _record_final(account: CustodyAccount, request_id: str, wire: dict) -> bool:
    status = wire["status"]
    if status not in FINAL_STATUSES:
        return False
    payload = {"client_order_id": wire["client_order_id"], "broker_order_id": wire["id"], "status": status,
               "filled_qty": Decimal(wire.get("filled_qty") or 0),
               "filled_avg_price": Decimal(wire["filled_avg_price"]) if wire.get("filled_avg_price") else None,
               "final_at": wire.get("filled_at") or wire.get("canceled_at") or wire.get("expired_at")
               or wire.get("failed_at") or wire.get("updated_at")}
    event_type = "order_filled" if status == "filled" else "order_closed"
    try:
        result = store.append(streams.CUSTODY_ACCOUNT, account.name, [store.NewEvent(event_type, payload)],
                              metadata={**SYNC_METADATA, "request_id": request_id},
                              idempotency_key=f"alpaca:{account.name}:order:{wire['id']}:{status}")
    except IdempotencyConflict:
        return False
    return not result.replayed


def _wire_terms(wire: dict) -> tuple[str, str, Decimal]:
    return wire["symbol"], wire["side"], Decimal(wire["qty"])


def _refuse_different(request_id: str, existing: tuple[str, str, Decimal], wanted: tuple[str, str, Decimal]) -> None:
    if existing != wanted:
        raise OrderRequestMismatch(
            f"request {request_id} already has an order to {existing[1]} {existing[2]} {existing[0]}; "
            f"it cannot also {wanted[1]} {wanted[2]} {wanted[0]}")


def _positive_qty(qty: Decimal) -> Decimal:
    try:
        value = Decimal(qty) if isinstance(qty, (Decimal, int, str)) and not isinstance(qty, bool) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise InvalidOrder(f"order quantity must be a Decimal greater than 0, got {qty!r}")
    return value


def _side(side: str) -> str:
    if side not in ("buy", "sell"):
        raise InvalidOrder(f"order side must be 'buy' or 'sell', got {side!r}")
    return side
