"""What the ledger says custody, supply and the in-flight requests should be (docs/chart-of-accounts.md).

All the balances a run compares come from ONE statement, so they describe one instant of the log even while
issuance keeps appending (several prefix reads could straddle an append that moves shares from
`partner:*:pending-mint` to `chain:*:supply`). They are summed from the postings, all of them for a current
run, those effective at or before it for a run with an `as_of`.

Besides custody, supply and the partners' pending balances it reads the outgoing journal clearing accounts,
`suspense:outgoing-journal:<account>:<SYM>`: negative, they hold shares released or returned to partners by
journal that custody's sync has not booked out yet (still in `custody:*`, in flight out of it); positive, shares
the broker journaled out that no release accounts for (yet). checks.py decides what each explains.

It also reads the incoming journal clearing accounts, `suspense:unmatched-journal:<account>:<SYM>`, only to
record how many shares in custody are not ours to back tokens with (the split issuance's reserve check makes,
issuance/reserves.py): the shares owed back to partners (negative `partner:*:pending-redeem:<SYM>`), those
leaving by journal, and those journaled in that no request claimed (a negative incoming account). The public
proof of reserves reports what is left. The incoming accounts explain no difference: shares journaled in that
no request claimed are in custody and ours to explain, so the check shows them as excess custody.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from ledger import store
from ledger.balances import balance, summed_balances

from .readings import OK, SourceReading, data_sha256

# Suspense accounts are read by exact kind (read_ledger checks the second path segment), never as "any suspense
# account".
OUTGOING_JOURNAL = "outgoing-journal"
UNMATCHED_JOURNAL = "unmatched-journal"
UNKNOWN_TRANSFER = "unknown-transfer"
PREFIXES = ("custody:", "chain:", "partner:", f"suspense:{UNKNOWN_TRANSFER}:", f"suspense:{OUTGOING_JOURNAL}:",
            f"suspense:{UNMATCHED_JOURNAL}:", "dividends:receivable:")


@dataclass(frozen=True)
class UndistributedDividend:
    account: str
    currency: str
    amount: Decimal  # received more than the grace period ago and still not paid out


@dataclass
class InstrumentLedger:
    custody: dict[str, Decimal] = field(default_factory=dict)  # custody account -> shares
    supply: dict[str, Decimal] = field(default_factory=dict)  # network -> tokens outstanding, in shares
    pending_mint: Decimal = Decimal(0)  # shares secured for mints not yet minted
    pending_redeem: Decimal = Decimal(0)  # tokens burned whose shares are not yet released
    # minus the negative partner:<id>:pending-redeem:<SYM> balances alone, as issuance's owed_back_shares counts
    owed_back: Decimal = Decimal(0)
    unknown_transfers: dict[str, Decimal] = field(default_factory=dict)  # network -> suspense balance
    # custody account -> balance of suspense:outgoing-journal:<account>:<SYM> (negative: released, not booked out)
    outgoing_journals: dict[str, Decimal] = field(default_factory=dict)
    # custody account -> balance of suspense:unmatched-journal:<account>:<SYM> (negative: journaled in, unclaimed)
    unmatched_journals: dict[str, Decimal] = field(default_factory=dict)
    undistributed_dividends: list[UndistributedDividend] = field(default_factory=list)

    @property
    def custody_total(self) -> Decimal:
        return sum(self.custody.values(), Decimal(0))

    @property
    def supply_total(self) -> Decimal:
        return sum(self.supply.values(), Decimal(0))

    @property
    def leaving_custody(self) -> dict[str, Decimal]:
        """Custody account -> shares released or returned by journal that custody has not booked out yet (a
        negative outgoing clearing account): still in custody, in flight out of it."""
        return {account: -amount for account, amount in self.outgoing_journals.items() if amount < 0}

    @property
    def leaving_total(self) -> Decimal:
        """Shares leaving custody by journal, over every custody account (leaving_custody summed)."""
        return sum(self.leaving_custody.values(), Decimal(0))

    @property
    def unclaimed(self) -> Decimal:
        """Shares journaled into custody that no request claimed (a negative incoming clearing account). A
        positive one (a mint's journal claimed, not booked yet) is not in custody:* yet and adds nothing."""
        return -sum((amount for amount in self.unmatched_journals.values() if amount < 0), Decimal(0))

    @property
    def journaled_out_unexplained(self) -> dict[str, Decimal]:
        """Custody account -> shares the broker journaled out that no release accounts for (a positive outgoing
        clearing account). Per account, so one account's cannot cancel another's release in flight."""
        return {account: amount for account, amount in self.outgoing_journals.items() if amount > 0}


@dataclass
class LedgerReading:
    source: SourceReading
    instruments: dict[str, InstrumentLedger]

    def of(self, symbol: str) -> InstrumentLedger:
        return self.instruments.get(symbol) or InstrumentLedger()


def read_ledger(symbols: set[str], as_of: datetime | None) -> LedgerReading:
    head = store.head_position()
    rows = summed_balances(PREFIXES, as_of=as_of)  # from the postings, not the editable projection
    instruments: dict[str, InstrumentLedger] = defaultdict(InstrumentLedger)
    dividend_accounts: list[tuple[str, str, str, Decimal]] = []
    for account, asset, amount in rows:
        parts = account.split(":")
        if parts[0] == "dividends":
            if len(parts) == 4 and parts[2] in symbols:
                dividend_accounts.append((parts[2], account, asset, amount))
            continue
        if asset not in symbols:
            continue
        held = instruments[asset]
        if parts[0] == "custody" and len(parts) == 3 and parts[2] == asset:
            held.custody[parts[1]] = amount
        elif parts[0] == "chain" and len(parts) == 4 and parts[2] == asset and parts[3] == "supply":
            held.supply[parts[1]] = -amount
        elif parts[0] == "partner" and len(parts) == 4 and parts[3] == asset and parts[2] == "pending-mint":
            held.pending_mint -= amount
        elif parts[0] == "partner" and len(parts) == 4 and parts[3] == asset and parts[2] == "pending-redeem":
            held.pending_redeem -= amount
            held.owed_back -= min(amount, Decimal(0))
        elif parts[0] == "suspense" and len(parts) == 4 and parts[3] == asset and parts[1] == UNKNOWN_TRANSFER:
            held.unknown_transfers[parts[2]] = amount
        elif parts[0] == "suspense" and len(parts) == 4 and parts[3] == asset and parts[1] == OUTGOING_JOURNAL:
            held.outgoing_journals[parts[2]] = amount
        elif parts[0] == "suspense" and len(parts) == 4 and parts[3] == asset and parts[1] == UNMATCHED_JOURNAL:
            held.unmatched_journals[parts[2]] = amount
    _add_undistributed_dividends(instruments, dividend_accounts, as_of)
    reading = SourceReading(
        "ledger", "ledger", OK, as_of=as_of or timezone.now(), detail=f"balances at log position {head}",
        raw_sha256=data_sha256(sorted([account, asset, amount] for account, asset, amount in rows)),
        facts={"head_position": head},
    )
    return LedgerReading(reading, dict(instruments))


def _add_undistributed_dividends(instruments: dict[str, InstrumentLedger],
                                 dividend_accounts: list[tuple[str, str, str, Decimal]],
                                 as_of: datetime | None) -> None:
    """A receivable still open that was already open a grace period ago: cash received and not paid out.
    Only the part present both then and now counts, so a dividend that arrived yesterday is not a break."""
    grace_start = (as_of or timezone.now()) - timedelta(days=settings.RECONCILIATION_DIVIDEND_GRACE_DAYS)
    for symbol, account, currency, now in dividend_accounts:
        then = balance(account, currency, as_of=grace_start)
        if then != 0 and (then > 0) == (now > 0):
            amount = min(abs(then), abs(now))
            instruments[symbol].undistributed_dividends.append(UndistributedDividend(account, currency, amount))
