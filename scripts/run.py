"""The main job on one machine: start the embedded defaults, migrate, load the demo, serve, reconcile.

    ./shareledger run [--port 8000] [--no-demo]

Starts, as child processes: PostgreSQL (when nothing listens on 5432: embedded pgserver) and Redis (when
nothing listens on 6379: embedded redis-server), a local anvil chain (state kept in .run/anvil/), the
sandbox Alpaca broker (state in .run/broker.json), the web server (admin + API) on 127.0.0.1:8000, a
Celery worker and Celery beat. Then it loads the demo data (idempotent), runs a reconciliation, prints
where to log in and waits; Ctrl-C stops everything it started. A local-server database left by another
checkout, whose events describe a chain this checkout no longer has, is renamed aside first (ensure_database).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import devservices  # noqa: E402

RUN_DIR = devservices.RUN_DIR
ANVIL_PORT = 8545
BROKER_PORT = 8766


class Children:
    """Processes started here, stopped in reverse order on exit."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(RUN_DIR / f"{name}.log", "ab")
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        print(f"  started {name} (pid {proc.pid}, log .run/{name}.log)")
        return proc

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise SystemExit(f"run: {name} exited with code {proc.returncode}; see .run/{name}.log")

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def wait_for_port(port: int, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not devservices.port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise SystemExit(f"run: {what} did not start on port {port}; see .run/")
        time.sleep(0.2)


def ensure_database(url: str, *, fresh_chain: bool) -> None:
    """Create the application database on the server if it does not exist yet.

    The local server's database outlives a checkout; the chain and the sandbox broker keep their state in
    this checkout's .run/. When this run starts a chain from nothing but the database already holds ledger
    events (written by another checkout, or before .run/ was removed), those events describe tokens on a
    chain that no longer exists and every reconciliation would report them. That database is renamed aside,
    never dropped, and a new one created; the run says so in one line."""
    import psycopg
    from urllib.parse import urlparse, urlunparse

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh_chain and _holds_events(url):
            aside = f"{name}_before_{time.strftime('%Y%m%dT%H%M%S')}"
            conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{aside}"')
            print(f"  database {name} held events for a chain this checkout no longer has: renamed to {aside}")
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _holds_events(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        return bool(conn.execute("SELECT to_regclass('ledger_event') IS NOT NULL").fetchone()[0]
                    and conn.execute("SELECT EXISTS (SELECT 1 FROM ledger_event)").fetchone()[0])


def anchor_contract(env: dict[str, str]) -> str:
    """The LedgerAnchor on the local chain: deployed once, remembered next to the chain's state."""
    remembered = RUN_DIR / "anvil" / "anchor-contract"
    remembered.parent.mkdir(parents=True, exist_ok=True)
    if remembered.exists():
        return remembered.read_text().strip()
    output = subprocess.run([sys.executable, "manage.py", "deploy_anchor_contract"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if output.returncode != 0:
        raise SystemExit(f"run: could not deploy the ledger anchor contract: {output.stderr.strip()}")
    address = output.stdout.strip().splitlines()[-1]
    remembered.write_text(address)
    return address


def manage(env: dict[str, str], *args: str) -> None:
    code = subprocess.call([sys.executable, "manage.py", *args], cwd=ROOT, env=env)
    if code != 0:
        raise SystemExit(f"run: manage.py {' '.join(args)} failed with exit code {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    args = parser.parse_args()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    if devservices.port_open("127.0.0.1", args.port):
        raise SystemExit(f"run: port {args.port} is already in use (another shareledger run?); stop it or pass --port")
    # Ctrl-C, and SIGTERM from a supervisor, stop everything this run started (a shell may have set SIGINT to
    # "ignore" for a background job, so install both handlers explicitly).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    print("shareledger: starting services")
    env = dict(os.environ)
    env.setdefault("SHARELEDGER_DEV", "1")
    default_database = not env.get("DATABASE_URL")
    env["DATABASE_URL"] = env.get("DATABASE_URL") or devservices.database_url()
    env["CELERY_BROKER_URL"] = env.get("CELERY_BROKER_URL") or devservices.redis_url()
    env["PYTHONPATH"] = str(ROOT)
    # The demo's custody account is the sandbox broker; production sets real Alpaca keys and URLs instead.
    env.setdefault("ALPACA_API_KEY_ID", "PKSANDBOXCUSTODY")
    env.setdefault("ALPACA_API_SECRET_KEY", "sandbox-custody-secret")
    # Only the default development database is ever set aside; one named in DATABASE_URL is left alone.
    fresh_chain = not (RUN_DIR / "anvil" / "state.json").exists() and not devservices.port_open("127.0.0.1", ANVIL_PORT)
    ensure_database(env["DATABASE_URL"], fresh_chain=default_database and fresh_chain)

    children = Children()
    try:
        from chain.anvil import find_anvil_binary

        if not devservices.port_open("127.0.0.1", ANVIL_PORT):
            (RUN_DIR / "anvil").mkdir(exist_ok=True)
            children.start("anvil", [str(find_anvil_binary()), "--host", "127.0.0.1", "--port", str(ANVIL_PORT),
                                     "--prune-history", "256", "--cache-path", str(RUN_DIR / "anvil" / "cache"),
                                     "--state", str(RUN_DIR / "anvil" / "state.json"), "--state-interval", "5"],
                           {**env, "HOME": str(RUN_DIR / "anvil")})
            wait_for_port(ANVIL_PORT, "anvil")
        if not devservices.port_open("127.0.0.1", BROKER_PORT):
            children.start("sandbox-broker", [sys.executable, "-m", "sandbox_broker", "--port", str(BROKER_PORT),
                                              "--state", str(RUN_DIR / "broker.json")], env)
            wait_for_port(BROKER_PORT, "sandbox broker")

        print("shareledger: migrating")
        manage(env, "migrate", "--no-input", "-v", "0")
        env.setdefault("LEDGER_ANCHOR_CONTRACT", anchor_contract(env))
        if not args.no_demo:
            print("shareledger: loading demo data")
            manage(env, "load_demo")
            manage(env, "anchor_ledger")

        children.start("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"], env)
        children.start("celery-worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "info",
                                         "--concurrency", "2"], env)
        children.start("celery-beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info",
                                       "--schedule", str(RUN_DIR / "celerybeat-schedule")], env)
        wait_for_port(args.port, "web server")

        print("shareledger: running a reconciliation")
        outcome = subprocess.call([sys.executable, "manage.py", "reconcile"], cwd=ROOT, env=env)
        print({0: "  reconciliation clean", 1: "  reconciliation found breaks: see Breaks in the console",
               2: "  reconciliation incomplete: a source was unreachable or stale"}.get(
            outcome, f"  reconciliation failed (exit code {outcome}); see the output above"))

        print(f"""
shareledger is running.
  Admin console  http://127.0.0.1:{args.port}/admin/   (demo users are printed above by load_demo)
  Partner API    http://127.0.0.1:{args.port}/api/v1/  (docs: http://127.0.0.1:{args.port}/api/docs/)
  Chain (anvil)  http://127.0.0.1:{ANVIL_PORT}   Sandbox broker http://127.0.0.1:{BROKER_PORT}
  Logs           .run/*.log
Press Ctrl-C to stop.""")
        while True:
            children.check()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nshareledger: stopping")
    finally:
        children.stop()


if __name__ == "__main__":
    main()
