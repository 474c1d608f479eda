"""`./shareledger run` and the local server's database: a database whose ledger describes a chain this
checkout no longer has is set aside (renamed, never dropped) when the run starts a chain from nothing."""
from __future__ import annotations

import importlib.util
import uuid
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from tests.conftest import ROOT, database_url_from_settings

pytestmark = pytest.mark.django_db


def run_script():
    spec = importlib.util.spec_from_file_location("shareledger_run", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server_database():
    """A database of its own on the test server, and every database named after it dropped afterwards."""
    base = urlparse(database_url_from_settings())
    name = f"run_{uuid.uuid4().hex[:10]}"
    admin = urlunparse(base._replace(path="/postgres"))
    yield urlunparse(base._replace(path=f"/{name}")), admin, name
    with psycopg.connect(admin, autocommit=True) as conn:
        for (found,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "%"]).fetchall():
            conn.execute(f'DROP DATABASE "{found}" WITH (FORCE)')


def databases(admin: str, name: str) -> list[str]:
    with psycopg.connect(admin, autocommit=True) as conn:
        return sorted(row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "%"]))


def write_an_event(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE ledger_event (position bigint PRIMARY KEY)")
        conn.execute("INSERT INTO ledger_event VALUES (1)")


def test_a_database_with_events_is_renamed_aside_when_the_chain_starts_from_nothing(server_database, capsys):
    url, admin, name = server_database
    run = run_script()
    run.ensure_database(url, fresh_chain=True)
    assert databases(admin, name) == [name]  # created
    write_an_event(url)

    run.ensure_database(url, fresh_chain=False)  # the chain that saw those events is still there
    assert databases(admin, name) == [name]

    run.ensure_database(url, fresh_chain=True)
    names = databases(admin, name)
    assert len(names) == 2 and name in names
    aside = next(n for n in names if n != name)
    assert aside.startswith(f"{name}_before_") and f"renamed to {aside}" in capsys.readouterr().out
    with psycopg.connect(urlunparse(urlparse(url)._replace(path=f"/{aside}"))) as conn:
        assert conn.execute("SELECT count(*) FROM ledger_event").fetchone()[0] == 1  # nothing lost
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('ledger_event')").fetchone()[0] is None  # the new one is empty


def test_an_empty_database_is_kept_for_a_fresh_chain(server_database):
    url, admin, name = server_database
    run = run_script()
    run.ensure_database(url, fresh_chain=True)
    run.ensure_database(url, fresh_chain=True)
    assert databases(admin, name) == [name]
