"""Known stream types. Each app registers the streams it writes in its AppConfig.ready(); appending to an
unregistered type is refused, so a typo cannot start a stream nobody projects or reconciles."""
from __future__ import annotations

from .errors import InvalidEvent

_stream_types: dict[str, str] = {}


def register_stream_type(name: str, description: str) -> None:
    _stream_types[name] = description


def check_stream_type(name: str) -> None:
    if name not in _stream_types:
        raise InvalidEvent("unknown_stream_type", f"unknown stream type {name!r}; known: {', '.join(sorted(_stream_types))}")


def stream_types() -> dict[str, str]:
    return dict(_stream_types)
