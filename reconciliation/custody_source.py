"""Shares in custody, as each custody account last reported them.

Alpaca accounts: a current run first syncs the account through custody (orders, activities, then positions,
so the observation is at least as recent as every fact booked) and then reads the latest positions
observation; its as-of is the moment the sync succeeded (custody records an observation only when the
quantities change). A broker that does not answer, or that kept booking activities while its positions
were read (custody.sync reads them again a few times; a position read between an activity and its booking
would show a false drift), makes the account `unreachable`. Runs with an `as_of`,
or with RECONCILIATION_REFRESH_BROKER off, read the latest observation at or before that time instead and
call it stale beyond RECONCILIATION_BROKER_MAX_AGE_SECONDS. A run with an `as_of` also calls it stale when the
ledger's balances at `as_of` include share activities booked after it that it may not show (judged inside the
run's ledger snapshot by against_the_ledger_read, with custody.share_activities_unseen_by): fills after it, or
a journal, split... that Alpaca dates without a time on its day or later, which custody books at 00:00 New York
although the broker may have made it after the observation. Comparing them would report a false ledger_drift;
what the broker held at `as_of` is unknowable from the observations, so the account is not compared.

Statement accounts: the imported statement latest by its own time (at or before `as_of`; see
custody.latest_statement), stale beyond RECONCILIATION_STATEMENT_MAX_AGE_HOURS after that time, `missing` before
the first one. A source whose time is after the run's (beyond the clock allowance of statements) is not fresh.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from custody import services as custody
from custody.models import CustodyAccount, PositionsObservation
from ledger.errors import DomainError

from .readings import MISSING, OK, STALE, UNREACHABLE, SourceReading, data_sha256


@dataclass
class CustodyReading:
    account: str
    source: SourceReading
    holdings: dict[str, Decimal]  # symbol -> shares; the last known holdings when the source is not ok


def read_custody_accounts(as_of: datetime | None) -> list[CustodyReading]:
    return [_read_account(account, as_of) for account in CustodyAccount.objects.order_by("name")]


def _read_account(account: CustodyAccount, as_of: datetime | None) -> CustodyReading:
    if account.kind == CustodyAccount.Kind.ALPACA:
        if as_of is None and settings.RECONCILIATION_REFRESH_BROKER:
            return _refreshed_broker_positions(account)
        return _recorded_broker_positions(account, as_of)
    return _statement_holdings(account, as_of)


def _refreshed_broker_positions(account: CustodyAccount) -> CustodyReading:
    name = f"custody:{account.name}"
    try:
        report = custody.sync_account(account)
    except DomainError as failure:
        return _last_known(account, failure.message)
    if not report.positions_settled:  # positions include activities the ledger has not booked: no comparison
        return _last_known(account, "the broker kept booking activities while its positions were read")
    synced_at = timezone.now()
    observation = custody.latest_broker_positions(account)
    if observation is None:  # a successful sync records one; never guess "holds nothing"
        return CustodyReading(account.name, SourceReading("custody", name, MISSING,
                                                          detail="the sync recorded no positions observation"), {})
    holdings = dict(observation.qty)
    return CustodyReading(account.name, SourceReading(
        "custody", name, OK, as_of=synced_at, raw_sha256=data_sha256(holdings),
        detail="positions synced from the broker",
        facts={"observation_position": observation.event_position, "observation_as_of": observation.as_of,
               "observation_raw_sha256": observation.raw_sha256, "activity_position": report.activity_position},
    ), holdings)


def against_the_ledger_read(readings: list[CustodyReading], as_of: datetime | None) -> list[CustodyReading]:
    """The readings as they stand against a ledger read after them (call it inside the ledger's snapshot): an
    account whose activities were booked after its positions were read (by a sync running elsewhere) has facts
    in the ledger that its positions do not show, so it is not compared (`unreachable`), like one whose broker
    kept booking. With `as_of`, a recorded observation that may not show the share activities the ledger holds
    by then is not compared either (`stale`, naming them)."""
    return [_shows_the_ledger(_still_current(reading), as_of) for reading in readings]


def _still_current(reading: CustodyReading) -> CustodyReading:
    if not reading.source.ok or "activity_position" not in reading.source.facts:
        return reading
    if custody.last_activity_position(reading.account) == reading.source.facts["activity_position"]:
        return reading
    return CustodyReading(reading.account, SourceReading(
        "custody", reading.source.name, UNREACHABLE,
        detail="activities were booked after its positions were read (another sync)"), reading.holdings)


def _last_known(account: CustodyAccount, why: str) -> CustodyReading:
    known = custody.latest_broker_positions(account)
    return CustodyReading(account.name, SourceReading("custody", f"custody:{account.name}", UNREACHABLE, detail=why),
                          dict(known.qty) if known else {})


def _recorded_broker_positions(account: CustodyAccount, as_of: datetime | None) -> CustodyReading:
    name = f"custody:{account.name}"
    rows = PositionsObservation.objects.filter(account_name=account.name)
    if as_of is not None:
        rows = rows.filter(observed_at__lte=as_of)
    row = rows.order_by("-event_position").first()
    if row is None:
        return CustodyReading(account.name, SourceReading("custody", name, MISSING,
                                                          detail="no positions observation recorded"), {})
    holdings = {symbol: Decimal(held["qty"]) for symbol, held in row.positions.items()}
    max_age = timedelta(seconds=settings.RECONCILIATION_BROKER_MAX_AGE_SECONDS)
    status, detail = _freshness(row.observed_at, as_of, max_age, "positions observation")
    return CustodyReading(account.name, SourceReading(
        "custody", name, status, as_of=row.observed_at, detail=detail, raw_sha256=data_sha256(holdings),
        facts={"observation_position": row.event_position, "observation_raw_sha256": row.raw_sha256},
    ), holdings)


def _shows_the_ledger(reading: CustodyReading, as_of: datetime | None) -> CustodyReading:
    """The reading, or stale when it is an observation recorded before `as_of` that may not show the share
    activities the ledger holds by then (comparing them would be a false drift)."""
    source = reading.source
    if as_of is None or not source.ok or "observation_position" not in source.facts:
        return reading
    unseen = custody.share_activities_unseen_by(reading.account, source.facts["observation_position"],
                                                source.as_of, as_of)
    if not unseen:
        return reading
    detail = (f"{source.detail} may not show what the ledger holds by {as_of.isoformat()}: {'; '.join(unseen[:5])}"
              f"{f' and {len(unseen) - 5} more' if len(unseen) > 5 else ''}")
    return CustodyReading(reading.account, replace(source, status=STALE, detail=detail), reading.holdings)


def _statement_holdings(account: CustodyAccount, as_of: datetime | None) -> CustodyReading:
    name = f"custody:{account.name}"
    statement = custody.latest_statement(account, at=as_of)
    if statement is None:
        return CustodyReading(account.name, SourceReading("custody", name, MISSING,
                                                          detail="no custodian statement imported"), {})
    holdings: dict[str, Decimal] = {}
    for holding in statement.holdings:
        if holding.symbol:
            holdings[holding.symbol] = holdings.get(holding.symbol, Decimal(0)) + holding.aggregate
    max_age = timedelta(hours=settings.RECONCILIATION_STATEMENT_MAX_AGE_HOURS)
    status, detail = _freshness(statement.statement_time, as_of, max_age, f"statement {statement.filename}",
                                allowance=custody.STATEMENT_CLOCK_ALLOWANCE)
    return CustodyReading(account.name, SourceReading(
        "custody", name, status, as_of=statement.statement_time, detail=detail, raw_sha256=data_sha256(holdings),
        facts={"statement_position": statement.event_position, "statement_file_sha256": statement.file_sha256},
    ), holdings)


def _freshness(observed_at: datetime, as_of: datetime | None, max_age: timedelta, what: str, *,
               allowance: timedelta = timedelta(0)) -> tuple[str, str]:
    """ok, or stale when too old or dated after the run (beyond `allowance`, for clocks that are not ours): a
    time from the future is a wrong date, not the freshest data."""
    now = as_of or timezone.now()
    if observed_at > now + allowance:
        return STALE, f"{what} is dated {observed_at.isoformat()}, after {now.isoformat()}"
    age = now - observed_at
    if age > max_age:
        return STALE, f"{what} is {_minutes(age)} old (limit {_minutes(max_age)})"
    return OK, f"{what} of {observed_at.isoformat()}"


def _minutes(span: timedelta) -> str:
    return f"{span // timedelta(minutes=1)} min"
