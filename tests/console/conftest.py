"""Console fixtures: staff users in each role, instruments, a local chain for anchoring, and a real browser
driving a real server process."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT, database_url_from_settings

PASSWORD = "console-test-password-1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "console"


# --- users in roles ---------------------------------------------------------------------------------------

@pytest.fixture
def make_user(db) -> Callable[..., object]:
    """A staff user in the given role group (or a superuser with role="superuser"). No password (hashing one
    costs a quarter second): log in with client.force_login."""
    from django.contrib.auth.models import Group, User

    def make(role: str):
        name = f"{role}-{secrets.token_hex(4)}"
        if role == "superuser":
            return User.objects.create_superuser(name, password=None)
        user = User.objects.create_user(name, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def client_as(client, make_user):
    """A Django test client logged in as a new user of `role`; the user is on `client.user`."""

    def login(role: str):
        user = make_user(role)
        client.force_login(user)
        client.user = user
        return client

    return login


# --- ledger and custody data ------------------------------------------------------------------------------

def unique_isin(suffix: str) -> str:
    """A valid ISIN for a made-up security (the check digit found through custody's own validator)."""
    from custody.identifiers import InvalidIdentifier, validate_isin

    body = "XS" + str(int(suffix, 16) % 10**9).zfill(9)
    for check in range(10):
        try:
            return validate_isin(f"{body}{check}")
        except InvalidIdentifier:
            continue
    raise AssertionError(f"no check digit fits {body}")


@pytest.fixture
def instrument(db, unique):
    """An active instrument with a symbol no other test uses."""
    from custody.services import create_instrument

    symbol = "T" + unique[:6].upper()
    return create_instrument(symbol, f"Test Corp {symbol}", unique_isin(unique), actor="user:test-setup")


def move(symbol: str, debit: str, credit: str, qty: str, effective_at=None, event_type: str = "shares_received"):
    """Record one balanced movement of `qty` shares of `symbol` (debit +qty, credit -qty) on a journal stream."""
    from ledger import store
    from ledger.store import NewEvent, Posting

    amount = Decimal(qty)
    return store.append("journal", f"{symbol}-{secrets.token_hex(4)}", [NewEvent(
        event_type, {"symbol": symbol, "qty": amount},
        [Posting(debit, symbol, amount), Posting(credit, symbol, -amount)], effective_at=effective_at,
    )], metadata={"actor": "user:test-setup"}).events[0]


# --- a local chain with a LedgerAnchor ------------------------------------------------------------------

@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory):
    from chain.anvil import free_port, start_anvil

    with start_anvil(free_port(), tmp_path_factory.mktemp("console-anvil")) as node:
        yield node


@dataclass(frozen=True)
class AnchorSetup:
    w3: object
    owner: object  # the LocalAccount allowed to anchor
    contract: str
    rpc_url: str


@pytest.fixture
def anchor_setup(anvil_node) -> AnchorSetup:
    """A fresh LedgerAnchor per test: test databases roll back, the chain does not, and positions only advance."""
    from chain.deploy import deploy_ledger_anchor
    from chain.rpc import connect
    from chain.testing import dev_actors

    w3 = connect(anvil_node.url)
    owner = dev_actors().admin
    return AnchorSetup(w3, owner, deploy_ledger_anchor(w3, owner, owner.address), anvil_node.url)


# --- browser against a real server process ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    url: str


@pytest.fixture(scope="session")
def console_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    """`manage.py runserver` in a child process on the test database (pytest-django's live_server needs
    transactional_db, whose TRUNCATE the ledger refuses). Data the browser sees must be committed."""
    with django_db_blocker.unblock():
        database_url = database_url_from_settings()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "runserver.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure",
         "--skip-checks"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + "/admin/login/", server, timeout=120)  # the first page imports the admin: slow when loaded
        yield LiveServer(url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_for(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runserver exited with {process.returncode}; see {ARTIFACTS / 'runserver.log'}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"runserver did not answer at {url} within {timeout}s")


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium through Playwright. Without /usr/bin/chromium the browser tests are skipped on a
    developer machine (scripts/ensure_chromium.sh installs it) and fail in CI."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} missing: run scripts/ensure_chromium.sh (installs Debian's chromium package)"
        if os.environ.get("CI"):
            pytest.fail(message + "; browser tests must run in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls from the test
    # (committed set-up data) unless told the loop is not ours to worry about.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def committed_user(committed_db):
    """Staff users that the server process can see (committed). Role groups come from the migration."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, connections

    assert connection.settings_dict["NAME"].startswith("test"), "committed test data must go to the test database"

    def make(role: str):
        user = User.objects.create_user(f"{role}-{secrets.token_hex(4)}", password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    yield make
    # Connections opened outside pytest-django's per-test handling stay open otherwise, and the test
    # database cannot be dropped at the end of the session (PostgreSQL waits 5 s, then refuses).
    connections.close_all()


@pytest.fixture
def browser_page(chromium, console_server):
    """A fresh browser context (no cookies) with a `login(user)` helper that uses the real login form."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)  # Playwright's default; a page of a loaded runserver can take seconds

    def login(user) -> None:
        page.goto(f"{console_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{console_server.url}/admin/")

    page.login = login
    page.base_url = console_server.url
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
