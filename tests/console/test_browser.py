"""Real browser (Debian's chromium through Playwright) against a real server process.

Screenshots go to test-artifacts/console/. Everything the server shows must be committed first, so these
tests use committed data with unique names.
"""
from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, time, timedelta

import pytest

from ledger import store

from .conftest import move, screenshot

pytestmark = pytest.mark.slow


def test_the_roles_the_browser_users_get_exist(db):
    """Also makes pytest-django create the test database when this module runs alone: it sets databases up
    only for sessions with a test using `db`, and committed_db alone would otherwise reach the dev database."""
    from django.contrib.auth.models import Group

    assert Group.objects.filter(name__in=["auditor", "operator"]).count() == 2


def test_an_auditor_browses_events_and_cannot_change_anything(browser_page, committed_user):
    auditor = committed_user("auditor")
    actor = f"user:browser-{secrets.token_hex(4)}"
    event = store.append("journal", f"browser-{secrets.token_hex(4)}", [store.NewEvent("note_added", {"text": "seen in a browser"})],
                         metadata={"actor": actor}).events[0]
    page = browser_page
    page.login(auditor)

    assert page.locator("#console-tools").is_visible()
    assert page.locator("form[action*='/pause/']").count() == 0  # no instrument actions for an auditor
    page.click("text=Event browser")
    page.fill("input[name=actor]", actor)
    page.press("input[name=actor]", "Enter")
    page.wait_for_url(re.compile(r".*actor=.*"))
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.locator("a.addlink").count() == 0 and page.locator("#action-toggle").count() == 0
    screenshot(page, "auditor-event-list")

    page.click(f"#result_list a:text-is('{event.position}')")
    screenshot(page, "auditor-event-detail")
    assert page.locator("[data-chain=verified]").is_visible()
    assert event.hash in page.content()
    assert page.locator("input[name=_save], input[name=_continue], a.deletelink").count() == 0

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    change = page.request.post(f"{page.base_url}/admin/ledger/event/{event.position}/change/",
                               form={"csrfmiddlewaretoken": csrf, "event_type": "rewritten"},
                               headers={"X-CSRFToken": csrf, "Referer": page.url})
    delete = page.request.post(f"{page.base_url}/admin/ledger/event/{event.position}/delete/",
                               form={"csrfmiddlewaretoken": csrf, "post": "yes"}, headers={"Referer": page.url})
    assert (change.status, delete.status) == (403, 403)
    assert store.read_stream("journal", event.stream_id)[0].event_type == "note_added"


def test_the_dashboard_renders_its_chart(browser_page, committed_user):
    symbol = f"W{secrets.token_hex(3).upper()}"
    today = datetime.now(UTC).date()
    for days_ago, account, counterpart, qty in [
        (5, f"custody:alpaca-main:{symbol}", f"equity:opening:{symbol}", "500"),
        (3, f"partner:p1:pending-mint:{symbol}", f"chain:ethereum:{symbol}:supply", "200"),
        (1, f"partner:p1:pending-mint:{symbol}", f"chain:ethereum:{symbol}:supply", "250"),
    ]:
        move(symbol, account, counterpart, qty, effective_at=datetime.combine(today - timedelta(days=days_ago), time(12), tzinfo=UTC))
    page = browser_page
    page.login(committed_user("operator"))

    page.goto(f"{page.base_url}/admin/?symbol={symbol}&days=7")

    chart = page.locator(f"#backing-chart[data-symbol='{symbol}'] svg")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    custody, outstanding = page.locator("polyline.custody"), page.locator("polyline.outstanding")
    assert len(custody.get_attribute("points").split()) == 7 == len(outstanding.get_attribute("points").split())
    assert page.locator(f"tr[data-symbol='{symbol}'] td[data-ratio]").inner_text() == "1.1111"
    screenshot(page, "dashboard-chart")
