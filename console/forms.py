from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError


class UtcDateTimeField(forms.DateTimeField):
    """A datetime typed in UTC (the ledger's clock), whatever the server's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
    # Seconds from the browser's picker; microseconds (and a trailing Z) when pasting a ledger timestamp.
    input_formats = ["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
                     "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    def prepare_value(self, value):
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return value


class BalancesForm(forms.Form):
    account = forms.CharField(
        max_length=200, help_text="An account (custody:alpaca-main:AAPL) or a prefix ending in ':' (custody:alpaca-main:)."
    )
    asset = forms.CharField(max_length=64, required=False, help_text="Optional: only this asset.")
    as_of = UtcDateTimeField(required=False, label="As of (UTC)",
                             help_text="Effective time: what the holdings were at that moment in the world.")
    known_at = UtcDateTimeField(required=False, label="As known at (UTC)",
                                help_text="Recorded time: what the ledger said then, ignoring later corrections.")


class ExportForm(forms.Form):
    date_from = forms.DateField(label="From (UTC date)", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To (UTC date, inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            raise ValidationError("The period must not end before it starts.")
        return cleaned


class InstrumentStatusForm(forms.Form):
    reason = forms.CharField(max_length=500, help_text="Recorded in the event.")
