"""Import corporate action announcements from Alpaca (GET /v2/corporate_actions/announcements via alpaca-py).

alpaca-py 0.44 marks TradingClient.get_corporate_announcements deprecated in favour of the market-data
CorporateActionsClient, but the trading endpoint is the one a custody account's keys reach (and the one the
sandbox broker serves), so we use it and silence the warning. Alpaca answers at most 90 days per query: longer
ranges are read in 90-day windows.

Each announcement is identified by Alpaca's id (action id "alpaca-<id>"): importing again records nothing for
an unchanged one, and a correction event when Alpaca changed its terms (while the action can still be
corrected). Cash dividends and (reverse) splits are imported; stock dividends, mergers, spinoffs and
recapitalizations are asked for too and reported as skipped, for operations to handle by hand, as are
announcements for instruments we do not issue.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from alpaca.trading.enums import CorporateActionType
from alpaca.trading.requests import GetCorporateAnnouncementsRequest
from django.conf import settings

from custody.services import alpaca_client, call_broker, get_custody_account
from ledger import canonical

from . import announcements, streams
from .errors import CorporateActionError, InvalidAnnouncement, UnknownInstrument
from .models import CorporateAction

Kind = CorporateAction.Kind
MAX_WINDOW = timedelta(days=90)


@dataclass
class ImportReport:
    announced: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (alpaca id, why)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (alpaca id, what is wrong)


def import_corporate_actions(since: date, until: date, *, account: str | None = None,
                             actor: str = streams.IMPORT_ACTOR) -> ImportReport:
    custody_account = get_custody_account(account or settings.CORPORATE_ACTIONS_IMPORT_ACCOUNT)
    client = alpaca_client(custody_account)
    report = ImportReport()
    start = since
    while start <= until:
        end = min(start + MAX_WINDOW, until)
        request = GetCorporateAnnouncementsRequest(ca_types=list(CorporateActionType), since=start, until=end)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            answers = call_broker(f"list corporate action announcements {start}..{end}",
                                  lambda request=request: client.get_corporate_announcements(request))
        for answer in answers:
            _import_one(answer, actor, report)
        start = end + timedelta(days=1)
    return report


def _import_one(answer: dict[str, Any], actor: str, report: ImportReport) -> None:
    alpaca_id = str(answer.get("id") or "")
    if alpaca_id in report.announced + report.corrected + report.unchanged:
        return  # windows overlap on dates an announcement has several of
    mapped = _map(answer)
    if isinstance(mapped, str):
        report.skipped.append((alpaca_id, mapped))
        return
    kind, symbol, terms = mapped
    existing = CorporateAction.objects.filter(source="alpaca", source_id=alpaca_id).first()
    try:
        if existing is None:
            action = announcements.announce(kind, symbol, terms, actor=actor, source="alpaca", source_id=alpaca_id,
                                            action_id=f"alpaca-{alpaca_id}")
            report.announced.append(action.id)
            return
        clean = canonical.normalize_json(announcements.validate_terms(existing.kind, terms))
        if clean == existing.terms:
            report.unchanged.append(existing.id)
            return
        announcements.correct(existing.id, terms, reason="Alpaca changed the announcement", actor=actor)
        report.corrected.append(existing.id)
    except UnknownInstrument:
        report.skipped.append((alpaca_id, f"{symbol} is not an instrument we issue"))
    except InvalidAnnouncement as invalid:
        report.rejected.append((alpaca_id, invalid.message))
    except CorporateActionError as refused:
        report.rejected.append((alpaca_id, f"{refused.code}: {refused.message}"))


def _map(answer: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | str:
    """(kind, symbol, terms) for what we import, else why not."""
    ca_type, sub_type = answer.get("ca_type"), answer.get("ca_sub_type")
    symbol = str(answer.get("initiating_symbol") or "")
    if ca_type == "dividend" and sub_type == "cash":
        return Kind.CASH_DIVIDEND, symbol, {
            "ex_date": answer.get("ex_date"), "record_date": answer.get("record_date"),
            "pay_date": answer.get("payable_date"), "rate": answer.get("cash"), "currency": "USD"}
    if ca_type == "split" and sub_type in ("stock_split", "unit_split", "reverse_split"):
        kind = Kind.REVERSE_SPLIT if sub_type == "reverse_split" else Kind.STOCK_SPLIT
        return kind, symbol, {"effective_date": answer.get("ex_date"), "old_rate": answer.get("old_rate"),
                              "new_rate": answer.get("new_rate")}
    return f"{ca_type}/{sub_type} is entered by operations, not imported"
