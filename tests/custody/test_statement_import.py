"""Importing custodian statements: an observation per file, all or nothing, the same file only once."""
from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.errors import (
    CustodyError,
    StatementAccountMismatch,
    StatementAlreadyImported,
    StatementRejected,
    UnknownCustodyAccount,
)
from custody.models import CustodyAccount
from custody.services import import_statement, latest_statement
from ledger import store

from ..conftest import ROOT
from .conftest import FIXTURES, OPS


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def acme_csv(db) -> CustodyAccount:
    """A custodian that sends CSV statements for its account ACME-CUST-003."""
    return CustodyAccount.objects.create(name="acme-csv", kind=CustodyAccount.Kind.STATEMENT,
                                         statement_account_ref="ACME-CUST-003")


@pytest.fixture
def acme_swift(db) -> CustodyAccount:
    return CustodyAccount.objects.create(name="acme-swift", kind=CustodyAccount.Kind.STATEMENT,
                                         statement_account_ref="ACME-CUST-001")


def test_a_csv_statement_becomes_one_observation_with_every_holding(acme_csv, instruments, ledger_log):
    result = import_statement(fixture("csv_statement.csv"), "csv_statement.csv", "acme-csv", actor=OPS)

    [event] = ledger_log.new()
    assert (event.stream_type, event.stream_id, event.event_type, event.postings) == (
        "custody_statement", "acme-csv", "statement_imported", ())
    assert event.metadata["actor"] == OPS
    assert (result.format, result.statement_date, result.holdings, result.already_imported) == (
        "csv", date(2025, 11, 24), 3, False)
    assert result.unknown_isins == ("US5949181045",)  # Microsoft is not one of our instruments
    statement = latest_statement("acme-csv")
    assert statement.aggregate_by_symbol() == {"AAPL": Decimal("1500"), "TSLA": Decimal("250.5")}
    apple = statement.holdings[0]
    assert (apple.isin, apple.available, apple.blocked, apple.pending) == (
        "US0378331005", Decimal("1200"), Decimal("200"), Decimal("100"))
    assert statement.holdings[2].symbol is None


def test_an_mt535_statement_is_imported_with_its_balances(acme_swift, instruments):
    result = import_statement(fixture("mt535_statement.fin"), "mt535_statement.fin", "acme-swift", actor=OPS)

    statement = latest_statement("acme-swift")
    assert (result.format, statement.as_of) == ("mt535", "2025-11-24T17:30:00")
    assert statement.aggregate_by_symbol() == {"AAPL": Decimal("1500"), "TSLA": Decimal("250.5")}


def test_an_iso_20022_semt002_statement_keeps_its_utc_offset_and_short_positions(db, instruments):
    CustodyAccount.objects.create(name="acme-xml", kind=CustodyAccount.Kind.STATEMENT,
                                  statement_account_ref="ACME-CUST-004")

    result = import_statement(fixture("semt002_statement.xml"), "semt002_statement.xml", "acme-xml", actor=OPS)

    statement = latest_statement("acme-xml")
    assert (result.format, statement.as_of) == ("semt.002", "2025-11-24T17:30:00-05:00")
    assert [(h.isin, h.aggregate) for h in statement.holdings][2] == ("US5949181045", Decimal("-12"))


def test_importing_the_same_file_twice_records_it_once(acme_csv, instruments, ledger_log):
    import_statement(fixture("csv_statement.csv"), "csv_statement.csv", "acme-csv", actor=OPS)

    again = import_statement(fixture("csv_statement.csv"), "renamed.csv", "acme-csv", actor="user:someone-else")

    assert again.already_imported
    assert len(ledger_log.new()) == 1


def test_the_same_file_cannot_also_be_another_accounts_statement(acme_csv, instruments, ledger_log):
    other = CustodyAccount.objects.create(name="acme-other", kind=CustodyAccount.Kind.STATEMENT,
                                          statement_account_ref="ACME-CUST-003")
    import_statement(fixture("csv_statement.csv"), "csv_statement.csv", "acme-csv", actor=OPS)

    with pytest.raises(StatementAlreadyImported, match="already imported for custody account acme-csv"):
        import_statement(fixture("csv_statement.csv"), "csv_statement.csv", other, actor=OPS)
    assert len(ledger_log.new()) == 1


@pytest.mark.parametrize(("name", "line", "reason"), [
    ("mt535_truncated.fin", 38, "file ends inside the FIN block opened on line 31 (missing :16S:FIN); truncated?"),
    ("mt535_bad_isin.fin", 32, "ISIN US88160R1015 has check digit 5, expected 4"),
    ("mt535_non_numeric_quantity.fin", 37, "AGGR balance '25O,5' is not a SWIFT quantity"),
    ("csv_truncated.csv", 3, "expected 8 values"),
    ("csv_bad_isin.csv", 3, "ISIN US88160R1041 has check digit 1, expected 8"),
    ("csv_non_numeric_quantity.csv", 3, "aggregate '250.5 shares' is not a plain unsigned decimal"),
])
def test_a_malformed_file_is_rejected_with_its_line_and_nothing_is_recorded(acme_csv, acme_swift, instruments,
                                                                            ledger_log, name, line, reason):
    account = "acme-swift" if name.startswith("mt535") else "acme-csv"

    with pytest.raises(StatementRejected) as rejected:
        import_statement(fixture(name), name, account, actor=OPS)

    assert (rejected.value.line, rejected.value.filename) == (line, name)
    assert reason in rejected.value.reason
    assert ledger_log.new() == []
    assert latest_statement(account) is None


@pytest.mark.parametrize(("name", "account"), [("csv_unknown_account.csv", "acme-csv"),
                                               ("mt535_unknown_account.fin", "acme-swift")])
def test_a_statement_of_an_account_we_do_not_know_is_refused(acme_csv, acme_swift, ledger_log, name, account):
    with pytest.raises(StatementAccountMismatch, match="custodian account ACME-CUST-999"):
        import_statement(fixture(name), name, account, actor=OPS)
    assert ledger_log.new() == []


def test_importing_for_a_custody_account_that_does_not_exist_is_refused(db, ledger_log):
    with pytest.raises(UnknownCustodyAccount, match="no custody account named 'nope'"):
        import_statement(fixture("csv_statement.csv"), "csv_statement.csv", "nope", actor=OPS)
    assert ledger_log.new() == []


def test_the_import_command_reports_what_it_recorded(acme_csv, instruments):
    out = StringIO()

    call_command("import_statement", str(FIXTURES / "csv_statement.csv"), "--account", "acme-csv", stdout=out)
    call_command("import_statement", str(FIXTURES / "csv_statement.csv"), "--account", "acme-csv", stdout=out)

    first, warning, second, _ = out.getvalue().splitlines()
    assert first.startswith("imported: csv statement of 2025-11-24 for acme-csv, 3 holdings")
    assert warning == "warning: not instruments, kept with no symbol: US5949181045"
    assert second.startswith("already imported: csv statement")


def test_the_import_command_fails_with_one_line_and_exit_status_1(acme_csv, ledger_log):
    err = StringIO()

    with pytest.raises(SystemExit) as exit_status:
        call_command("import_statement", str(FIXTURES / "csv_bad_isin.csv"), "--account", "acme-csv", stderr=err)

    assert exit_status.value.code == 1
    assert err.getvalue() == "error: csv_bad_isin.csv line 3: ISIN US88160R1041 has check digit 1, expected 8\n"
    assert ledger_log.new() == []


def test_the_import_command_line_exits_1_for_an_unknown_account(subprocess_env):
    done = subprocess.run([sys.executable, "manage.py", "import_statement", str(FIXTURES / "csv_statement.csv"),
                           "--account", "no-such-account"], cwd=ROOT, env=subprocess_env, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 1
    assert done.stderr.startswith("error: no custody account named 'no-such-account'")
    assert len(done.stderr.strip().splitlines()) == 1


VALID_FILES = ["csv_statement.csv", "mt535_statement.fin", "semt002_statement.xml"]


@st.composite
def damaged_statement(draw) -> bytes:
    data = bytearray(fixture(draw(st.sampled_from(VALID_FILES))))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[position:position + draw(st.integers(1, 40))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        if not data:
            break
    return bytes(data)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(damaged_statement(), st.binary(max_size=300)))
def test_any_damaged_file_is_either_imported_or_refused_by_name(acme_csv, instruments, data):
    head = store.head_position()
    try:
        result = import_statement(data, "upload.bin", "acme-csv", actor=OPS)
    except CustodyError:
        assert store.head_position() == head  # a refusal writes nothing
    else:
        assert result.already_imported or store.head_position() == head + 1
