"""One reconciliation run, from lock to last event.

Order of reads, chosen so that no race can produce a false break:
1. custody: sync each Alpaca account (facts booked, then positions, then facts again until none arrived
   meanwhile) and read statements;
2. one snapshot of the ledger balances and of the mints/burns sent but not yet booked; in it, an Alpaca
   account that a sync elsewhere booked activities for after step 1 read its positions is not compared, nor,
   in a run with an `as_of`, one whose recorded observation may not show share activities the ledger holds by
   then (e.g. a journal Alpaca dates without a time, booked at 00:00 New York: see custody_source);
3. chain supplies at a block pinned AFTER that snapshot: any mint the ledger booked is deep enough to be in
   it, and a mint the ledger had not booked was "in flight" in the snapshot (a mint signed after the snapshot
   would need `confirmations` new blocks within the read to show up).
Each source's reading is appended as `source_fetched` once read (custody's with the ledger's); the verdicts,
breaks and the terminal event are appended in one transaction with the break streams (retried on a concurrent
change to a break, e.g. someone acknowledging it meanwhile).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from custody.models import Instrument
from ledger import store
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, StreamAppend

from . import streams
from .breaks import BreakOutcome, BreakPlan, plan_breaks
from .chain_source import ChainReading, deployments_by_network, read_network
from .checks import WARNING, FoundBreak, InstrumentInputs, InstrumentVerdict, check_instrument
from .custody_source import CustodyReading, against_the_ledger_read, read_custody_accounts
from .errors import InvalidAsOf, UnknownInstrument
from .in_flight import chain_in_flight
from .ledger_source import LedgerReading, read_ledger
from .locks import scope_lock
from .models import ReconciliationRun
from .notifications import notify_new_critical_breaks
from .readings import SourceReading

log = logging.getLogger(__name__)
FINAL_APPEND_ATTEMPTS = 3


@dataclass(frozen=True)
class InstrumentSummary:
    symbol: str
    status: str  # clean | breaks | incomplete
    shares_in_custody: Decimal | None
    tokens_outstanding: Decimal | None
    difference: Decimal | None
    explanation: str


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str  # completed | incomplete
    instruments: list[InstrumentSummary]
    breaks: list[BreakOutcome]  # found by this run, new or seen again
    closed_break_ids: list[str]
    events_sha256: str

    @property
    def clean(self) -> bool:
        return self.status == ReconciliationRun.Status.COMPLETED and not self.breaks

    @property
    def new_breaks(self) -> list[BreakOutcome]:
        return [outcome for outcome in self.breaks if outcome.new]


def new_run_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def run_reconciliation(instruments: list[str] | None = None, as_of: datetime | None = None,
                       actor: str = "system:beat") -> RunResult:
    """Reconcile the named instruments (all when None) now, or as the sources stood at `as_of`."""
    scope = resolve_scope(instruments)
    _check_as_of(as_of)
    with scope_lock(None if instruments is None else [row.symbol for row in scope]):
        if instruments is None:
            _close_abandoned_runs(actor)
        return _Run(scope, instruments is None, as_of, actor).execute()


def resolve_scope(instruments: list[str] | None) -> list[Instrument]:
    rows = Instrument.objects.order_by("symbol")
    if instruments is None:
        return list(rows)
    wanted = sorted({symbol.strip().upper() for symbol in instruments})
    found = list(rows.filter(symbol__in=wanted))
    unknown = sorted(set(wanted) - {row.symbol for row in found})
    if unknown or not wanted:
        raise UnknownInstrument(f"no instrument with symbol {', '.join(unknown) or '(none given)'}")
    return found


def _check_as_of(as_of: datetime | None) -> None:
    if as_of is None:
        return
    if as_of.tzinfo is None:
        raise InvalidAsOf("as_of must carry a time zone (e.g. 2026-03-30T00:00:00Z)")
    if as_of > timezone.now():
        raise InvalidAsOf(f"as_of {as_of.isoformat()} is in the future")


def _run_ended_without_results(reason: str) -> NewEvent:
    return NewEvent("run_incomplete", {
        "counts": {"clean": 0, "breaks": 0, "incomplete": 0, "new_breaks": 0, "breaks_found": 0, "breaks_closed": 0},
        "statuses": {}, "reason": reason,
    })


def _close_abandoned_runs(actor: str) -> None:
    """Runs still 'running' while we hold the all-instruments lock belong to a process that died."""
    for run in ReconciliationRun.objects.filter(status=ReconciliationRun.Status.RUNNING):
        store.append(streams.RUN, run.run_id,
                     [_run_ended_without_results("abandoned: the process running it stopped before it finished")],
                     metadata={"actor": actor})


class _Run:
    def __init__(self, scope: list[Instrument], all_instruments: bool, as_of: datetime | None, actor: str):
        self.instruments = scope
        self.symbols = {row.symbol for row in scope}
        self.symbol_filter = None if all_instruments else self.symbols
        self.as_of = as_of
        self.metadata = {"actor": actor}
        self.run_id = new_run_id(timezone.now())
        self.version = 0

    def append(self, events: list[NewEvent]) -> None:
        store.append(streams.RUN, self.run_id, events, metadata=self.metadata, expected_version=self.version)
        self.version += len(events)

    def execute(self) -> RunResult:
        scope = "all" if self.symbol_filter is None else ",".join(sorted(self.symbols))
        self.append([NewEvent("run_started", {
            "run_id": self.run_id, "scope": scope, "instrument_count": len(self.instruments), "as_of": self.as_of,
            "symbols": None if self.symbol_filter is None else sorted(self.symbols),
        })])
        try:
            return self.reconcile()
        except Exception as failure:  # recorded, then raised: a run never stays "running" after its process moved on
            self.append([_run_ended_without_results(f"failed: {type(failure).__name__}: {failure}"[:1000])])
            raise

    def reconcile(self) -> RunResult:
        custody, ledger, mints, burns = self.ledger_snapshot(read_custody_accounts(self.as_of))
        self.record_sources([*(reading.source for reading in custody), ledger.source])
        deployments = deployments_by_network(self.symbol_filter)
        chains = {network: read_network(network, listed, self.as_of) for network, listed in sorted(deployments.items())}
        self.record_sources([reading.source for reading in chains.values()])
        verdicts = self.check(custody, ledger, chains, deployments, mints, burns)
        found = [item for verdict in verdicts.values() for item in verdict.breaks]
        found += self.stale_sources(custody, chains, verdicts)
        sources_ok = {reading.source.name for reading in [*custody, *chains.values()] if reading.source.ok}
        return self.finish(verdicts, found, sources_ok)

    def ledger_snapshot(self, custody: list[CustodyReading]) -> tuple[list[CustodyReading], LedgerReading, dict, dict]:
        """Ledger balances and requests in flight as one consistent snapshot, and the custody readings that still
        describe it (an account synced elsewhere since its positions were read is no longer comparable)."""
        outermost = not connection.in_atomic_block  # inside a caller's transaction, that one is the snapshot
        with transaction.atomic():
            if outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            ledger = read_ledger(self.symbols, self.as_of)
            mints, burns = chain_in_flight(self.symbol_filter, self.as_of)
            custody = against_the_ledger_read(custody, self.as_of)
        return custody, ledger, mints, burns

    def record_sources(self, sources: list[SourceReading]) -> None:
        if sources:
            self.append([NewEvent("source_fetched", source.event_payload()) for source in sources])

    def check(self, custody: list[CustodyReading], ledger: LedgerReading, chains: dict[str, ChainReading],
              deployments: dict, mints: dict, burns: dict) -> dict[str, InstrumentVerdict]:
        by_symbol: dict[str, list] = {}
        for listed in deployments.values():
            for deployment in listed:
                by_symbol.setdefault(deployment.symbol, []).append(deployment)
        mints_by_symbol: dict[str, dict[str, Decimal]] = {}
        burns_by_symbol: dict[str, dict[str, Decimal]] = {}
        for sent, grouped in ((mints, mints_by_symbol), (burns, burns_by_symbol)):
            for (symbol, network), shares in sent.items():
                grouped.setdefault(symbol, {})[network] = shares
        verdicts = {}
        for row in self.instruments:
            inputs = InstrumentInputs(
                row.symbol, row.tokens_per_share, row.reconciliation_tolerance, ledger.of(row.symbol),
                by_symbol.get(row.symbol, []), mints_by_symbol.get(row.symbol, {}), burns_by_symbol.get(row.symbol, {}),
            )
            verdicts[row.symbol] = check_instrument(inputs, custody, chains)
        return verdicts

    def stale_sources(self, custody: list[CustodyReading], chains: dict[str, ChainReading],
                      verdicts: dict[str, InstrumentVerdict]) -> list[FoundBreak]:
        """A source that is down or stale is a break of its own when it left instruments unchecked."""
        found = []
        for source in [reading.source for reading in [*custody, *chains.values()]]:
            if source.ok:
                continue
            unchecked = [symbol for symbol, verdict in verdicts.items() if source.name in verdict.blocked_by]
            if unchecked:
                found.append(FoundBreak("stale_source", "", source.name, WARNING, Decimal(len(unchecked)),
                                        "instruments", f"{source.name} is {source.status}: {source.detail}; "
                                        f"{len(unchecked)} instrument(s) not checked"))
        return found

    def plan_breaks(self, found: list[FoundBreak], verdicts: dict[str, InstrumentVerdict],
                    sources_ok: set[str]) -> BreakPlan:
        """Breaks describe the present: a run as of a past time records what it found in its own stream, and
        neither opens nor closes a break."""
        if self.as_of is not None:
            return BreakPlan([], [BreakOutcome("", item, False) for item in found], [])
        return plan_breaks(self.run_id, found, verdicts, sources_ok, self.symbol_filter)

    def finish(self, verdicts: dict[str, InstrumentVerdict], found: list[FoundBreak],
               sources_ok: set[str]) -> RunResult:
        for attempt in range(1, FINAL_APPEND_ATTEMPTS + 1):
            plan = self.plan_breaks(found, verdicts, sources_ok)
            counts = {status: sum(1 for v in verdicts.values() if v.status == status)
                      for status in ("clean", "breaks", "incomplete")}
            counts.update(new_breaks=sum(1 for outcome in plan.found if outcome.new), breaks_found=len(plan.found),
                          breaks_closed=len(plan.closed))
            status = ReconciliationRun.Status.INCOMPLETE if counts["incomplete"] else ReconciliationRun.Status.COMPLETED
            run_events = [NewEvent("instrument_reconciled", verdict.payload) for verdict in verdicts.values()]
            run_events += [NewEvent("break_detected", {
                "break_id": outcome.break_id, "key": outcome.found.key, "kind": outcome.found.kind,
                "symbol": outcome.found.symbol, "subject": outcome.found.subject, "severity": outcome.found.severity,
                "amount": outcome.found.amount, "unit": outcome.found.unit, "new": outcome.new,
            }) for outcome in plan.found]
            run_events.append(NewEvent(f"run_{status}", {
                "counts": counts, "statuses": {symbol: verdict.status for symbol, verdict in verdicts.items()},
            }))
            try:
                store.append_many([StreamAppend(streams.RUN, self.run_id, run_events, self.version), *plan.appends],
                                  metadata=self.metadata)
            except ConcurrencyError:
                if attempt == FINAL_APPEND_ATTEMPTS:
                    raise
                log.warning("run %s: a break changed while the run finished; planning its breaks again", self.run_id)
                continue
            break
        transaction.on_commit(lambda: notify_new_critical_breaks(self.run_id, plan.found))
        run = ReconciliationRun.objects.get(run_id=self.run_id)
        summaries = [InstrumentSummary(symbol, verdict.status, _decimal(verdict.payload["shares_in_custody"]),
                                       _decimal(verdict.payload["tokens_outstanding"]),
                                       _decimal(verdict.payload["difference"]), verdict.payload["explanation"])
                     for symbol, verdict in sorted(verdicts.items())]
        return RunResult(self.run_id, run.status, summaries, plan.found, plan.closed, run.events_sha256)


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)
