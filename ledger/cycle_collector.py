"""Pausing Python's cycle collector around work that allocates a great many short-lived objects."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cycle collector for a batch append, a verify or a rebuild. Each allocates hundreds of thousands
    of small objects that form no reference cycles (strings, tuples, frozen dataclasses, decoded JSON), so
    reference counting frees them all; left on, the collector runs every few hundred allocations and its older
    generations walk the whole process heap. Measured (docs/performance.md): a fifth of a 5,000-event batch,
    6% of a verify, 20% of a rebuild. Switched back on, if it was on, however the work ends. Process-wide, so
    other threads skip cycle collection meanwhile: memory, never correctness."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
