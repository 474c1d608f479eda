"""Every way the on-chain layer fails has a name; `code` is the stable machine-readable form."""
from __future__ import annotations


class ChainError(Exception):
    """Base of chain failures."""

    code = "chain_error"


class ChainUnavailable(ChainError):
    """The RPC endpoint did not answer (refused, reset or timed out). Never read as "zero"."""

    code = "chain_unavailable"


class ChainReadFailed(ChainError):
    """The node answered but a read did not yield a value: a call reverted, a target has no code, or the
    state at the pinned block is gone (pruned)."""

    code = "chain_read_failed"


class BroadcastRejected(ChainError):
    """The node refused a signed transaction and does not know it (bad fee, insufficient funds, ...)."""

    code = "broadcast_rejected"


class NonceAlreadyUsed(BroadcastRejected):
    """The signer's nonce was consumed by a different transaction: this signed one can never be mined."""

    code = "nonce_already_used"


class DeploymentFailed(ChainError):
    """A deploy or set-up transaction reverted or left no code at the new address."""

    code = "deployment_failed"


class ArtifactNotFound(ChainError):
    """No compiled artifact for that contract name: run contracts/build.py."""

    code = "artifact_not_found"


class AnvilNotInstalled(ChainError):
    """node_modules has no anvil binary: run `npm ci` at the repository root."""

    code = "anvil_not_installed"


class AnvilStartFailed(ChainError):
    """anvil exited or did not answer in time; the message carries the tail of its log."""

    code = "anvil_start_failed"
