"""Tell people about new critical breaks: an email (Django's mail backend) and a signed webhook.

Sent after the run's events are committed, once per run, only for breaks that run opened (a break seen again
does not page anyone twice). A failing mail server or webhook receiver is logged and never fails the run:
the breaks are in the ledger and the console either way.

Webhook signature, the same scheme as the partner webhooks: header
`X-Shareledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>`.
A receiver recomputes the HMAC over the raw body and rejects old timestamps (replays).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import requests
from django.conf import settings
from django.core.mail import send_mail

from ledger.canonical import decimal_str

from .breaks import BreakOutcome

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Shareledger-Signature"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def notify_new_critical_breaks(run_id: str, outcomes: list[BreakOutcome]) -> None:
    critical = [outcome for outcome in outcomes if outcome.new and outcome.found.severity == "critical"]
    if not critical:
        return
    summary = [{"break_id": outcome.break_id, "kind": outcome.found.kind, "symbol": outcome.found.symbol,
                "subject": outcome.found.subject, "amount": decimal_str(outcome.found.amount),
                "unit": outcome.found.unit, "detail": outcome.found.detail} for outcome in critical]
    _email(run_id, summary)
    _webhook(run_id, summary)


def _email(run_id: str, summary: list[dict]) -> None:
    recipients = settings.RECONCILIATION_ALERT_EMAILS
    if not recipients:
        return
    lines = [f"- {item['kind']} {item['symbol'] or item['subject']}: {item['amount']} {item['unit']}. {item['detail']}"
             f" (break {item['break_id']})" for item in summary]
    subject = f"[shareledger] {len(summary)} new critical reconciliation break(s) in run {run_id}"
    body = "Reconciliation run {} found:\n\n{}\n".format(run_id, "\n".join(lines))
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # noqa: BLE001 - any mail failure is logged; the breaks are recorded regardless
        log.exception("could not email new critical breaks of run %s", run_id)


def _webhook(run_id: str, summary: list[dict]) -> None:
    url = settings.RECONCILIATION_ALERT_WEBHOOK_URL
    if not url:
        return
    body = json.dumps({"type": "reconciliation.critical_breaks_opened", "run_id": run_id, "breaks": summary},
                      sort_keys=True, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json",
               SIGNATURE_HEADER: webhook_signature(settings.RECONCILIATION_ALERT_WEBHOOK_SECRET, int(time.time()), body)}
    try:
        response = requests.post(url, data=body, headers=headers, timeout=settings.RECONCILIATION_ALERT_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException:
        log.exception("could not deliver the critical breaks webhook of run %s to %s", run_id, url)
