"""Operator commands: deploy a token, run pending work once; a refusal is one line and exit code 1."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from issuance import services
from issuance.models import MintRequest, TokenDeployment

from .support import OPS, make_partner

pytestmark = pytest.mark.django_db


def test_deploy_token_then_process_mints_completes_a_secured_mint(instrument, keys, book_share_journal):
    out = io.StringIO()
    call_command("deploy_token", "--symbol", instrument.symbol, "--network", "anvil", "--actor", "user:ops", stdout=out)
    deployment = TokenDeployment.objects.get(instrument=instrument)
    assert f"{instrument.symbol}x deployed on anvil at {deployment.contract_address}" in out.getvalue()
    partner = make_partner(instrument.symbol.lower(), instrument.symbol, keys.partner_wallet.address)
    request = services.request_mint(partner, instrument.symbol, "1", "anvil", keys.partner_wallet.address, "p:x")
    book_share_journal(instrument.symbol, "1")
    services.secure_shares(request.id, OPS)
    out = io.StringIO()
    call_command("process_mints", "--no-itn", stdout=out)
    assert f"mint {request.id}: completed" in out.getvalue()
    assert services.get_mint(request.id).status == MintRequest.Status.COMPLETED


def test_a_refused_command_says_why_in_one_line(keys):
    with pytest.raises(CommandError) as refused:
        call_command("deploy_token", "--symbol", "NOPE", "--network", "anvil")
    assert str(refused.value).startswith("unknown_instrument: ")
    assert refused.value.returncode == 1


@pytest.mark.parametrize("command", [["process_mints", "--no-itn"], ["run_payout", "--run", "x"]])
def test_a_wait_that_is_not_a_number_is_a_usage_error_not_a_traceback(command):
    with pytest.raises(CommandError, match="'abc' is not a number of seconds"):
        call_command(*command, "--wait", "abc", stdout=io.StringIO())
