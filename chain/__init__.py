"""shareledger's on-chain layer: anvil for development, contract artifacts, deploys, offline-signed
transactions with idempotent broadcast, and batched reads at a pinned block.

Pure Python on web3.py; no Django. Callers pass RPC URLs, keys and addresses in as arguments.
"""
