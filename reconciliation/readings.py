"""What a run read from one source, as recorded in its `source_fetched` event.

A source is `ok`, or it is `unreachable` (did not answer usefully), `stale` (answered, but its data is older
than the threshold) or `missing` (never observed). Only `ok` data is compared; anything else makes the
instruments that depend on the source incomplete, never clean and never a break of the business kind.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger import canonical

OK = "ok"
UNREACHABLE = "unreachable"
STALE = "stale"
MISSING = "missing"


@dataclass
class SourceReading:
    kind: str  # custody | chain | ledger
    name: str  # custody:<account> | chain:<network> | ledger
    status: str
    as_of: datetime | None = None
    detail: str = ""
    raw_sha256: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # block number and hash, read method, positions...

    @property
    def ok(self) -> bool:
        return self.status == OK

    def event_payload(self) -> dict[str, Any]:
        return {"source_kind": self.kind, "source": self.name, "status": self.status,
                "as_of": self.as_of, "detail": self.detail, "raw_sha256": self.raw_sha256, **self.facts}


def data_sha256(data: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, decimals as strings) of the data a run compared."""
    return hashlib.sha256(canonical.dumps(canonical.normalize_json(data, "source data")).encode()).hexdigest()
