"""Real browser against a real server process: an approver approves a pending mint and sees it progress.

The mint (1500 tokens, above the 1000 threshold) is asked for by a partner and committed, so the server process
sees it. Screenshots go to test-artifacts/console/.
"""
from __future__ import annotations

import re

import pytest

from custody.services import create_instrument
from issuance.models import MintRequest

from .conftest import screenshot, unique_isin
from .issuance_setup import SETUP_ACTOR, chain_for_test, open_market

pytestmark = pytest.mark.slow


def test_an_approver_approves_a_pending_mint_and_sees_it_progress(committed_db, browser_page, committed_user, settings,
                                                                  anvil_node, unique):
    symbol = "B" + unique[:6].upper()
    instrument = create_instrument(symbol, f"Browser Corp {symbol}", unique_isin(unique), actor=SETUP_ACTOR)
    market = open_market(chain_for_test(settings, anvil_node.url), instrument, unique)
    mint = market.request_mint("1500")
    approver = committed_user("approver")
    page = browser_page
    page.login(approver)
    screenshot(page, "approver-dashboard")

    page.click("[data-slot=pending_requests] a:has-text('Mints awaiting a second approver')")
    page.wait_for_url(re.compile(r".*/admin/issuance/mintrequest/\?status__exact=requested$"))
    page.click("#toggle-nav-sidebar")  # room for every column of the queue in the screenshots
    page.fill("input[name=symbol]", symbol)
    page.press("input[name=symbol]", "Enter")
    page.wait_for_url(re.compile(rf".*symbol={symbol}.*"))
    row = page.locator("#result_list tbody tr").filter(has=page.locator(f"a:text-is('{mint.id}')"))
    assert row.locator("td.field-status").inner_text() == "Requested"
    assert row.locator("td.field-request_age").inner_text().endswith(" s")
    screenshot(page, "approver-mint-queue")

    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_load_state()

    assert "Approve selected mints (second approver): 1 done" in page.locator("ul.messagelist").inner_text()
    screenshot(page, "approver-mint-approve-done")
    assert page.locator(f"#result_list a:text-is('{mint.id}')").count() == 0  # no longer awaiting approval
    page.goto(f"{page.base_url}/admin/issuance/mintrequest/?symbol={symbol}")
    row = page.locator("#result_list tbody tr").filter(has=page.locator(f"a:text-is('{mint.id}')"))
    assert row.locator("td.field-status").inner_text() == "Approved"
    assert row.locator("td.field-approved_by").inner_text() == f"user:{approver.username}"
    screenshot(page, "approver-mint-approved")
    assert MintRequest.objects.get(pk=mint.id).approved_by == f"user:{approver.username}"
