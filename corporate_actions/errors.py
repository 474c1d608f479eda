"""Every way a corporate action, snapshot or payout run is refused or fails has a name. `code` is stable: the
API's problem+json code, the command line's first word, and what the console shows."""
from __future__ import annotations

from ledger.errors import DomainError


class CorporateActionError(DomainError):
    code = "corporate_action_error"


class InvalidAnnouncement(CorporateActionError):
    """An announcement whose terms cannot be right (record date after pay date, rate <= 0, ratio 1:1...)."""

    code = "invalid_announcement"


class UnknownInstrument(CorporateActionError):
    code = "unknown_instrument"
    http_status = 404


class UnknownCorporateAction(CorporateActionError):
    code = "unknown_corporate_action"
    http_status = 404


class ActionStateConflict(CorporateActionError):
    """The action is not in a state that allows this step (correct a paid dividend, snapshot a split...)."""

    code = "action_state_conflict"
    http_status = 409


class RecordDateNotClosed(CorporateActionError):
    """No block on some network is later than the end of the record date (or effective time) yet, so the
    holders at that moment are not final."""

    code = "record_date_not_closed"
    http_status = 409


class SnapshotMissing(CorporateActionError):
    """No snapshot of the dividend's holders, or one that no longer stands: taken for another record date, or
    before a split in force at its cutoff was applied."""

    code = "snapshot_missing"
    http_status = 409


class SplitNotApplied(CorporateActionError):
    """A split or reverse split of the instrument took effect at or before a snapshot's cutoff (or before the
    effective date of the split being applied) but is not applied yet: holders would be counted at a ratio, or
    with tokens, the shares no longer have. Apply it first (splits apply in order of their effective dates)."""

    code = "split_not_applied"
    http_status = 409


class SnapshotInconsistent(CorporateActionError):
    """Balances replayed from Transfer logs disagree with the chain's own totalSupply/balanceOf at that block."""

    code = "snapshot_inconsistent"
    http_status = 502


class DividendNotReceived(CorporateActionError):
    """No cash for this dividend is booked in dividends:receivable:<SYM>:<pay date> yet."""

    code = "dividend_not_received"
    http_status = 409


class DividendPayDateTaken(CorporateActionError):
    """Another live cash dividend of the stock is paid on the same day: both would share one receivable
    (dividends:receivable:<SYM>:<pay date>), so ops announce one dividend with the combined rate instead."""

    code = "dividend_pay_date_taken"
    http_status = 409


class PayDateHasCash(CorporateActionError):
    """Cash is booked in the dividend's receivable for its pay date: the custodian paid that day, and moving the
    pay date would leave the cash in a receivable no dividend names."""

    code = "pay_date_has_cash"
    http_status = 409


class DividendShortfall(CorporateActionError):
    """The cash received is less than the holders' gross entitlements: paying would spend money we do not have."""

    code = "dividend_shortfall"
    http_status = 409


class UnknownRun(CorporateActionError):
    code = "unknown_payout_run"
    http_status = 404


class RunExists(CorporateActionError):
    code = "payout_run_exists"
    http_status = 409


class PayoutNotApproved(CorporateActionError):
    code = "payout_not_approved"
    http_status = 409


class SelfApproval(CorporateActionError):
    code = "self_approval"
    http_status = 403


class ApprovalByPersonRequired(CorporateActionError):
    """Payout runs are approved by a person ("user:<name>"), never by a system actor."""

    code = "approval_by_person_required"
    http_status = 403


class RunStateConflict(CorporateActionError):
    code = "payout_run_state_conflict"
    http_status = 409


class ReinvestSharesNotSecured(CorporateActionError):
    """A reinvest run mints only after the shares behind the new tokens are in custody."""

    code = "reinvest_shares_not_secured"
    http_status = 409


class PayoutNotConfigured(CorporateActionError):
    """No stablecoin, Disperser or payer key for a network the run pays on; or a tax category without a rate."""

    code = "payout_not_configured"
    http_status = 500


class InvalidPolicy(CorporateActionError):
    code = "invalid_payout_policy"


class UnknownTaxCategory(CorporateActionError):
    code = "unknown_tax_category"


class RequestsInFlight(CorporateActionError):
    """Mints or redemptions of the instrument are in flight: a split now would mix old and new ratios."""

    code = "requests_in_flight"
    http_status = 409


class OpenCorporateActions(CorporateActionError):
    """A symbol change waits until the instrument's other corporate actions are paid, applied or cancelled: each
    keeps the symbol it was announced under, and so do the ledger accounts it pays through."""

    code = "open_corporate_actions"
    http_status = 409


class SplitNotBookedByBroker(CorporateActionError):
    """The broker's SPLIT activity for an Alpaca custody account is not in the ledger yet (sync custody first)."""

    code = "split_not_booked_by_broker"
    http_status = 409


class SplitMismatch(CorporateActionError):
    """The broker booked a different share change than the ratio implies: a break to investigate."""

    code = "split_mismatch"
    http_status = 409


class BatchPaidElsewhere(CorporateActionError):
    """The Disperser says a batch id is done, but no transaction of ours for it confirmed: operations must look."""

    code = "batch_paid_elsewhere"
    http_status = 409


class BrokerBooksDividends(CorporateActionError):
    """Dividend cash at an Alpaca custody account is booked by the custody sync from the broker's DIV activity;
    recording it by hand would count it twice."""

    code = "broker_books_dividends"
    http_status = 409


class NotEffectiveYet(CorporateActionError):
    code = "not_effective_yet"
    http_status = 409
