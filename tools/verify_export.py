#!/usr/bin/env python3
"""Verify a shareledger audit export without trusting the issuer's database or code.

Standard library only. Usage:
    python3 tools/verify_export.py EXPORT.jsonl [--anchor POSITION:HASH ...] [--expect-head HASH] [--balances]

Checks, line by line: positions are contiguous from the header's first_position; every event's prev_hash
is the previous event's hash (the first one links to the header's prev_hash); every hash is SHA-256 over
the canonical encoding below; every event's postings sum to zero per asset. With --anchor (repeatable),
the event at POSITION must have HASH, a (position, hash) pair read from the on-chain anchor contract: since
every anchor is followed by its own `ledger_anchored` event, an export never ends at an anchored position.
The header lists the anchors recorded for positions in the file, for convenience only; take the hashes from
the chain. With --expect-head, the last hash must equal a head hash obtained elsewhere (a proof-of-reserves
page, an export of the same period held earlier).
With --balances it prints the net movement per account and asset over the exported period (the full
balances when the export starts at position 1).

Canonical encoding (the issuer's ledger/canonical.py implements the same rule):
JSON of {position, stream_type, stream_id, version, event_type, schema_version, payload, metadata,
recorded_at, effective_at, postings, prev_hash}, keys sorted, separators "," and ":", UTF-8, non-ASCII
unescaped; decimals are strings without exponent or trailing zeros; timestamps "YYYY-MM-DDTHH:MM:SS.ffffffZ".
Exit status 0 when intact, 1 with the first bad position when not, 2 on unreadable input or when an
--anchor position is not in the export.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import defaultdict
from decimal import Context, Decimal, InvalidOperation

HASHED_FIELDS = ("position", "stream_type", "stream_id", "version", "event_type", "schema_version", "payload",
                 "metadata", "recorded_at", "effective_at", "postings", "prev_hash")
DECIMAL_RE = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")
EXACT = Context(prec=100)  # sums never round (the default context keeps 28 digits)
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def canonical_hash(event: dict) -> str:
    body = {name: event[name] for name in HASHED_FIELDS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_event(event: dict, expected_position: int, expected_prev: str) -> str | None:
    missing = [name for name in (*HASHED_FIELDS, "hash") if name not in event]
    if missing:
        return f"missing fields: {', '.join(missing)}"
    if event["position"] != expected_position:
        return f"expected position {expected_position}, found {event['position']}"
    if event["prev_hash"] != expected_prev:
        return f"prev_hash does not link to the previous event's hash {expected_prev}"
    for name in ("recorded_at", "effective_at"):
        if not TIMESTAMP_RE.match(str(event[name])):
            return f"{name} {event[name]!r} is not a canonical UTC timestamp"
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in event["postings"]:
        amount = leg.get("amount")
        if not isinstance(amount, str) or not DECIMAL_RE.match(amount) or amount == "0":
            return f"posting amount {amount!r} is not a canonical non-zero decimal string"
        try:
            totals[leg["asset"]] = EXACT.add(totals[leg["asset"]], Decimal(amount))
        except (InvalidOperation, KeyError):
            return f"posting {leg!r} is malformed"
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        return f"postings do not balance: {unbalanced}"
    recomputed = canonical_hash(event)
    if recomputed != event["hash"]:
        return f"hash mismatch: recorded {event['hash']}, recomputed {recomputed} (content altered)"
    return None


def anchor_argument(text: str) -> tuple[int, str]:
    """POSITION:HASH -> (position, lowercase hex hash); the hash may carry the 0x a block explorer shows."""
    position, _, anchored_hash = text.partition(":")
    anchored_hash = anchored_hash.lower().removeprefix("0x")
    if not position.isdigit() or not HASH_RE.match(anchored_hash):
        raise argparse.ArgumentTypeError(f"{text!r} is not POSITION:HASH (a position and a 64-digit hex hash)")
    return int(position), anchored_hash


def verify(path: str, expect_head: str | None, show_balances: bool, anchors: dict[int, str] | None = None) -> int:
    anchors = anchors or {}
    balances: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        print(f"cannot read {path}: {exc}")
        return 2
    with handle:
        try:
            header = json.loads(handle.readline())
        except json.JSONDecodeError as exc:
            print(f"line 1: header is not JSON: {exc}")
            return 2
        if header.get("format") != "shareledger-export/1":
            print(f"line 1: unknown export format {header.get('format')!r}")
            return 2
        expected_position = header.get("first_position")
        expected_prev = header.get("prev_hash")
        count = 0
        last_hash = None
        for line_number, line in enumerate(handle, start=2):
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"line {line_number}: not JSON ({exc})")
                return 1
            problem = check_event(event, expected_position, expected_prev)
            if not problem and event["position"] in anchors and event["hash"] != anchors[event["position"]]:
                problem = f"hash {event['hash']} differs from the anchored hash {anchors[event['position']]}"
            if problem:
                print(f"export BROKEN at position {event.get('position', expected_position)} (line {line_number}): {problem}")
                return 1
            for leg in event["postings"]:
                key = (leg["account"], leg["asset"])
                balances[key] = EXACT.add(balances[key], Decimal(leg["amount"]))
            expected_prev = last_hash = event["hash"]
            expected_position += 1
            count += 1
    if count != (header.get("event_count") or 0):
        print(f"export BROKEN: header announces {header.get('event_count')} events, file holds {count}")
        return 1
    if expect_head and last_hash != expect_head:
        print(f"export BROKEN: last hash {last_hash} differs from the expected head {expect_head}")
        return 1
    held = range(header["first_position"], expected_position) if count else range(0)
    outside = sorted(position for position in anchors if position not in held)
    if outside:
        print(f"cannot check anchors at positions {', '.join(map(str, outside))}: the export holds positions "
              f"{header.get('first_position')}..{header.get('last_position')}")
        return 2
    if show_balances:
        for (account, asset), total in sorted(balances.items()):
            if total != 0:
                print(f"{account}\t{asset}\t{total:f}")
    matched = f"; anchors at positions {', '.join(map(str, sorted(anchors)))} match" if anchors else ""
    print(f"export OK: {count} events, positions {header.get('first_position')}..{header.get('last_position')}, "
          f"head {last_hash}{matched}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export")
    parser.add_argument("--anchor", action="append", type=anchor_argument, default=[], metavar="POSITION:HASH",
                        help="hash the event at POSITION must have, read from the on-chain anchor (repeatable)")
    parser.add_argument("--expect-head", help="hash the last event must have")
    parser.add_argument("--balances", action="store_true", help="print net movement per account and asset")
    args = parser.parse_args(argv)
    return verify(args.export, args.expect_head, args.balances, dict(args.anchor))


if __name__ == "__main__":
    sys.exit(main())
