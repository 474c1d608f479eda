"""The run report as a PDF, for whoever files it (auditors, operations): the content of the HTML report.

Built from `run_report`, so every figure is the canonical string the run recorded, never a float. Rendered
with reportlab's `invariant=1` (fixed dates and document id), so one run always gives the same bytes and an
auditor can hash the file. Text is set in the built-in Helvetica and Courier: no font file to ship, and a
character they cannot draw comes out as a box instead of failing the download.
"""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.template.defaultfilters import truncatechars
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from .reports import run_report

PAGE = landscape(A4)
MARGIN = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN

STYLES = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=STYLES["BodyText"], fontSize=8, leading=10)
NUMBER = ParagraphStyle("number", parent=CELL, alignment=TA_RIGHT)
HEADER = ParagraphStyle("header", parent=CELL, fontName="Helvetica-Bold")
GRID = [("GRID", (0, 0), (-1, -1), 0.5, colors.lightgrey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]


def cell(value: object, style: ParagraphStyle = CELL) -> Paragraph:
    """Data in a table cell, escaped: a Paragraph reads its text as markup, and a detail may hold "<" or "&"."""
    return Paragraph(escape("" if value is None else str(value)), style)


def code(value: str | None) -> str:
    """Markup for a hash or an id, in Courier as the HTML report's <code>."""
    return f'<font face="Courier">{escape(value or "")}</font>'


def table(header: list[str], rows: list[list[Paragraph]], shares: list[float]) -> Table:
    """A grid whose header row repeats on every page; `shares` split the page width between the columns."""
    return Table([[cell(title, HEADER) for title in header], *rows], colWidths=[WIDTH * share for share in shares],
                 repeatRows=1, style=TableStyle([*GRID, ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))


def summary(run: dict) -> Table:
    """The run's facts as label / value rows; values are markup (hashes in Courier), so their data is escaped."""
    counts = run["counts"]
    rows = [
        ("Scope", escape(run["scope"])),
        ("Started by", escape(run["actor"])),
        ("Started / finished", escape(f"{run['started_at']} / {run['finished_at'] or '(running)'}")),
        *([("As of", escape(run["requested_as_of"]))] if run["requested_as_of"] else []),
        ("Instruments", f"{counts['instruments']}: {counts['clean']} clean, {counts['breaks']} with breaks, "
                        f"{counts['incomplete']} incomplete"),
        ("Breaks", f"{counts['breaks_found']} found ({counts['new_breaks']} new), {counts['breaks_closed']} closed"),
        ("Hash of the run's events", f"{code(run['events_sha256'])} (last event #{run['last_event_position']} "
                                     f"{code(run['last_event_hash'])})"),
    ]
    return Table([[cell(label, HEADER), Paragraph(value, CELL)] for label, value in rows],
                 colWidths=[WIDTH * 0.2, WIDTH * 0.8],
                 style=TableStyle([*GRID, ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke)]))


def sources(report: dict) -> Table:
    return table(["Source", "Status", "As of", "Block", "Data SHA-256", "Detail"], [[
        cell(source["source"]), cell(source["status"]), cell(source.get("as_of")),
        cell(source.get("block_number"), NUMBER),
        Paragraph(code(truncatechars(source.get("raw_sha256") or "", 17)), CELL), cell(source.get("detail")),
    ] for source in report["sources"]], [0.17, 0.08, 0.17, 0.07, 0.13, 0.38])


def breaks(report: dict) -> Flowable:
    if not report["breaks"]:
        return Paragraph("No breaks.", STYLES["BodyText"])
    return table(["Break", "Kind", "Instrument / subject", "Severity", "Amount", "New", "Status now"], [[
        Paragraph(code(found["break_id"]), CELL), cell(found["kind"]), cell(f"{found['symbol']} {found['subject']}"),
        cell(found["severity"]), cell(f"{found['amount']} {found['unit']}", NUMBER),
        cell("new" if found["new"] else "seen before"), cell(found["status_now"]),
    ] for found in report["breaks"]], [0.15, 0.14, 0.25, 0.08, 0.16, 0.10, 0.12])


def instruments(report: dict) -> Table:
    """One supply column per network seen in the run, as in the HTML and CSV reports."""
    networks = sorted({network for row in report["instruments"] for network in row["supply_by_network"]})
    header = ["Symbol", "Status", "Shares in custody", "Tokens outstanding (shares)",
              *(f"Supply on {network}" for network in networks), "Ledger custody", "Ledger supply",
              "Secured, not minted", "Burned, not released", "Difference", "Explanation"]
    rows = [[
        cell(row["symbol"]), cell(row["status"]),
        cell(row["shares_in_custody"] or "?", NUMBER), cell(row["tokens_outstanding"] or "?", NUMBER),
        *(cell((row["supply_by_network"].get(network) or {}).get("shares"), NUMBER) for network in networks),
        *(cell(row[column], NUMBER)
          for column in ("ledger_custody", "ledger_supply", "in_flight_mint", "in_flight_redeem")),
        cell(row["difference"] or "?", NUMBER), cell(row["explanation"]),
    ] for row in report["instruments"]]
    return table(header, rows, [0.8 / (len(header) - 1)] * (len(header) - 1) + [0.2])


def render_pdf(run_id: str) -> bytes:
    report = run_report(run_id)
    run = report["run"]
    title = f"Reconciliation run {run['run_id']}"
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                 bottomMargin=MARGIN, title=title, author="shareledger", invariant=1)
    document.build([
        Paragraph(escape(title), STYLES["Title"]),
        Paragraph(escape(f"Status: {run['status']}"), STYLES["BodyText"]),
        summary(run),
        Paragraph("Sources", STYLES["Heading2"]), sources(report),
        Paragraph("Breaks", STYLES["Heading2"]), breaks(report),
        Paragraph("Instruments", STYLES["Heading2"]), instruments(report),
    ])
    return out.getvalue()
