"""Looking up custody accounts by the name used in ledger account paths."""
from __future__ import annotations

from .errors import UnknownCustodyAccount
from .models import CustodyAccount


def get_custody_account(account: str | CustodyAccount) -> CustodyAccount:
    if isinstance(account, CustodyAccount):
        return account
    found = CustodyAccount.objects.filter(name=account).first()
    if found is None:
        known = ", ".join(CustodyAccount.objects.values_list("name", flat=True)) or "none"
        raise UnknownCustodyAccount(f"no custody account named {account!r} (known: {known})")
    return found
