"""Every way custody can fail, by name. Each maps once to an API `code` and HTTP status, and to one line on
the command line (management commands print `message` and exit 1)."""
from __future__ import annotations

from ledger.errors import DomainError


class CustodyError(DomainError):
    code = "custody_error"


class UnknownInstrument(CustodyError):
    code = "unknown_instrument"
    http_status = 404


class InstrumentExists(CustodyError):
    code = "instrument_exists"
    http_status = 409


class InvalidInstrument(CustodyError):
    """A field of an instrument is wrong: bad ISIN or CUSIP check digit, CUSIP not matching the ISIN, ratio <= 0."""

    code = "invalid_instrument"


class InstrumentStateConflict(CustodyError):
    """The instrument is not in a state that allows the change (resume a delisted one, pause a paused one)."""

    code = "instrument_state_conflict"
    http_status = 409


class UnknownCustodyAccount(CustodyError):
    code = "unknown_custody_account"
    http_status = 404


class WrongAccountKind(CustodyError):
    """A broker operation on a statement account, or the reverse."""

    code = "wrong_custody_account_kind"


class BrokerCredentialsMissing(CustodyError):
    """The environment variables the custody account names hold no credentials."""

    code = "broker_credentials_missing"
    http_status = 503


class BrokerUnavailable(CustodyError):
    """The broker did not answer usefully (timeouts, 429, 5xx, damaged pages) within the bounded retries.
    Nothing was recorded for the fact being fetched; running the same operation again is safe."""

    code = "broker_unavailable"
    http_status = 503


class BrokerRefused(CustodyError):
    """The broker answered with a client error (4xx other than 429): retrying the same request cannot help."""

    code = "broker_refused"
    http_status = 502

    def __init__(self, message: str, status: int, broker_code: int | None):
        super().__init__(message)
        self.status = status
        self.broker_code = broker_code


class CustodySyncFailed(CustodyError):
    """The periodic sync of one or more accounts failed; the message names each account and why."""

    code = "custody_sync_failed"
    http_status = 503


class ActivityNotBookable(CustodyError):
    """A broker activity that cannot be turned into balanced postings (missing or malformed fields). The sync
    stops before it, so the cursor stays on the last fact booked and nothing after it is skipped."""

    code = "activity_not_bookable"
    http_status = 502


class InvalidOrder(CustodyError):
    """An order with a quantity that is not a positive decimal, or a side other than buy or sell."""

    code = "invalid_order"


class UnknownOrder(CustodyError):
    code = "unknown_order"
    http_status = 404


class OrderRequestMismatch(CustodyError):
    """The same request id was used for an order with a different symbol, side or quantity."""

    code = "order_request_mismatch"
    http_status = 409


class StatementRejected(CustodyError):
    """A statement file that cannot be read; `line` says where (1-based), `message` what is wrong."""

    code = "statement_rejected"

    def __init__(self, filename: str, line: int, reason: str):
        super().__init__(f"{filename} line {line}: {reason}")
        self.filename = filename
        self.line = line
        self.reason = reason


class StatementTooLarge(CustodyError):
    """A statement file larger than CUSTODY_STATEMENT_MAX_BYTES. Refused before it is read whole or parsed: a
    statement is parsed in memory, and a file that large is not a custodian's daily statement."""

    code = "statement_too_large"
    http_status = 413

    def __init__(self, filename: str, limit: int):
        super().__init__(f"{filename} is larger than {limit} bytes, the largest statement file imported "
                         f"(CUSTODY_STATEMENT_MAX_BYTES)")
        self.filename = filename
        self.limit = limit


class StatementAccountMismatch(CustodyError):
    """The file is the statement of another custodian account than the one it is imported for."""

    code = "statement_account_mismatch"


class StatementAlreadyImported(CustodyError):
    """The same file (same SHA-256) was imported before for another custody account."""

    code = "statement_already_imported"
    http_status = 409


class StatementDatedInTheFuture(CustodyError):
    """The statement's date or time is later than now plus a day's allowance for the custodian's time zone: a typo
    that, recorded, would count as the latest statement and hide every real one until that date."""

    code = "statement_dated_in_the_future"


class StatementConflictsWithImported(CustodyError):
    """A statement for an account and time already recorded, with other holdings. A statement is never replaced by
    the next file to arrive, and there is no correction import: which one is right is for a person to settle."""

    code = "statement_conflicts_with_imported"
    http_status = 409
