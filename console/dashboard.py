"""Dashboard slots that later features fill.

The dashboard reserves a panel for each slot below and shows "not connected yet" until a feature fills it,
from its AppConfig.ready():

    from console.dashboard import Panel, PanelRow, fill_slot

    def open_breaks_panel(request) -> Panel:
        breaks = Break.objects.filter(status="open")
        return Panel([PanelRow(f"{b.symbol}: {b.difference}", b.age_text, url=..., alert=True) for b in breaks[:10]],
                     note=f"{breaks.count()} open")

    fill_slot("open_breaks", open_breaks_panel)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest

SLOTS: dict[str, tuple[str, str]] = {  # slot -> (title, which feature fills it)
    "open_breaks": ("Open breaks", "reconciliation (breaks)"),
    "pending_requests": ("Pending mint and redeem requests, with age", "issuance (queues)"),
    "cycle_times": ("Mint / redeem cycle time p50 / p95", "issuance (metrics)"),
    "freshness": ("Last custody sync and reconciliation", "custody sync and reconciliation"),
}


@dataclass(frozen=True)
class PanelRow:
    label: str
    value: str
    url: str = ""
    alert: bool = False  # drawn in red: needs someone's attention


@dataclass(frozen=True)
class Panel:
    rows: Sequence[PanelRow]
    note: str = ""


@dataclass(frozen=True)
class SlotView:
    slot: str
    title: str
    filled_by: str
    panel: Panel | None


PanelProvider = Callable[[HttpRequest], Panel]
_providers: dict[str, PanelProvider] = {}


def fill_slot(slot: str, provider: PanelProvider) -> None:
    if slot not in SLOTS:
        raise KeyError(f"unknown dashboard slot {slot!r}; known: {', '.join(SLOTS)}")
    _providers[slot] = provider


def slot_views(request: HttpRequest) -> list[SlotView]:
    return [
        SlotView(slot, title, filled_by, _providers[slot](request) if slot in _providers else None)
        for slot, (title, filled_by) in SLOTS.items()
    ]
