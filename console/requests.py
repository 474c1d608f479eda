"""Console clicks that start work done later or by the system ("process now", "sync now", "run a
reconciliation") are themselves facts: who asked for what, when. Each is one event on stream
`console_request/<id>`, appended before the work is started, so the ledger names the person even where the
work it triggers is recorded by a system actor."""
from __future__ import annotations

import uuid
from typing import Any

from ledger import store
from ledger.store import NewEvent

STREAM_TYPE = "console_request"


def record_request(kind: str, actor: str, **details: Any) -> str:
    """Append `<kind>_requested` carrying the actor; returns the request id."""
    request_id = str(uuid.uuid4())
    store.append(STREAM_TYPE, request_id, [NewEvent(f"{kind}_requested", details)], metadata={"actor": actor},
                 expected_version=0)
    return request_id
