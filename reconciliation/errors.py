"""Every way reconciliation refuses has a name; each maps once to an API code, an HTTP status and one line on
the command line. A source that cannot be read is not an error of the run: it makes the run incomplete."""
from __future__ import annotations

from ledger.errors import DomainError


class ReconciliationError(DomainError):
    code = "reconciliation_error"


class RunAlreadyInProgress(ReconciliationError):
    """Another run holds the lock of an overlapping scope (the same instruments, or all of them)."""

    code = "run_in_progress"
    http_status = 409


class UnknownInstrument(ReconciliationError):
    code = "unknown_instrument"
    http_status = 404


class UnknownRun(ReconciliationError):
    code = "unknown_run"
    http_status = 404


class UnknownBreak(ReconciliationError):
    code = "unknown_break"
    http_status = 404


class BreakStateConflict(ReconciliationError):
    """The break is not in a state that allows the change (acknowledge a resolved one, resolve a closed one)."""

    code = "break_state_conflict"
    http_status = 409


class UnknownCorrectingEvent(ReconciliationError):
    """A resolution must point at the ledger event that corrected the difference; that position does not exist."""

    code = "unknown_correcting_event"
    http_status = 422


class ResolutionReasonMissing(ReconciliationError):
    code = "resolution_reason_missing"
    http_status = 422


class UnknownToken(ReconciliationError):
    """No deployed token has that symbol (proof of reserves is per token)."""

    code = "unknown_token"
    http_status = 404


class NoReconciliationYet(ReconciliationError):
    """No completed run has covered the instrument yet: there is nothing to prove."""

    code = "no_reconciliation_yet"
    http_status = 404


class AggregatorMissing(ReconciliationError):
    code = "aggregator_missing"
    http_status = 409


class InvalidAsOf(ReconciliationError):
    code = "invalid_as_of"
