from pathlib import Path

from corporate_actions.services import render_dividend_csv

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Write a dividend's CSV report: its checked totals, then one row per holder."

    def add_arguments(self, parser):
        parser.add_argument("--action", required=True)
        parser.add_argument("out", type=Path, help="CSV file to write")

    def handle(self, *args, action, out, **options):
        out.write_text(render_dividend_csv(action), encoding="utf-8")
        self.stdout.write(f"{action}: report written to {out}")
