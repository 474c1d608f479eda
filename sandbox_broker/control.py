"""SandboxControl: the /_sandbox/ control API from Python, for tests, fixtures and the demo (urllib only).

Amounts go over the wire as strings, so Decimal("0.24") arrives as exactly 0.24. Every method returns the
sandbox's JSON answer; a refusal raises SandboxControlError with the status and Alpaca-style body.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

Amount = Decimal | str | int
CUSTODY = "custody"


class SandboxControlError(RuntimeError):
    def __init__(self, status: int, body: object) -> None:
        super().__init__(f"sandbox control call failed with {status}: {body}")
        self.status = status
        self.body = body


def _as_text(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__}")


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None, query: dict | None = None) -> Any:
        url = f"{self.base_url}/_sandbox/{path}"
        if query:
            url += "?" + urlencode({key: value for key, value in query.items() if value is not None})
        payload = json.dumps({key: value for key, value in (body or {}).items() if value is not None},
                             default=_as_text).encode()
        request = urllib.request.Request(url, data=payload, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as refusal:
            raise SandboxControlError(refusal.code, json.loads(refusal.read() or b"null")) from None

    # the world
    def reset(self) -> None:
        self._call("POST", "reset")

    def state(self) -> dict:
        return self._call("GET", "state")

    def accounts(self) -> list[dict]:
        return self._call("GET", "accounts")

    def account(self, name: str) -> dict:
        """id, name, account_number, key_id, secret_key and external_account_id of one account."""
        return next(account for account in self.accounts() if account["name"] == name)

    def add_account(self, name: str, key_id: str, secret_key: str, cash: Amount = "0",
                    external_account_id: str | None = None) -> dict:
        return self._call("POST", "accounts", {"name": name, "key_id": key_id, "secret_key": secret_key,
                                               "cash": cash, "external_account_id": external_account_id})

    # prices and fills
    def set_fill_price(self, symbol: str, price: Amount) -> dict:
        return self._call("POST", "prices", {"symbol": symbol, "price": price})

    def set_fill_plan(self, symbol: str, fractions: list[Amount]) -> dict:
        return self._call("POST", "fill_plans", {"symbol": symbol, "fractions": fractions})

    def clear_fill_plan(self, symbol: str) -> dict:
        return self._call("POST", "fill_plans", {"symbol": symbol, "fractions": []})

    def advance_orders(self) -> int:
        return self._call("POST", "orders/advance")["orders_advanced"]

    # positions and cash changed without any activity: breaks nobody can explain
    def set_position(self, symbol: str, qty: Amount, avg_entry_price: Amount | None = None,
                     account: str = CUSTODY) -> dict:
        return self._call("POST", "positions", {"account": account, "symbol": symbol, "qty": qty,
                                                "avg_entry_price": avg_entry_price})

    def adjust_position(self, symbol: str, delta: Amount, account: str = CUSTODY) -> dict:
        return self._call("POST", "positions/adjust", {"account": account, "symbol": symbol, "delta": delta})

    def set_cash(self, cash: Amount, account: str = CUSTODY) -> dict:
        return self._call("POST", "cash", {"account": account, "cash": cash})

    # booked activities, each with its effect on positions or cash
    def add_dividend(self, symbol: str, per_share_amount: Amount, account: str | None = None,
                     net_amount: Amount | None = None, date: str | None = None) -> list[dict]:
        return self._call("POST", "dividends", {"symbol": symbol, "per_share_amount": per_share_amount,
                                                "account": account, "net_amount": net_amount, "date": date})

    def add_share_journal(self, symbol: str, qty: Amount, account: str = CUSTODY, description: str = "",
                          date: str | None = None) -> dict:
        return self._call("POST", "journals", {"activity_type": "JNLS", "account": account, "symbol": symbol,
                                               "qty": qty, "description": description, "date": date})

    def add_cash_journal(self, net_amount: Amount, account: str = CUSTODY, description: str = "",
                         date: str | None = None) -> dict:
        return self._call("POST", "journals", {"activity_type": "JNLC", "account": account,
                                               "net_amount": net_amount, "description": description, "date": date})

    def add_split(self, symbol: str, old_rate: Amount, new_rate: Amount, date: str | None = None) -> list[dict]:
        return self._call("POST", "splits", {"symbol": symbol, "old_rate": old_rate, "new_rate": new_rate,
                                             "date": date})

    def add_fee(self, amount: Amount, account: str = CUSTODY, description: str = "fee",
                date: str | None = None) -> dict:
        return self._call("POST", "fees", {"account": account, "amount": amount, "description": description,
                                           "date": date})

    def add_activity(self, activity_type: str, account: str = CUSTODY, **fields: Any) -> dict:
        """Any non-trade activity: symbol, qty (moves shares), net_amount (moves cash), price, per_share_amount,
        description, date, booked_at."""
        return self._call("POST", "activities", {"activity_type": activity_type, "account": account, **fields})

    def add_announcement(self, ca_type: str, initiating_symbol: str, **fields: Any) -> dict:
        """ca_sub_type, declaration_date, ex_date, record_date, payable_date, cash, old_rate, new_rate..."""
        return self._call("POST", "announcements", {"ca_type": ca_type, "initiating_symbol": initiating_symbol,
                                                    **fields})

    def set_market_open(self, is_open: bool | None) -> dict:
        """Force /v2/clock open or shut; None follows New York regular hours again."""
        return self._call("POST", "clock", {"is_open": is_open} if is_open is not None else {})

    # faults and the request log
    def inject_fault(self, kind: str, method: str = "*", path_prefix: str = "/", count: int = 1,
                     **options: Any) -> list[dict]:
        """kind: http_error (status), rate_limit (retry_after), timeout (delay_seconds, process_request),
        truncated_page (truncation: short_page|bad_json|incomplete_body, keep_items)."""
        return self._call("POST", "faults", {"kind": kind, "method": method, "path_prefix": path_prefix,
                                             "count": count, **options})

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests(self, method: str | None = None, path_prefix: str | None = None) -> list[dict]:
        return self._call("GET", "requests", query={"method": method, "path_prefix": path_prefix})

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")
