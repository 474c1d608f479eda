"""Keeps the corporate actions read models in step with the log, inside each append's transaction (and
rebuilds them with `manage.py rebuild_projections`).

Every event carries what its row change needs, so replaying the log into empty tables after `reset` gives
the live rows. Runs with thousands of holders append thousands of holder_entitled / holder_paid events at
once: consecutive ones are written with one bulk INSERT / one UPDATE per transaction instead of one per row.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from ledger.store import RecordedEvent

from . import streams
from .models import (
    CorporateAction,
    HolderSnapshot,
    HolderTaxProfile,
    PayoutLine,
    PayoutPolicy,
    PayoutRun,
    PayoutTx,
    SnapshotHolder,
)

Status = CorporateAction.Status
Kind = CorporateAction.Kind


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _action_fields(terms: dict) -> dict:
    return {
        "terms": terms, "ex_date": _date(terms.get("ex_date")), "record_date": _date(terms.get("record_date")),
        "pay_date": _date(terms.get("pay_date")), "effective_date": _date(terms.get("effective_date")),
        "rate": _decimal(terms.get("rate")), "currency": terms.get("currency", ""),
        "old_rate": _decimal(terms.get("old_rate")), "new_rate": _decimal(terms.get("new_rate")),
        "new_symbol": terms.get("new_symbol", ""),
    }


class CorporateActionsProjector:
    name = "corporate_actions"
    stream_types = frozenset({streams.CORPORATE_ACTION, streams.DIVIDEND_SNAPSHOT, streams.PAYOUT_RUN,
                              streams.PAYOUT_POLICY, streams.HOLDER_TAX_PROFILE})

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        _Batch().apply(events)  # buffers live per call: the projector is shared by every thread

    def reset(self) -> None:
        for model in (PayoutLine, PayoutTx, PayoutRun, SnapshotHolder, HolderSnapshot, CorporateAction,
                      PayoutPolicy, HolderTaxProfile):
            model.objects.all().delete()


class _Batch:
    """Applies one append's (or one rebuild batch's) events, writing runs of per-holder events in bulk."""

    def __init__(self) -> None:
        self._new_lines: list[PayoutLine] = []
        self._paid: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._paid_at: dict[tuple[str, str], object] = {}
        self._run_versions: dict[str, int] = {}  # stream version reached by buffered per-holder events

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.event_type != "holder_entitled":
                self._flush_lines()
            if event.event_type != "holder_paid":
                self._flush_paid()
            handler = HANDLERS.get(event.stream_type)
            if handler is not None:
                handler(self, event)
        self._flush_lines()
        self._flush_paid()

    # --- corporate_action/<id> ---

    def _action(self, event: RecordedEvent) -> None:
        data, kind = event.payload, event.event_type
        if kind == "corporate_action_announced":
            CorporateAction.objects.create(
                id=event.stream_id, kind=data["kind"], status=Status.ANNOUNCED, symbol=data["symbol"],
                isin=data["isin"], source=data["source"], source_id=data["source_id"],
                announced_by=event.metadata["actor"], announced_at=event.recorded_at, stream_version=event.version,
                **_action_fields(data["terms"]))
            return
        action = CorporateAction.objects.get(id=event.stream_id)
        action.stream_version = event.version
        if kind == "corporate_action_corrected":
            old_dates = (action.record_date, action.effective_date)
            for name, value in _action_fields(data["terms"]).items():
                setattr(action, name, value)
            action.corrections += 1
            if action.status == Status.SNAPSHOTTED and (action.record_date, action.effective_date) != old_dates:
                SnapshotHolder.objects.filter(action=action).delete()
                HolderSnapshot.objects.filter(action=action).delete()
                action.status = Status.ANNOUNCED  # holders at another date: snapshot again
        elif kind == "corporate_action_cancelled":
            action.status, action.note = Status.CANCELLED, data["reason"]
        elif kind == "split_applied":
            action.status = Status.IN_PAYMENT if data.get("mint_run_id") else Status.APPLIED
            action.note = data["summary"]
        elif kind in ("symbol_change_applied", "delisting_applied"):
            action.status, action.note = Status.APPLIED, data["summary"]
        action.save()

    # --- dividend_snapshot/<action id> ---

    def _snapshot(self, event: RecordedEvent) -> None:
        if event.event_type != "holders_snapshotted":
            return
        data = event.payload
        action_id = event.stream_id
        SnapshotHolder.objects.filter(action_id=action_id).delete()
        HolderSnapshot.objects.update_or_create(action_id=action_id, defaults={
            "cutoff": datetime.fromisoformat(data["cutoff"]), "holders_sha256": data["holders_sha256"],
            "holder_count": data["holder_count"], "event_position": event.position, "stream_version": event.version,
            "taken_at": event.recorded_at,
            "networks": [{key: value for key, value in network.items()
                          if key not in ("holders", "excluded", "split_tokens_owed")} for network in data["networks"]]})
        rows = []
        for network in data["networks"]:
            for excluded, key in ((False, "holders"), (True, "excluded")):
                rows += [SnapshotHolder(action_id=action_id, network=network["network"], address=address,
                                        balance_units=Decimal(units), excluded=excluded)
                         for address, units in network[key]]
        SnapshotHolder.objects.bulk_create(rows, batch_size=5000)
        CorporateAction.objects.filter(id=action_id, status=Status.ANNOUNCED).update(status=Status.SNAPSHOTTED)

    # --- payout_run/<run id> ---

    def _run(self, event: RecordedEvent) -> None:
        data, kind, run_id = event.payload, event.event_type, event.stream_id
        if kind in ("holder_entitled", "holder_paid"):
            self._run_versions[run_id] = event.version
        if kind == "holder_entitled":
            self._new_lines.append(PayoutLine(
                run_id=run_id, line_no=data["line_no"], network=data["network"], address=data["address"],
                balance_units=Decimal(data["balance_units"]), shares=Decimal(data["shares"]),
                tax_category=data.get("tax_category", ""), tax_rate=_decimal(data.get("tax_rate")),
                gross=_decimal(data.get("gross")), tax=_decimal(data.get("tax")), fee=_decimal(data.get("fee")),
                carried_in=_decimal(data.get("carried_in")), net=_decimal(data.get("net")),
                outcome=data["outcome"], amount=Decimal(data["amount"]), units=Decimal(data["units"]),
                batch_no=data["batch_no"]))
            return
        if kind == "holder_paid":
            key = (run_id, data["tx_hash"])
            self._paid[key].append(data["line_no"])
            self._paid_at[key] = event.recorded_at
            return
        if kind == "payout_run_created":
            PayoutRun.objects.create(
                id=run_id, action_id=data["action_id"], kind=data["kind"], status=PayoutRun.Status.CREATED,
                symbol=data["symbol"], currency=data.get("currency", ""),
                reference_price=_decimal(data.get("reference_price")), targets=data["targets"], totals=data["totals"],
                created_by=event.metadata["actor"], paused_instrument=data.get("paused_instrument", False),
                created_at=event.recorded_at, stream_version=event.version)
            CorporateAction.objects.filter(id=data["action_id"]).update(status=Status.IN_PAYMENT)
            return
        run_changes: dict = {"stream_version": event.version}
        if kind == "payout_run_approved":
            run_changes.update(status=PayoutRun.Status.APPROVED, approved_by=data["approved_by"],
                               approved_at=event.recorded_at)
        elif kind == "reinvest_shares_secured":
            run_changes["shares_secured"] = True
        elif kind == "tx_signed":
            run_changes["status"] = PayoutRun.Status.PAYING
            PayoutTx.objects.update_or_create(run_id=run_id, tx_key=data["tx_key"], defaults={
                "kind": data["kind"], "network": data["network"], "batch_no": data.get("batch_no"),
                "line_nos": data["line_nos"], "attempt": data["attempt"], "signer": data["signer"],
                "nonce": data["nonce"], "tx_hash": data["tx_hash"], "raw_tx": data["raw_tx"],
                "onchain_id": data.get("onchain_id", ""), "status": PayoutTx.Status.SIGNED, "block_number": None,
                "block_hash": "", "updated_at": event.recorded_at})
        elif kind in TX_STATUS_EVENTS:
            PayoutTx.objects.filter(run_id=run_id, tx_key=data["tx_key"]).update(
                status=TX_STATUS_EVENTS[kind], block_number=data.get("block_number"),
                block_hash=data.get("block_hash", ""), updated_at=event.recorded_at)
        elif kind == "payout_run_completed":
            run_changes.update(status=PayoutRun.Status.COMPLETED, completed_at=event.recorded_at)
            CorporateAction.objects.filter(id=data["action_id"]).update(
                status=Status.PAID if data["kind"] != PayoutRun.Kind.SPLIT_MINT else Status.APPLIED)
        PayoutRun.objects.filter(id=run_id).update(**run_changes)

    def _flush_lines(self) -> None:
        if self._new_lines:
            PayoutLine.objects.bulk_create(self._new_lines, batch_size=5000)
            self._new_lines = []
            self._flush_versions()

    def _flush_paid(self) -> None:
        for (run_id, tx_hash), line_nos in self._paid.items():
            PayoutLine.objects.filter(run_id=run_id, line_no__in=line_nos).update(
                paid=True, tx_hash=tx_hash, paid_at=self._paid_at[(run_id, tx_hash)])
        if self._paid:
            self._paid, self._paid_at = defaultdict(list), {}
            self._flush_versions()

    def _flush_versions(self) -> None:
        for run_id, version in self._run_versions.items():
            PayoutRun.objects.filter(id=run_id).update(stream_version=version)
        self._run_versions = {}

    # --- payout_policy/<ISIN>, holder_tax_profile/<address> ---

    def _policy(self, event: RecordedEvent) -> None:
        data = event.payload
        PayoutPolicy.objects.update_or_create(isin=event.stream_id, defaults={
            "mode": data["mode"], "minimum_payout": Decimal(data["minimum_payout"]),
            "below_minimum": data["below_minimum"], "fee_rate": Decimal(data["fee_rate"]),
            "set_by": event.metadata["actor"], "stream_version": event.version})

    def _tax_profile(self, event: RecordedEvent) -> None:
        HolderTaxProfile.objects.update_or_create(address=event.stream_id, defaults={
            "category": event.payload["category"], "set_by": event.metadata["actor"], "stream_version": event.version})


TX_STATUS_EVENTS = {"tx_broadcast": PayoutTx.Status.BROADCAST, "tx_confirmed": PayoutTx.Status.CONFIRMED,
                    "tx_reverted": PayoutTx.Status.REVERTED, "tx_dropped": PayoutTx.Status.DROPPED}
HANDLERS = {
    streams.CORPORATE_ACTION: _Batch._action,
    streams.DIVIDEND_SNAPSHOT: _Batch._snapshot,
    streams.PAYOUT_RUN: _Batch._run,
    streams.PAYOUT_POLICY: _Batch._policy,
    streams.HOLDER_TAX_PROFILE: _Batch._tax_profile,
}
