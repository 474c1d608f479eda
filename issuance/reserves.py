"""The numbers behind "no token without a share": shares in custody and the part of them that is not ours to
back tokens with, tokens outstanding, mints in flight.

All are in shares (token quantities divided by tokens_per_share), as ledger postings are.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from custody.models import Instrument
from custody.services import shares_in_custody
from ledger import store
from ledger.balances import balances_with_prefix
from ledger.canonical import EXACT, normalize_decimal

from .models import MintRequest


def tokens_outstanding_shares(symbol: str) -> Decimal:
    """Tokens outstanding on every network, in shares: minus the sum of chain:<network>:<SYMBOL>:supply."""
    supply = _sum(balance for (account, _), balance in balances_with_prefix("chain:", symbol).items()
                  if account.endswith(f":{symbol}:supply"))
    return normalize_decimal(-supply)


def owed_back_shares(symbol: str) -> Decimal:
    """Shares still in custody that belong to partners: tokens burned whose shares are not released yet, and
    shares of cancelled or failed mints not yet returned (negative partner:<id>:pending-redeem:<SYM>). They
    leave custody when released, so counting them would let a new mint sign against shares already owed."""
    suffix = f":pending-redeem:{symbol}"
    return _sum(-balance for (account, _), balance in balances_with_prefix("partner:", symbol).items()
                if account.endswith(suffix) and balance < 0)


def unclaimed_shares(symbol: str) -> Decimal:
    """Shares custody booked from a journal in that no request has claimed yet (negative
    suspense:unmatched-journal:<a>:<SYM>, held for operations). A positive account (a mint's journal claimed and
    not booked yet) adds nothing: those shares are not in custody:* yet, and the mint waits for them."""
    return _negative_balances("suspense:unmatched-journal:", symbol)


def leaving_shares(symbol: str) -> Decimal:
    """Shares released or returned to partners by journal whose outgoing JNLS custody's sync has not booked yet
    (negative suspense:outgoing-journal:<a>:<SYM>): still in custody:*, no longer ours. Kept apart from the
    incoming journals, so a mint's journal claimed and not booked yet cannot offset them."""
    return _negative_balances("suspense:outgoing-journal:", symbol)


def _negative_balances(prefix: str, symbol: str) -> Decimal:
    """Minus the negative balances of the <prefix><account>:<SYMBOL> clearing accounts, one per custody account."""
    return _sum(-balance for (account, _), balance in balances_with_prefix(prefix, symbol).items()
                if account.endswith(f":{symbol}") and balance < 0)


def shares_not_backing(symbol: str) -> Decimal:
    """Shares in custody:*:<SYMBOL> that are not ours to back tokens with: owed back, leaving, unclaimed (above).
    The console's backing ratio subtracts them, as the reserve check and the public proof of reserves do."""
    return _sum([owed_back_shares(symbol), unclaimed_shares(symbol), leaving_shares(symbol)])


def in_flight_mint_shares(instrument: Instrument) -> Decimal:
    """Mints that passed the reserve check and are not yet confirmed or failed."""
    total = (MintRequest.objects.filter(instrument=instrument, status__in=MintRequest.RESERVED)
             .aggregate(total=Sum("qty_shares"))["total"])
    return normalize_decimal(total or Decimal(0))


def _sum(values) -> Decimal:
    total = Decimal(0)
    for value in values:
        total = EXACT.add(total, value)
    return normalize_decimal(total)


@dataclass(frozen=True)
class ReserveCheck:
    symbol: str
    custody_shares: Decimal
    owed_back_shares: Decimal
    unclaimed_shares: Decimal
    leaving_shares: Decimal
    outstanding_shares: Decimal
    in_flight_shares: Decimal
    this_mint_shares: Decimal

    @property
    def reserve_shares(self) -> Decimal:
        """Shares in custody that may back tokens: not owed back to a partner, not journaled in and claimed by no
        request, not released and on their way out."""
        not_ours = EXACT.add(EXACT.add(self.owed_back_shares, self.unclaimed_shares), self.leaving_shares)
        return normalize_decimal(EXACT.subtract(self.custody_shares, not_ours))

    @property
    def shares_after_mint(self) -> Decimal:
        return normalize_decimal(EXACT.add(EXACT.add(self.outstanding_shares, self.in_flight_shares),
                                           self.this_mint_shares))

    @property
    def passes(self) -> bool:
        return self.shares_after_mint <= self.reserve_shares

    def as_payload(self) -> dict:
        return {"custody_shares": self.custody_shares, "owed_back_shares": self.owed_back_shares,
                "unclaimed_shares": self.unclaimed_shares, "leaving_shares": self.leaving_shares,
                "outstanding_shares": self.outstanding_shares,
                "in_flight_shares": self.in_flight_shares, "this_mint_shares": self.this_mint_shares}


def reserve_check(instrument: Instrument, this_mint_shares: Decimal) -> ReserveCheck:
    """The numbers at one ledger position. They are separate reads; every change to any of them (a share
    booked in custody, owed back or released, a mint signed, confirmed or failed, a burn) is an append, so
    holding appends back for the reads means no mint can be counted in neither "in flight" nor "outstanding",
    and no share counted in custody that had already left or been owed back."""
    symbol = instrument.symbol
    with store.appends_held():
        return ReserveCheck(symbol, shares_in_custody(symbol), owed_back_shares(symbol), unclaimed_shares(symbol),
                            leaving_shares(symbol), tokens_outstanding_shares(symbol), in_flight_mint_shares(instrument),
                            this_mint_shares)
