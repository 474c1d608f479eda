"""Audit export for download: ledger.export.export into a temporary file, and an event saying who took it.

The event (stream `audit_export`) records the period, the positions covered and the SHA-256 of the file, so
an auditor's copy can later be matched to the ledger's own record of handing it out.
"""
from __future__ import annotations

import hashlib
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date
from typing import IO

from ledger import store
from ledger.export import export

EXPORT_STREAM_TYPE = "audit_export"
VERIFY_COMMAND = "python3 tools/verify_export.py FILE --balances"


@dataclass(frozen=True)
class AuditExport:
    file: IO[bytes]  # positioned at the start; the caller streams and closes it
    filename: str
    header: dict
    sha256: str
    size: int


class _HashingWriter:
    """The text file-like export() writes to: UTF-8 into `sink`, hashed on the way."""

    def __init__(self, sink: IO[bytes]):
        self.sink = sink
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.digest.update(data)
        self.sink.write(data)
        self.size += len(data)
        return len(text)


def produce_export(date_from: date, date_to: date, *, actor: str) -> AuditExport:
    """Write the export of events recorded from date_from to date_to (UTC, inclusive) and record who took it."""
    sink = tempfile.TemporaryFile()
    writer = _HashingWriter(sink)
    header = export(writer, date_from, date_to)
    sink.seek(0)
    export_id = uuid.uuid4().hex
    sha256 = writer.digest.hexdigest()
    store.append(
        EXPORT_STREAM_TYPE, export_id,
        [store.NewEvent("audit_export_downloaded", {
            "from": date_from.isoformat(), "to": date_to.isoformat(),
            "first_position": header["first_position"], "last_position": header["last_position"],
            "event_count": header["event_count"], "sha256": sha256, "bytes": writer.size,
        })],
        metadata={"actor": actor},
        expected_version=store.NO_STREAM,
    )
    filename = f"shareledger-export-{date_from.isoformat()}-to-{date_to.isoformat()}.jsonl"
    return AuditExport(sink, filename, header, sha256, writer.size)
