"""Shared fixtures. Tests run against a real PostgreSQL (a fresh test database per session/worker).

Events and postings cannot be deleted, not even by the test harness, so tests that need committed data
(several processes, a real worker) use `committed_db` and never assume an empty log: each names its own
streams and accounts with a unique suffix. Tests that run inside a rolled-back transaction use `db`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def _test_database(django_db_setup, django_db_blocker):
    """The session's test database, even when no collected test asked pytest-django for one (it only sets
    databases up for tests that use `db` or the django_db marker, e.g. when one committed_db file runs alone)."""
    from django.db import connection, connections
    from django.test.utils import setup_databases, teardown_databases

    if connection.settings_dict["NAME"].startswith("test_"):
        yield
        return
    with django_db_blocker.unblock():
        created = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        connections.close_all()
        teardown_databases(created, verbosity=0)


@pytest.fixture
def committed_db(_test_database, django_db_blocker):
    """Database access with autocommit: what a test writes is visible to other processes and stays."""
    from django.db import connection

    assert connection.settings_dict["NAME"].startswith("test_"), "committed_db must only ever touch a test database"
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def unique() -> str:
    """A short unique suffix for stream ids and account names of one test."""
    return uuid.uuid4().hex[:10]


def database_url_from_settings() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={host}"
    return f"postgresql://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def subprocess_env(committed_db) -> dict[str, str]:
    """Environment for a child process that must use this test session's database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url_from_settings()
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["PYTHONPATH"] = str(ROOT)
    return env


def wait_until_an_append_waits(thread: threading.Thread, seconds: float = 60) -> None:
    """Return once a session of this test database waits for the ledger's append lock, or once `thread` ended
    without waiting (the test's own assertions then say what went wrong). An observed wait, not a sleep that
    guesses how long the other side needs to get there: on a loaded machine that can be seconds."""
    from django.db import connection

    from ledger.store import APPEND_LOCK_KEY

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND ((classid::bigint << 32) | objid::bigint) = %s", [APPEND_LOCK_KEY])
            if cursor.fetchone()[0]:
                return
        if not thread.is_alive():
            return
        time.sleep(0.01)
    raise AssertionError(f"no append waited for the append lock within {seconds} s")


def run_python(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def http_status_server(status: int) -> Iterator[str]:
    """The URL of a local server answering every POST with `status` and no body: an RPC node behind a proxy or
    rate limiter that is up but refuses (429, 502, 503...)."""

    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
