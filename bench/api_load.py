"""Partner API read endpoints under gunicorn, driven by a keep-alive load generator on loopback.

    .venv/bin/python bench/api_load.py [--quick] [--seconds 20] [--clients 8] [--workers 2] [--threads 4]

Seeds a throwaway database (one partner with a key, instruments with token deployments on a local anvil,
wallets and mint requests), starts gunicorn (gthread workers, persistent DB connections, the real per-key
throttle with a limit above the offered load) on a free 127.0.0.1 port, warms up, then runs `--clients`
threads each on one HTTP/1.1 keep-alive connection, cycling through the read endpoints for `--seconds` (or
`--max-requests` in all). Prints req/s, p50/p99 latency and errors overall and per endpoint. Target: >= 300
req/s, p99 < 100 ms, zero errors.
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _benchdb import ROOT, bench_database

OPS = "system:bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(rpc_url: str, instruments: int, mint_requests: int) -> tuple[str, list[str]]:
    """A partner with a read key and data to read; returns (bearer token, paths to request)."""
    from eth_account import Account

    from api.keys import create_api_key
    from custody.identifiers import InvalidIdentifier, validate_isin
    from custody.instruments import create_instrument
    from issuance.services import deploy_token, request_mint
    from partners.services import onboard_partner, register_wallet

    def isin(body: str) -> str:
        for digit in "0123456789":
            try:
                return validate_isin(body + digit)
            except InvalidIdentifier:
                continue
        raise AssertionError(body)

    symbols = [f"B{n:03d}" for n in range(instruments)]
    for n, symbol in enumerate(symbols):
        create_instrument(symbol, f"Bench {symbol} Inc.", isin(f"XS{n:09d}"), actor=OPS)
        deploy_token(symbol, "anvil", actor=OPS, decimals=6)
    wallet = Account.create().address
    onboard_partner("bench-partner", "Bench Partner", actor=OPS, network="anvil", wallet_address=wallet,
                    allowed_symbols=symbols)
    for _ in range(20):
        register_wallet("bench-partner", "anvil", Account.create().address, actor=OPS)
    first = None
    for n in range(mint_requests):
        mint = request_mint("bench-partner", symbols[n % len(symbols)], str(n % 50 + 1), "anvil", wallet, OPS)
        first = first or mint.id
    token = create_api_key("bench-partner", scopes=["read"], actor=OPS).token
    paths = ["/api/v1/instruments", f"/api/v1/instruments/{symbols[0]}", "/api/v1/token-deployments",
             "/api/v1/wallets", "/api/v1/mint-requests?limit=20", "/api/v1/mint-requests?status=approved&limit=20",
             f"/api/v1/mint-requests/{first}"]
    return token, paths


def start_gunicorn(port: int, workers: int, threads: int, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


class Client(threading.Thread):
    """One keep-alive connection, cycling through the paths until the shared deadline or request budget."""

    def __init__(self, port: int, token: str, paths: list[str], offset: int, stop_at: float, budget: list[int],
                 lock: threading.Lock):
        super().__init__(daemon=True)
        self.port, self.headers, self.paths = port, {"Authorization": f"Bearer {token}"}, paths
        self.offset, self.stop_at, self.budget, self.lock = offset, stop_at, budget, lock
        self.samples: list[tuple[str, float]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = self.offset
        while time.monotonic() < self.stop_at:
            with self.lock:
                if self.budget[0] <= 0:
                    break
                self.budget[0] -= 1
            path = self.paths[n % len(self.paths)]
            n += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    self.errors.append(f"{path}: HTTP {response.status}")
                self.samples.append((path, elapsed))
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{path}: {type(exc).__name__} {exc}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.close()


def load(port: int, token: str, paths: list[str], clients: int, seconds: float, max_requests: int):
    lock = threading.Lock()
    budget = [max_requests]
    started = time.monotonic()
    workers = [Client(port, token, paths, i, started + seconds, budget, lock) for i in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.monotonic() - started
    samples = [s for w in workers for s in w.samples]
    errors = [e for w in workers for e in w.errors]
    return samples, errors, wall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by gunicorn's master and workers."""
    import psutil

    master = psutil.Process(server.pid)
    total = 0.0
    for proc in [master, *master.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def report(samples, errors, wall, server_cpu: float) -> None:
    latencies = [s for _, s in samples]
    print(f"requests {len(samples)} in {wall:.1f} s: {len(samples) / wall:.0f} req/s, "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
          f"errors {len(errors)}; server CPU {server_cpu / max(1, len(samples)) * 1000:.2f} ms per request")
    by_path: dict[str, list[float]] = {}
    for path, seconds in samples:
        by_path.setdefault(path, []).append(seconds)
    for path, values in by_path.items():
        print(f"  {path:<52} n={len(values):>6}  p50 {statistics.median(values) * 1000:6.1f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:6.1f} ms")
    for error in errors[:5]:
        print(f"  error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s of load on a smaller data set")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds
    instruments, mint_requests = (5, 200) if args.quick else (20, 2000)

    from chain.anvil import free_port as anvil_port, start_anvil

    with tempfile.TemporaryDirectory() as run_dir, start_anvil(anvil_port(), Path(run_dir)) as node:
        network = f'{{"anvil": {{"chain_id": 31337, "rpc_url": "{node.url}", "confirmations": 1}}}}'
        os.environ["SHARELEDGER_NETWORKS"] = network
        with bench_database("shareledger_bench_api") as database_url:
            started = time.perf_counter()
            token, paths = seed(node.url, instruments, mint_requests)
            print(f"seeded {instruments} instruments, 21 wallets, {mint_requests} mint requests "
                  f"in {time.perf_counter() - started:.1f} s")
            from django.db import connections

            connections.close_all()
            port = free_port()
            env = {**os.environ, "DATABASE_URL": database_url, "DB_CONN_MAX_AGE": "300", "PYTHONPATH": str(ROOT),
                   "API_RATE_LIMIT": "1000000/min", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings"}
            server = start_gunicorn(port, args.workers, args.threads, env)
            try:
                print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread) on 127.0.0.1:{port}; "
                      f"load: {args.clients} keep-alive clients, {seconds:.0f} s, on {os.cpu_count()} CPUs shared "
                      f"with the server")
                load(port, token, paths, args.clients, 2.0, 2_000)  # warm-up: connections, caches, plans
                cpu_before = server_cpu_seconds(server)
                samples, errors, wall = load(port, token, paths, args.clients, seconds, args.max_requests)
                report(samples, errors, wall, server_cpu_seconds(server) - cpu_before)
                print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
