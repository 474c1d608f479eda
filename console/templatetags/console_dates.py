"""A date drill-down (years, months, days) for tables of millions of rows.

Django's date_hierarchy lists dates with SELECT DISTINCT date_trunc(...) over the filtered rows and takes
MIN/MAX over them: a full scan on every page view. This one asks, through the datetime column's index, only
whether each candidate year, month or day has any row at all (a few dozen index probes). It ignores the other
filters when choosing which dates to offer; the links keep them.
"""
from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

from django import template
from django.db.models import Max, Min
from django.utils.dateformat import format as format_date

register = template.Library()


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@register.inclusion_tag("admin/date_hierarchy.html")
def indexed_date_hierarchy(cl):
    field = cl.date_hierarchy
    rows = cl.model._default_manager.all()
    year, month, day = (cl.params.get(f"{field}__{part}") for part in ("year", "month", "day"))

    def link(filters: dict) -> str:
        return cl.get_query_string(filters, [f"{field}__"])

    def has_rows(first: date, after: date) -> bool:
        return rows.filter(**{f"{field}__gte": _start(first), f"{field}__lt": _start(after)}).exists()

    if not (year or month or day):
        span = rows.aggregate(first=Min(field), last=Max(field))  # two index lookups
        if span["first"] is None:
            return {"show": False}
        first, last = span["first"].astimezone(UTC), span["last"].astimezone(UTC)
        if first.year == last.year:
            year = str(first.year)
            if first.month == last.month:
                month = str(first.month)
        else:
            years = [y for y in range(first.year, last.year + 1) if has_rows(date(y, 1, 1), date(y + 1, 1, 1))]
            return {"show": True, "back": None,
                    "choices": [{"link": link({f"{field}__year": str(y)}), "title": str(y)} for y in years]}
    try:
        year_number, month_number, day_number = int(year), int(month) if month else None, int(day) if day else None
        if day_number:
            chosen = date(year_number, month_number, day_number)
            return {"show": True,
                    "back": {"link": link({f"{field}__year": year, f"{field}__month": month}),
                             "title": format_date(chosen, "F Y")},
                    "choices": [{"title": format_date(chosen, "F j")}]}
        if month_number:
            days_in_month = calendar.monthrange(year_number, month_number)[1]
            days = [date(year_number, month_number, d) for d in range(1, days_in_month + 1)]
            return {"show": True, "back": {"link": link({f"{field}__year": year}), "title": year},
                    "choices": [{"link": link({f"{field}__year": year, f"{field}__month": month, f"{field}__day": str(d.day)}),
                                 "title": format_date(d, "F j")}
                                for d in days if has_rows(d, d + timedelta(days=1))]}
        months = [date(year_number, m, 1) for m in range(1, 13)]
        return {"show": True, "back": {"link": link({}), "title": "All dates"},
                "choices": [{"link": link({f"{field}__year": year, f"{field}__month": str(m.month)}),
                             "title": format_date(m, "F Y")}
                            for m in months if has_rows(m, date(m.year + m.month // 12, m.month % 12 + 1, 1))]}
    except ValueError:  # a hand-made query string with a non-date; Django's own filter reports it
        return {"show": False}
