"""Importing custodian statements: an observation per file, all or nothing, the same file only once."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.errors import (
    CustodyError,
    StatementAccountMismatch,
    StatementAlreadyImported,
    StatementConflictsWithImported,
    StatementDatedInTheFuture,
    StatementRejected,
    StatementTooLarge,
    UnknownCustodyAccount,
)
from custody.models import CustodyAccount
from custody.services import import_statement, latest_statement
from custody.statement_import import read_statement_file
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


def csv_statement(day: date, aapl: str, eol: str = "\n") -> bytes:
    return eol.join(["account,statement_date,isin,description,aggregate,available,blocked,pending",
                     f"ACME-CUST-003,{day.isoformat()},US0378331005,APPLE INC,{aapl},,,", ""]).encode()


def test_a_statement_dated_in_the_future_is_refused_and_nothing_is_recorded(acme_csv, instruments, ledger_log,
                                                                          tmp_path):
    next_year = date.today() + timedelta(days=365)
    typo = tmp_path / "typo.csv"
    typo.write_bytes(csv_statement(next_year, "999999"))

    with pytest.raises(StatementDatedInTheFuture, match="dated in the future"):
        import_statement(typo.read_bytes(), "typo.csv", "acme-csv", actor=OPS)
    with pytest.raises(SystemExit) as exit_status:
        call_command("import_statement", str(typo), "--account", "acme-csv", stderr=StringIO())

    assert exit_status.value.code == 1
    assert ledger_log.new() == []
    assert latest_statement("acme-csv") is None


def test_a_statement_stamped_in_a_custodians_local_time_ahead_of_ours_is_accepted(acme_swift, instruments):
    now_in_tokyo = (datetime.now(UTC) + timedelta(hours=9)).strftime("%Y%m%d%H%M%S")  # 98C has no offset

    result = import_statement(fixture("mt535_statement.fin").replace(b"20251124173000", now_in_tokyo.encode()),
                              "tokyo.fin", "acme-swift", actor=OPS)

    assert not result.already_imported


@pytest.mark.parametrize("resent", [
    pytest.param(lambda data: data.replace(b"\n", b"\r\n"), id="crlf"),
    pytest.param(lambda data: b"\xef\xbb\xbf" + data, id="bom"),
])
def test_the_same_csv_statement_sent_again_in_other_bytes_is_recorded_once(acme_csv, instruments, ledger_log,
                                                                          resent):
    import_statement(fixture("csv_statement.csv"), "csv_statement.csv", "acme-csv", actor=OPS)

    again = import_statement(resent(fixture("csv_statement.csv")), "again.csv", "acme-csv", actor=OPS)

    assert again.already_imported
    assert len(ledger_log.new()) == 1


def test_the_same_mt535_sent_again_with_another_swift_header_is_recorded_once(acme_swift, instruments, ledger_log):
    original = fixture("mt535_statement.fin")
    import_statement(original, "mt535_statement.fin", "acme-swift", actor=OPS)
    header_end = original.index(b"{4:")

    again = import_statement(b"{1:F01ACMEUS33AXXX1111111111}{2:O5351800251124CUSTUS33XXXX11111111112511241800N}"
                             + original[header_end:], "resent.fin", "acme-swift", actor=OPS)

    assert again.already_imported
    assert len(ledger_log.new()) == 1


def test_other_holdings_for_a_statement_time_already_recorded_are_refused_as_a_correction(acme_csv, instruments,
                                                                                          ledger_log):
    import_statement(csv_statement(date(2025, 11, 24), "1500"), "first.csv", "acme-csv", actor=OPS)

    with pytest.raises(StatementConflictsWithImported, match="first.csv") as refused:
        import_statement(csv_statement(date(2025, 11, 24), "1400"), "second.csv", "acme-csv", actor=OPS)

    assert refused.value.code == "statement_conflicts_with_imported"
    assert len(ledger_log.new()) == 1
    assert latest_statement("acme-csv").aggregate_by_symbol() == {"AAPL": Decimal("1500")}


def test_the_latest_statement_is_the_latest_by_its_own_time_not_the_last_imported(acme_swift, instruments):
    evening = fixture("mt535_statement.fin")
    import_statement(evening, "evening.fin", "acme-swift", actor=OPS)
    morning = evening.replace(b"20251124173000", b"20251124090000").replace(b"UNIT/1500,", b"UNIT/1200,")
    import_statement(morning, "morning.fin", "acme-swift", actor=OPS)  # resent late by the custodian

    assert latest_statement("acme-swift").as_of == "2025-11-24T17:30:00"
    assert latest_statement("acme-swift", at=datetime(2025, 11, 24, 12, 0, tzinfo=UTC)).as_of == "2025-11-24T09:00:00"
    assert latest_statement("acme-swift", at=datetime(2025, 11, 24, 8, 0, tzinfo=UTC)) is None


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


def test_a_statement_larger_than_the_limit_is_refused_by_name_and_nothing_is_recorded(acme_csv, instruments,
                                                                                    ledger_log, settings, tmp_path):
    statement = fixture("csv_statement.csv")
    settings.CUSTODY_STATEMENT_MAX_BYTES = len(statement) - 1
    oversized = tmp_path / "oversized.csv"
    oversized.write_bytes(statement)
    err = StringIO()

    with pytest.raises(StatementTooLarge) as refused:
        import_statement(statement, "oversized.csv", "acme-csv", actor=OPS)
    with pytest.raises(SystemExit) as exit_status:
        call_command("import_statement", str(oversized), "--account", "acme-csv", stderr=err)

    assert (refused.value.code, refused.value.http_status) == ("statement_too_large", 413)
    assert exit_status.value.code == 1
    assert err.getvalue() == (f"error: oversized.csv is larger than {len(statement) - 1} bytes, the largest statement "
                              f"file imported (CUSTODY_STATEMENT_MAX_BYTES)\n")
    assert ledger_log.new() == []
    assert latest_statement("acme-csv") is None


def test_a_statement_file_is_read_no_further_than_one_byte_past_the_limit(settings):
    settings.CUSTODY_STATEMENT_MAX_BYTES = 1000
    wrong_file = BytesIO(b"0" * 1_000_000)  # an archive, or a device that never ends

    with pytest.raises(StatementTooLarge):
        read_statement_file(wrong_file, "archive.zip")

    assert wrong_file.tell() == 1001


def test_a_statement_exactly_at_the_limit_is_imported(acme_csv, instruments, ledger_log, settings):
    settings.CUSTODY_STATEMENT_MAX_BYTES = len(fixture("csv_statement.csv"))
    out = StringIO()

    call_command("import_statement", str(FIXTURES / "csv_statement.csv"), "--account", "acme-csv", stdout=out)

    assert out.getvalue().startswith("imported: csv statement of 2025-11-24 for acme-csv, 3 holdings")
    assert len(ledger_log.new()) == 1


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
