"""The comparison itself, for one instrument: pure functions of what the sources said.

Three numbers per instrument: shares in custody (observed), tokens outstanding (observed on chain, in share
equivalents) and the ledger's balances. Each check runs only when every source it needs is `ok`; a check that
cannot run leaves the instrument incomplete and says why, and never yields a break.

| check | needs | break |
|---|---|---|
| custody account vs `custody:<acct>:<SYM>` | that account | ledger_drift (critical when shares are missing) |
| chain supply vs `chain:<net>:<SYM>:supply` | that network | unknown_mint (critical) / unknown_burn |
| tokens vs shares | every account and network | unbacked_supply (critical) / excess_custody |
| `dividends:receivable:<SYM>:*` older than the grace period | ledger | undistributed_dividend |

Known differences: shares secured for mints not yet minted and tokens burned whose shares are not yet
released (the `partner:*:pending-*` balances), and shares released to partners by journal that custody has
not booked out yet (a negative `suspense:outgoing-journal:<acct>:<SYM>`) explain custody above supply; mints
and burns sent to a chain but not yet booked explain chain supply above or below the ledger. A positive
outgoing clearing account (the broker journaled shares out that no release accounts for) explains nothing:
the shortfall it leaves in custody stays a break, whose detail names the journal (a note, when no backing
break is found). The tolerance (shares, per instrument, default zero) applies to every comparison.

Each verdict also records the shares in custody that are free to back tokens (`shares_free`: observed custody
less `not_ours`, the split issuance's reserve check makes): shares owed back to partners, shares leaving by
journal and shares journaled in that no request claimed. The public proof of reserves reports that figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.canonical import EXACT, decimal_str, normalize_decimal

from .chain_source import ChainReading, Deployment
from .custody_source import CustodyReading
from .ledger_source import InstrumentLedger

ZERO = Decimal(0)
LEDGER_PLACES = Decimal("1e-18")  # shares are NUMERIC(38, 18)
CRITICAL, WARNING = "critical", "warning"
ANY_SUBJECT = None


@dataclass(frozen=True)
class FoundBreak:
    kind: str
    symbol: str
    subject: str
    severity: str
    amount: Decimal
    unit: str
    detail: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.symbol}:{self.subject}"


@dataclass(frozen=True)
class InstrumentInputs:
    symbol: str
    tokens_per_share: Decimal
    tolerance: Decimal
    ledger: InstrumentLedger
    deployments: list[Deployment]
    chain_mints: dict[str, Decimal]  # network -> shares sent to the chain, not yet booked
    chain_burns: dict[str, Decimal]


@dataclass
class InstrumentVerdict:
    symbol: str
    status: str  # clean | breaks | incomplete
    payload: dict
    breaks: list[FoundBreak]
    evaluated: set[tuple[str, str | None]] = field(default_factory=set)  # (kind, subject or ANY_SUBJECT)
    blocked_by: set[str] = field(default_factory=set)  # sources whose state left checks undone

    def covers(self, kind: str, subject: str) -> bool:
        """Did this run look at the difference `kind` on `subject` for this instrument?"""
        return (kind, ANY_SUBJECT) in self.evaluated or (kind, subject) in self.evaluated


def shares_from_base_units(units: int, decimals: int, tokens_per_share: Decimal) -> tuple[Decimal, Decimal]:
    """(tokens, share equivalent) of a base-unit amount; shares rounded to the ledger's 18 places."""
    tokens = normalize_decimal(EXACT.divide(Decimal(units), Decimal(10) ** decimals))
    shares = EXACT.divide(tokens, tokens_per_share)
    if shares.as_tuple().exponent < -18:
        shares = shares.quantize(LEDGER_PLACES, rounding=ROUND_HALF_EVEN, context=EXACT)
    return tokens, normalize_decimal(shares)


def check_instrument(inputs: InstrumentInputs, custody: list[CustodyReading],
                     chains: dict[str, ChainReading]) -> InstrumentVerdict:
    check = _Check(inputs)
    custody_total = check.custody_accounts(custody)
    supply_total = check.networks(chains)
    difference = check.backing(custody_total, supply_total)
    check.dividends()
    return check.verdict(custody_total, supply_total, difference)


class _Check:
    def __init__(self, inputs: InstrumentInputs):
        self.inputs = inputs
        self.symbol = inputs.symbol
        self.tolerance = inputs.tolerance
        self.ledger = inputs.ledger
        self.breaks: list[FoundBreak] = []
        self.evaluated: set[tuple[str, str | None]] = set()
        self.reasons: list[str] = []
        self.blocked_by: set[str] = set()
        self.notes: list[str] = []
        self.custody_by_account: dict[str, dict] = {}
        self.supply_by_network: dict[str, dict] = {}

    def found(self, kind: str, subject: str, severity: str, amount: Decimal, detail: str, unit: str = "") -> None:
        self.breaks.append(FoundBreak(kind, self.symbol, subject, severity, amount, unit or self.symbol, detail))

    def blocked(self, source: str, reason: str) -> None:
        self.blocked_by.add(source)
        self.reasons.append(reason)

    def custody_accounts(self, readings: list[CustodyReading]) -> Decimal | None:
        """Observed shares over every custody account, or None when an account holding them could not be read."""
        total: Decimal | None = ZERO
        reported = {reading.account for reading in readings}
        for reading in readings:
            in_ledger = self.ledger.custody.get(reading.account, ZERO)
            observed = reading.holdings.get(self.symbol, ZERO)
            relevant = in_ledger != 0 or self.symbol in reading.holdings
            subject = reading.source.name
            if not reading.source.ok:
                if relevant:
                    total = None
                    self.blocked(subject, f"{subject} is {reading.source.status}: {reading.source.detail}")
                    self.custody_by_account[reading.account] = {
                        "observed": None, "ledger": in_ledger, "source_status": reading.source.status}
                continue
            self.evaluated.add(("ledger_drift", subject))
            if relevant:
                self.custody_by_account[reading.account] = {"observed": observed, "ledger": in_ledger,
                                                            "source_status": reading.source.status}
            if total is not None:
                total += observed
            drift = observed - in_ledger
            if abs(drift) > self.tolerance:
                severity = CRITICAL if drift < 0 else WARNING
                self.found("ledger_drift", subject, severity, abs(drift),
                           f"{subject} reports {decimal_str(observed)} shares, the ledger "
                           f"custody:{reading.account}:{self.symbol} says {decimal_str(in_ledger)}")
        for account in sorted(set(self.ledger.custody) - reported):
            total = None
            self.reasons.append(f"the ledger holds shares at custody:{account}:{self.symbol}, "
                                f"but no configured custody account {account} reports them")
            self.custody_by_account[account] = {"observed": None, "ledger": self.ledger.custody[account],
                                                "source_status": "missing"}
        return total

    def networks(self, readings: dict[str, ChainReading]) -> Decimal | None:
        """Observed tokens outstanding (share equivalents) over every network, or None when one could not be read."""
        deployments: dict[str, list[Deployment]] = {}
        for deployment in self.inputs.deployments:
            deployments.setdefault(deployment.network, []).append(deployment)
        total: Decimal | None = ZERO
        for network in sorted(set(deployments) | set(self.ledger.supply) | set(self.ledger.unknown_transfers)):
            reading = readings.get(network)
            in_ledger = self.ledger.supply.get(network, ZERO)
            subject = f"chain:{network}"
            if network in deployments and (reading is None or not reading.source.ok):
                total = None
                status = reading.source.status if reading else "missing"
                self.blocked(subject, f"{subject} is {status}: {reading.source.detail if reading else 'not read'}")
                self.supply_by_network[network] = {"tokens": None, "shares": None, "ledger": in_ledger,
                                                   "source_status": status}
                continue
            tokens, shares, units = ZERO, ZERO, {}
            for deployment in deployments.get(network, []):
                deployment_units = reading.supplies[deployment.deployment_id]
                deployment_tokens, deployment_shares = shares_from_base_units(
                    deployment_units, deployment.decimals, self.inputs.tokens_per_share)
                tokens, shares = tokens + deployment_tokens, shares + deployment_shares
                units[deployment.deployment_id] = str(deployment_units)
            self.supply_by_network[network] = {
                "tokens": tokens, "shares": shares, "ledger": in_ledger, "base_units": units,
                "block_number": reading.source.facts.get("block_number") if reading else None,
                "source_status": "ok"}
            if total is not None:
                total += shares
            self.chain_against_ledger(network, subject, shares, in_ledger)
        return total

    def chain_against_ledger(self, network: str, subject: str, observed: Decimal, in_ledger: Decimal) -> None:
        self.evaluated.update({("unknown_mint", subject), ("unknown_burn", subject)})
        sent_mints = self.inputs.chain_mints.get(network, ZERO)
        sent_burns = self.inputs.chain_burns.get(network, ZERO)
        suspense = self.ledger.unknown_transfers.get(network, ZERO)
        above = observed - in_ledger
        if above > 0 and sent_mints:
            self.notes.append(f"{decimal_str(min(above, sent_mints))} minted on {network}, not yet booked")
        if above < 0 and sent_burns:
            self.notes.append(f"{decimal_str(min(-above, sent_burns))} burned on {network}, not yet booked")
        unknown_mint = max(ZERO, above - sent_mints) + max(ZERO, suspense)
        unknown_burn = max(ZERO, -above - sent_burns) + max(ZERO, -suspense)
        where = f"{decimal_str(observed)} outstanding on {network}, the ledger chain:{network}:{self.symbol}:supply " \
                f"says {decimal_str(in_ledger)}"
        suspense_note = f"; {decimal_str(suspense)} held in suspense:unknown-transfer:{network}:{self.symbol}" \
            if suspense else ""
        if unknown_mint > self.tolerance:
            self.found("unknown_mint", subject, CRITICAL, unknown_mint,
                       f"tokens minted by nobody we know: {where}, mints in flight {decimal_str(sent_mints)}"
                       f"{suspense_note}")
        if unknown_burn > self.tolerance:
            self.found("unknown_burn", subject, WARNING, unknown_burn,
                       f"tokens burned by nobody we know: {where}, burns in flight {decimal_str(sent_burns)}"
                       f"{suspense_note}")

    def backing(self, custody_total: Decimal | None, supply_total: Decimal | None) -> Decimal | None:
        if custody_total is None or supply_total is None:
            return None
        self.evaluated.update({("unbacked_supply", ""), ("excess_custody", "")})
        difference = custody_total - supply_total
        held, outstanding = decimal_str(custody_total), decimal_str(supply_total)
        unexplained = self.journals_out_unexplained()
        unbacked = -difference > self.tolerance
        if unbacked:
            self.found("unbacked_supply", "", CRITICAL, -difference,
                       f"{outstanding} tokens outstanding (in shares) but only {held} shares in custody{unexplained}")
        pending_mint, pending_redeem = self.ledger.pending_mint, self.ledger.pending_redeem
        leaving = self.ledger.leaving_custody
        burns_not_booked = sum(self.inputs.chain_burns.values(), ZERO)
        expected_excess = pending_mint + pending_redeem + self.ledger.leaving_total + burns_not_booked
        if pending_mint:
            self.notes.append(f"{decimal_str(pending_mint)} shares secured for mints not yet minted")
        if pending_redeem:
            self.notes.append(f"{decimal_str(pending_redeem)} shares of burned tokens not yet released")
        for account, shares in sorted(leaving.items()):
            self.notes.append(f"{decimal_str(shares)} shares released by journal, not yet booked out of "
                              f"custody:{account}")
        excess = difference - expected_excess
        too_much = excess > self.tolerance
        if too_much:
            self.found("excess_custody", "", WARNING, excess,
                       f"{held} shares in custody for {outstanding} tokens outstanding; in flight explains "
                       f"{decimal_str(expected_excess)}{unexplained}")
        if unexplained and not (unbacked or too_much):  # netted against another difference: still say so
            self.notes.append(unexplained.removeprefix("; "))
        return difference

    def journals_out_unexplained(self) -> str:
        """A clause per positive outgoing clearing account (shares journaled out that no release accounts for),
        each starting "; ", or "": the backing break's detail names them, so ops see where the shares went."""
        return "".join(
            f"; {decimal_str(shares)} shares journaled out of custody:{account} that no release accounts for "
            f"(suspense:outgoing-journal:{account}:{self.symbol})"
            for account, shares in sorted(self.ledger.journaled_out_unexplained.items()))

    def dividends(self) -> None:
        self.evaluated.add(("undistributed_dividend", ANY_SUBJECT))
        for dividend in self.ledger.undistributed_dividends:
            self.found("undistributed_dividend", dividend.account, WARNING, dividend.amount,
                       f"{decimal_str(dividend.amount)} {dividend.currency} received on {dividend.account} "
                       f"and not distributed within the grace period", unit=dividend.currency)

    def verdict(self, custody_total: Decimal | None, supply_total: Decimal | None,
                difference: Decimal | None) -> InstrumentVerdict:
        if self.reasons:
            status = "incomplete"
        else:
            status = "breaks" if self.breaks else "clean"
        payload = {
            "symbol": self.symbol, "status": status, "tokens_per_share": self.inputs.tokens_per_share,
            "tolerance": self.tolerance, "shares_in_custody": custody_total, "tokens_outstanding": supply_total,
            "difference": difference,
            "ledger": {"custody": self.ledger.custody_total, "supply": self.ledger.supply_total,
                       "pending_mint": self.ledger.pending_mint, "pending_redeem": self.ledger.pending_redeem,
                       "outgoing_journal": self.ledger.outgoing_journals},
            "in_flight": {"mint": self.ledger.pending_mint, "redeem": self.ledger.pending_redeem,
                          "journaled_out": self.ledger.leaving_total,
                          "chain_mints": self.inputs.chain_mints, "chain_burns": self.inputs.chain_burns},
            "not_ours": self.not_ours(), "shares_free": self.shares_free(custody_total),
            "custody_by_account": self.custody_by_account, "supply_by_network": self.supply_by_network,
            "explanation": self.explanation(status, difference), "incomplete_reasons": self.reasons,
            "breaks": [found.key for found in self.breaks],
        }
        return InstrumentVerdict(self.symbol, status, payload, self.breaks, self.evaluated, self.blocked_by)

    def not_ours(self) -> dict[str, Decimal]:
        """Shares in custody that may not back tokens, as the ledger says: owed back to partners (tokens burned,
        shares not yet released), released by journal and not booked out yet, journaled in and claimed by none."""
        return {"owed_back": self.ledger.owed_back, "leaving": self.ledger.leaving_total,
                "unclaimed": self.ledger.unclaimed}

    def shares_free(self, custody_total: Decimal | None) -> Decimal | None:
        """Observed shares in custody free to back tokens (None when custody could not be read in full)."""
        if custody_total is None:
            return None
        not_ours = ZERO
        for shares in self.not_ours().values():
            not_ours = EXACT.add(not_ours, shares)
        return normalize_decimal(EXACT.subtract(custody_total, not_ours))

    def explanation(self, status: str, difference: Decimal | None) -> str:
        parts: list[str] = []
        if status == "incomplete":
            parts.append("not checked: " + "; ".join(self.reasons))
        elif difference == 0 and not self.notes:
            parts.append("shares in custody equal tokens outstanding")
        parts.extend(self.notes)
        parts.extend(found.detail for found in self.breaks)
        return "; ".join(parts)
