"""The database itself refuses to change history; tampering around it is caught by both verifiers."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from ledger import store
from ledger.export import export
from ledger.models import Event, IdempotencyRecord, Posting

from .factories import ACTOR, transfer

pytestmark = pytest.mark.django_db
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture
def recorded(unique):
    return store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "10")],
                        metadata=ACTOR, idempotency_key=f"imm-{unique}").events[0]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_event SET payload = '{}' WHERE position = %s",
        "DELETE FROM ledger_event WHERE position = %s",
        "UPDATE ledger_posting SET amount = 11 WHERE event_position = %s",
        "DELETE FROM ledger_posting WHERE event_position = %s",
        "UPDATE ledger_idempotency SET request_hash = 'x' WHERE key = (SELECT key FROM ledger_idempotency LIMIT 1 OFFSET 0) AND %s > 0",
        "DELETE FROM ledger_idempotency WHERE %s > 0",
        "TRUNCATE ledger_event CASCADE",
        "TRUNCATE ledger_posting",
        "TRUNCATE ledger_idempotency",
    ],
)
def test_raw_sql_cannot_change_or_remove_history(recorded, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred FK checks of the fixture's insert now
            cursor.execute(sql, [recorded.position] if "%s" in sql else None)


def test_orm_update_and_delete_are_refused(recorded, unique):
    # An event without postings, so Django's own PROTECT check cannot answer before the database does.
    bare = store.append("journal", f"{unique}-bare", [store.NewEvent("note_added", {"text": "x"})], metadata=ACTOR).events[0]
    for attempt in (
        lambda: Event.objects.filter(position=recorded.position).update(event_type="rewritten"),
        lambda: Event.objects.filter(position=bare.position).delete(),
        lambda: Posting.objects.filter(event_id=recorded.position).update(amount=1),
        lambda: Posting.objects.filter(event_id=recorded.position).delete(),
        lambda: IdempotencyRecord.objects.all().delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event = Event.objects.get(position=recorded.position)
        event.payload = {"qty": "1000"}
        event.save()


def test_a_lone_unbalanced_posting_inserted_by_hand_is_refused(recorded):
    with pytest.raises(DatabaseError, match="do not balance"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at)"
                " SELECT position, 9, 'custody:alpaca:AAPL', 'AAPL', 5, effective_at, recorded_at FROM ledger_event WHERE position = %s",
                [recorded.position],
            )


def _tamper(sql: str, params: list) -> None:
    """What a superuser could do: switch the guard off, edit, switch it back on (all inside the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_immutable")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")
        cursor.execute("ALTER TABLE ledger_posting ENABLE TRIGGER ledger_posting_immutable")


def _verify_export_cli(unique_path) -> subprocess.CompletedProcess:
    buffer = io.StringIO()
    export(buffer, date(2000, 1, 1), date(2100, 1, 1))
    unique_path.write_text(buffer.getvalue())
    return subprocess.run([sys.executable, str(ROOT / "tools" / "verify_export.py"), str(unique_path)],
                          capture_output=True, text=True)


@pytest.mark.parametrize(
    ("what", "sql"),
    [
        ("payload", "UPDATE ledger_event SET payload = '{\"asset\": \"AAPL\", \"qty\": \"1000\"}' WHERE position = %s"),
        ("amount", "UPDATE ledger_posting SET amount = amount * 100 WHERE event_position = %s"),
        ("timestamp", "UPDATE ledger_event SET effective_at = effective_at - interval '1 day' WHERE position = %s"),
    ],
)
def test_superuser_who_disables_the_trigger_and_edits_is_caught_by_both_verifiers(recorded, tmp_path, what, sql):
    _tamper(sql, [recorded.position])
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", "--no-progress", stderr=(err := io.StringIO()))
    assert exit_info.value.code == 1
    assert f"at position {recorded.position}" in err.getvalue()

    result = _verify_export_cli(tmp_path / "export.jsonl")
    assert result.returncode == 1
    assert f"at position {recorded.position}" in result.stdout


def _insert_postings_without_event(position_sql: str, account: str) -> int:
    """What a superuser could do: switch the postings check off, insert balanced legs at a position no event
    has, and move the balances projection to match, so only the postings betray it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {position_sql}")
        position = cursor.fetchone()[0]
        cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_balanced")
        cursor.execute(
            "INSERT INTO ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at)"
            " VALUES (%(p)s, 0, %(account)s, 'AAPL', 5, now(), now()), (%(p)s, 1, 'equity:opening', 'AAPL', -5, now(), now())",
            {"p": position, "account": account},
        )
        cursor.execute("ALTER TABLE ledger_posting ENABLE TRIGGER ledger_posting_balanced")
        cursor.execute("UPDATE ledger_account_balance SET balance = balance + 5 WHERE account = %s AND asset = 'AAPL'", [account])
        cursor.execute("UPDATE ledger_account_balance SET balance = balance - 5 WHERE account = 'equity:opening' AND asset = 'AAPL'")
    return position


@pytest.mark.parametrize("position_sql", ["(SELECT max(position) + 1000000 FROM ledger_event)", "0"])
def test_postings_that_belong_to_no_event_break_verification(recorded, unique, position_sql):
    """Balanced postings outside every event, with the balances projection moved to match: amounts no hashed
    event vouches for. Verify names their position, whatever range it was asked to walk."""
    from ledger.verify import verify

    position = _insert_postings_without_event(position_sql, f"custody:alpaca:{unique}")
    for result in (verify(), verify(from_position=recorded.position, to_position=recorded.position)):
        assert not result.ok
        assert (result.bad_position, result.problem) == (position, f"posting at position {position} belongs to no event")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", "--no-progress", stderr=(err := io.StringIO()))
    assert exit_info.value.code == 1 and f"at position {position}: posting at position {position}" in err.getvalue()


def test_postings_whose_event_was_deleted_are_named_not_skipped(recorded, unique, tmp_path):
    from ledger.verify import verify

    store.append("journal", f"{unique}-later", [store.NewEvent("note_added", {"text": "x"})], metadata=ACTOR)
    _tamper("DELETE FROM ledger_event WHERE position = %s", [recorded.position])
    result = verify()
    assert not result.ok
    assert (result.bad_position, result.problem) == (recorded.position,
                                                     f"posting at position {recorded.position} belongs to no event")
    assert verify(from_position=1, to_position=recorded.position).problem == result.problem  # its event was the last
    with pytest.raises(CommandError, match=f"export NOT completed .*: event at position {recorded.position}, before"):
        call_command("export_ledger", "--from", "2000-01-01", "--to", "2100-01-01", str(tmp_path / "export.jsonl"))


def test_verify_ledger_reports_missing_triggers():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_no_truncate")
    with pytest.raises(SystemExit), transaction.atomic():
        call_command("verify_ledger", "--no-progress", stderr=(err := io.StringIO()))
    assert "ledger_event.ledger_event_no_truncate" in err.getvalue()


def test_the_guard_definitions_verify_expects_are_what_the_migrations_install():
    """The test database is built by running the migrations: when one changes a guard trigger or its function,
    this fails until ledger.verify.GUARD_TRIGGERS says the same, instead of verify failing on every ledger."""
    from ledger.verify import GUARD_TRIGGERS, installed_triggers, missing_triggers

    installed = installed_triggers()
    assert {key: installed.get(key) for key in GUARD_TRIGGERS} == GUARD_TRIGGERS
    assert missing_triggers() == []


@pytest.mark.parametrize(("sql", "altered"), [
    ("CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$",
     ["ledger_event.ledger_event_immutable", "ledger_event.ledger_event_no_truncate",
      "ledger_idempotency.ledger_idempotency_immutable", "ledger_idempotency.ledger_idempotency_no_truncate",
      "ledger_posting.ledger_posting_immutable", "ledger_posting.ledger_posting_no_truncate"]),
    ("DROP TRIGGER ledger_event_immutable ON ledger_event; CREATE TRIGGER ledger_event_immutable BEFORE INSERT"
     " ON ledger_event FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
     ["ledger_event.ledger_event_immutable"]),
    ("CREATE OR REPLACE FUNCTION ledger_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$",
     ["ledger_posting.ledger_posting_balanced"]),
])
def test_verify_ledger_reports_a_guard_trigger_or_function_altered_in_place(recorded, sql, altered):
    """A superuser who keeps the trigger names but empties the function, or re-creates a trigger for other
    statements, has switched the guard off as surely as one who disables it."""
    from ledger.verify import verify

    with connection.cursor() as cursor:
        cursor.execute(sql)
    result = verify()
    assert not result.ok and result.problem == f"immutability triggers missing, disabled or altered: {', '.join(altered)}"


@pytest.mark.parametrize(("sql", "problem"), [
    ("UPDATE ledger_account_balance SET balance = balance + 1 WHERE account = %(account)s",
     "current balance of {account} in AAPL says 11, its postings sum to 10"),
    ("DELETE FROM ledger_account_balance WHERE account = %(account)s",
     "no current balance for {account} in AAPL, whose postings sum to 10"),
    ("INSERT INTO ledger_account_balance (account, asset, balance, last_position) VALUES (%(account)s, 'MSFT', 3, 1)",
     "current balance of {account} in MSFT says 3, but it has no postings"),
])
def test_verify_ledger_checks_every_current_balance_against_the_postings(recorded, unique, sql, problem):
    """Reconciliation reads current balances from the projection, derived data a connection could edit: a run
    over the whole log recomputes every balance from the postings and names the first wrong one."""
    from ledger.verify import verify

    account = f"custody:alpaca:{unique}"
    intact = verify()
    assert intact.ok and intact.balances_checked >= 2
    assert f"; {intact.balances_checked} current balances match their postings" in intact.summary()
    with connection.cursor() as cursor:  # no trigger guards a projection: only verify does
        cursor.execute(sql, {"account": account})

    broken = verify()
    assert not broken.ok and broken.bad_position is None and broken.problem == problem.format(account=account)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", "--no-progress", stderr=(err := io.StringIO()))
    assert exit_info.value.code == 1 and err.getvalue().startswith(f"ledger BROKEN: {broken.problem}")
    ranged = verify(to_position=recorded.position)  # a run over a range does not vouch for today's balances
    assert ranged.ok and ranged.balances_checked is None


def test_intact_ledger_verifies_and_its_export_verifies_standalone(recorded, tmp_path):
    out = io.StringIO()
    call_command("verify_ledger", "--no-progress", stdout=out)
    assert out.getvalue().startswith("ledger OK")
    result = _verify_export_cli(tmp_path / "export.jsonl")
    assert result.returncode == 0, result.stdout
    assert "export OK" in result.stdout


def test_export_of_a_later_period_links_to_the_event_before_it(recorded, tmp_path):
    buffer = io.StringIO()
    header = export(buffer, date(2000, 1, 1), date(2100, 1, 1))
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert header["event_count"] == len(lines) - 1
    assert lines[1]["prev_hash"] == header["prev_hash"]
    assert lines[-1]["hash"] == recorded.hash


def test_verify_ledger_from_past_the_head_is_a_usage_error_not_a_broken_ledger(unique):
    store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")],
                 metadata=ACTOR)
    past = store.head_position() + 10

    with pytest.raises(CommandError, match=f"^--from {past} is past the head {past - 10}$"):
        call_command("verify_ledger", "--no-progress", "--from", str(past), stderr=io.StringIO())


def test_export_ledger_to_a_missing_directory_is_one_line_not_a_traceback(tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "x.jsonl"
    with pytest.raises(CommandError, match="^export NOT completed: cannot write .*No such file or directory"):
        call_command("export_ledger", "--from", "2026-01-01", "--to", "2026-01-02", str(out))
    assert not out.parent.exists()
