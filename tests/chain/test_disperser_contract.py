"""Dividend airdrops through the Disperser: each batch pays its holders exactly once."""
from __future__ import annotations

from chain.testing import ChainHarness
from chain.tx import TxState, TxStatus, id_to_bytes32, sign_approve, sign_disperse, sign_mint

USD = 10**6  # one dollar of the 6-decimal test stablecoin


def fund_payer_and_approve(chain: ChainHarness, dollars: int) -> None:
    payer, minter = chain.actors.dividend_payer, chain.actors.minter
    funding = sign_mint(
        minter,
        chain_id=chain.chain_id,
        nonce=chain.nonce(minter),
        gas=chain.gas(),
        token=chain.deployment.stablecoin,
        to=payer.address,
        amount=dollars * USD,
        request_id=id_to_bytes32("fund-dividend-payer"),
    )
    approval = sign_approve(
        payer,
        chain_id=chain.chain_id,
        nonce=chain.nonce(payer),
        gas=chain.gas(),
        token=chain.deployment.stablecoin,
        spender=chain.deployment.disperser,
        amount=dollars * USD,
    )
    assert chain.execute(funding).state is TxState.CONFIRMED
    assert chain.execute(approval).state is TxState.CONFIRMED


def pay_batch(chain: ChainHarness, batch_key: str, payouts: dict[str, int], signer=None) -> TxStatus:
    signer = signer or chain.actors.dividend_payer
    signed = sign_disperse(
        signer,
        chain_id=chain.chain_id,
        nonce=chain.nonce(signer),
        gas=chain.gas(500_000),
        disperser=chain.deployment.disperser,
        token=chain.deployment.stablecoin,
        batch_id=id_to_bytes32(batch_key),
        recipients=list(payouts),
        amounts=list(payouts.values()),
    )
    return chain.execute(signed)


def test_a_dividend_batch_pays_each_holder_once_and_a_replay_is_refused(chain: ChainHarness):
    fund_payer_and_approve(chain, 1_000)
    holder_a, holder_b = chain.actors.holder_a.address, chain.actors.holder_b.address
    payouts = {holder_a: 123_450_000, holder_b: 6_780_000}  # $123.45 and $6.78 after withholding

    assert pay_batch(chain, "AAPL-2026-11-DVCA", payouts).state is TxState.CONFIRMED
    assert pay_batch(chain, "AAPL-2026-11-DVCA", payouts).state is TxState.REVERTED

    balance_of = chain.stablecoin.functions.balanceOf
    assert (balance_of(holder_a).call(), balance_of(holder_b).call()) == (123_450_000, 6_780_000)
    assert balance_of(chain.actors.dividend_payer.address).call() == 1_000 * USD - 130_230_000
    assert chain.disperser.functions.batchDone(id_to_bytes32("AAPL-2026-11-DVCA")).call() is True
    replay = chain.disperser.functions.disperse(
        chain.deployment.stablecoin, id_to_bytes32("AAPL-2026-11-DVCA"), list(payouts), list(payouts.values())
    )
    assert chain.revert_error(replay, chain.actors.dividend_payer) == "BatchAlreadyDone"


def test_only_the_dividend_payer_can_use_the_disperser(chain: ChainHarness):
    fund_payer_and_approve(chain, 10)
    outsider = chain.actors.outsider

    assert pay_batch(chain, "squatted-batch", {outsider.address: USD}, signer=outsider).state is TxState.REVERTED
    assert chain.disperser.functions.batchDone(id_to_bytes32("squatted-batch")).call() is False
