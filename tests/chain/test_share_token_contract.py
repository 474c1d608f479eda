"""ShareToken: supply moves only by minter/burner, once per request id, and never while paused."""
from __future__ import annotations

from eth_account.signers.local import LocalAccount

from chain.reads import transfer_logs
from chain.testing import ChainHarness
from chain.tx import TxState, TxStatus, id_to_bytes32, sign_burn_from_redemption, sign_mint

SHARE = 10**18  # one AAPLx (18 decimals) in base units
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def mint(
    chain: ChainHarness, request_key: str, amount: int, to: str | None = None, signer: LocalAccount | None = None
) -> TxStatus:
    """Sign and send ShareToken.mint for `request_key` (by the minter unless `signer` says otherwise)."""
    signer = signer or chain.actors.minter
    return chain.execute(
        sign_mint(
            signer,
            chain_id=chain.chain_id,
            nonce=chain.nonce(signer),
            gas=chain.gas(),
            token=chain.deployment.token,
            to=to or chain.actors.redemption_wallet.address,
            amount=amount,
            request_id=id_to_bytes32(request_key),
        )
    )


def burn_from_redemption(chain: ChainHarness, request_key: str, amount: int) -> TxStatus:
    burner = chain.actors.burner
    return chain.execute(
        sign_burn_from_redemption(
            burner,
            chain_id=chain.chain_id,
            nonce=chain.nonce(burner),
            gas=chain.gas(),
            token=chain.deployment.token,
            amount=amount,
            request_id=id_to_bytes32(request_key),
        )
    )


def test_minted_tokens_reach_the_wallet_and_redemption_burns_them_with_transfer_events(chain: ChainHarness):
    wallet = chain.actors.redemption_wallet.address
    first_block = chain.w3.eth.block_number + 1

    assert mint(chain, "mint-req-1", 100 * SHARE).state is TxState.CONFIRMED
    assert burn_from_redemption(chain, "redeem-req-1", 40 * SHARE).state is TxState.CONFIRMED

    assert chain.token.functions.totalSupply().call() == 60 * SHARE
    assert chain.token.functions.balanceOf(wallet).call() == 60 * SHARE
    assert chain.token.functions.mintedFor(id_to_bytes32("mint-req-1")).call() == 100 * SHARE
    assert chain.token.functions.burnedFor(id_to_bytes32("redeem-req-1")).call() == 40 * SHARE
    transfers = transfer_logs(chain.w3, chain.deployment.token, first_block, chain.w3.eth.block_number)
    assert [(t.from_address, t.to_address, t.value) for t in transfers] == [
        (ZERO_ADDRESS, wallet, 100 * SHARE),
        (wallet, ZERO_ADDRESS, 40 * SHARE),
    ]


def test_a_retried_mint_request_cannot_mint_twice(chain: ChainHarness):
    assert mint(chain, "mint-req-retried", 10 * SHARE).state is TxState.CONFIRMED

    # A second, differently signed transaction for the same request (e.g. a retry after a crash that lost
    # the first signed bytes) is refused by the contract itself.
    assert mint(chain, "mint-req-retried", 10 * SHARE).state is TxState.REVERTED
    assert chain.token.functions.totalSupply().call() == 10 * SHARE
    retry = chain.token.functions.mint(chain.actors.holder_a.address, 10 * SHARE, id_to_bytes32("mint-req-retried"))
    assert chain.revert_error(retry, chain.actors.minter) == "RequestAlreadyMinted"


def test_a_redemption_cannot_burn_twice(chain: ChainHarness):
    mint(chain, "mint-for-redemption", 10 * SHARE)
    assert burn_from_redemption(chain, "redeem-once", 3 * SHARE).state is TxState.CONFIRMED

    assert burn_from_redemption(chain, "redeem-once", 3 * SHARE).state is TxState.REVERTED
    assert chain.token.functions.totalSupply().call() == 7 * SHARE


def test_paused_token_refuses_mints_and_transfers_until_unpaused(chain: ChainHarness):
    holder_a, holder_b = chain.actors.holder_a, chain.actors.holder_b
    mint(chain, "mint-before-pause", 5 * SHARE, to=holder_a.address)
    chain.act_as(chain.actors.pauser, chain.token.functions.pause())

    assert mint(chain, "mint-while-paused", 5 * SHARE).state is TxState.REVERTED
    transfer = chain.token.functions.transfer(holder_b.address, 1 * SHARE)
    assert chain.revert_error(transfer, holder_a) == "TokenPaused"
    assert chain.token.functions.totalSupply().call() == 5 * SHARE

    chain.act_as(chain.actors.pauser, chain.token.functions.unpause())
    chain.act_as(holder_a, transfer)
    assert chain.token.functions.balanceOf(holder_b.address).call() == 1 * SHARE


def test_an_account_without_the_minter_role_cannot_mint_not_even_the_admin(chain: ChainHarness):
    for intruder in (chain.actors.admin, chain.actors.outsider):
        assert mint(chain, f"mint-by-{intruder.address}", SHARE, signer=intruder).state is TxState.REVERTED
        attempt = chain.token.functions.mint(intruder.address, SHARE, id_to_bytes32("intrusion"))
        assert chain.revert_error(attempt, intruder) == "MissingRole"
    assert chain.token.functions.totalSupply().call() == 0


def test_only_the_pauser_can_pause(chain: ChainHarness):
    assert chain.revert_error(chain.token.functions.pause(), chain.actors.minter) == "MissingRole"
