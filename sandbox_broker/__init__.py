"""An Alpaca-compatible sandbox broker: the custody account shareledger's tests and demo trade against.

Point the real alpaca-py client at it:

    sandbox = start_sandbox(tmp_path / "broker.json", fill_prices={"AAPL": "190.12"})
    client = TradingClient("PKSANDBOXCUSTODY", "sandbox-custody-secret", paper=True, url_override=sandbox.base_url)
    ...
    sandbox.stop()

or run it in the foreground: `python -m sandbox_broker --port 8766 --state PATH [--fill-price SYMBOL=PRICE ...]`.

Accounts: "custody" is the issuer's account (keys PKSANDBOXCUSTODY / sandbox-custody-secret) and "ap" an
authorized participant (PKSANDBOXAP / sandbox-ap-secret); more can be added. Every request needs the
APCA-API-KEY-ID and APCA-API-SECRET-KEY headers: none at all is a 403 {"message": "forbidden."}, a wrong pair
a 401 {"code": 40110000, "message": "request is not authorized"}, exactly as Alpaca answers.

Trading API v2 (bodies as alpaca-py 0.44 parses them; decimals are strings, timestamps RFC 3339 UTC):
  GET    /v2/account
  GET    /v2/assets                        status, asset_class, exchange, attributes
  GET    /v2/assets/{symbol_or_id}
  GET    /v2/positions, /v2/positions/{symbol_or_asset_id}
  POST   /v2/orders                        market orders only; fill at the configured price, possibly in steps
  GET    /v2/orders                        status open|closed|all, limit (50, max 500), after, until, direction,
                                           symbols, side, nested
  DELETE /v2/orders                        cancel all open orders (207)
  GET    /v2/orders/{id}, /v2/orders:by_client_order_id?client_order_id=...
  DELETE /v2/orders/{id}                   204; 422 once the order is filled
  GET    /v2/account/activities            activity_types, category, date, after, until, direction,
                                           page_size (100, max 100 unless date), page_token (last id seen)
  GET    /v2/account/activities/{type}     FILL, DIV, JNLS, JNLC, SPLIT, REORG, FEE... (Alpaca's ActivityType)
  GET    /v2/clock
  GET    /v2/corporate_actions/announcements   ca_types, since, until (inclusive, <= 90 days), symbol, cusip,
                                               date_type; and /{id}
Duplicate client_order_id: 422 {"code": 40010001, "message": "client_order_id must be unique"}.
Unknown order: 404 {"code": 40410000, "message": "order not found for <id>"}.

Tokenization (Alpaca's Instant Tokenization Network; details in sandbox_broker.tokenization):
  POST /v2/tokenization/mint                                   AP: {underlying_symbol, qty, issuer, network,
                                                               wallet_address} -> tokenization_request_id;
                                                               JNLS from the AP's account to the custody account
  GET  /v2/tokenization/requests[/{id}], /v2/tokenization/requests:by_client_request_id
  POST /v1/accounts/{custody_account_id}/tokenization/callback/mint     issuer: {tokenization_request_id,
                                                               tx_hash, client_id?, wallet_address?, network?}
  POST /v1/accounts/{custody_account_id}/tokenization/callback/redeem   issuer: {issuer_request_id,
                                                               underlying_symbol, token_symbol, qty, network,
                                                               wallet_address, tx_hash, client_id |
                                                               client_external_account_id | client_account_id}
  GET  /v1/accounts/{account_id}/tokenization/requests[/{id}], ...requests:by_issuer_request_id

Test controls live under /_sandbox/ (see sandbox_broker.control_routes; Python client
sandbox_broker.control.SandboxControl): reset, prices and fill plans, silent position changes, DIV / JNLS /
JNLC / SPLIT / FEE / any other activity, corporate action announcements, the clock, faults (HTTP 5xx, 429
with Retry-After, timeouts, truncated pages) and the request log.

State (everything but faults and the request log) is one JSON file, rewritten atomically after every change,
so a restarted sandbox carries on where it stopped.
"""
from .control import SandboxControl, SandboxControlError
from .launch import RunningSandbox, SandboxStartError, start_sandbox, stop_sandbox
from .state import SandboxSettings

__all__ = [
    "RunningSandbox",
    "SandboxControl",
    "SandboxControlError",
    "SandboxSettings",
    "SandboxStartError",
    "start_sandbox",
    "stop_sandbox",
]
