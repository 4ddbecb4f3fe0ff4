"""`cme-tracker serve` as deployed: clients that send their requests slowly do not stop the site, and /metrics
sums what every worker process counted."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DatabaseFactory
from tests.smtp_server import free_port


@pytest.fixture
def served(tmp_path: Path, database_factory: DatabaseFactory) -> Iterator[str]:
    environment = {
        **os.environ,
        "CME_INSTANCE_PATH": str(tmp_path / "instance"),
        "CME_DATABASE_URL": database_factory.create("serve"),
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "cme_tracker"]
    subprocess.run([*command, "db", "upgrade"], env=environment, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def _slow_client(port: int) -> socket.socket:
    """A client that has sent half a request and will take its time with the rest."""
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
    return slow


def test_two_slow_clients_do_not_stop_the_site(served: str) -> None:
    port = int(served.rsplit(":", 1)[1])
    slow = [_slow_client(port) for _ in range(2)]
    try:
        for _ in range(3):
            for client in slow:
                client.sendall(b"X-Slow: 1\r\n")
            started = time.monotonic()
            with urllib.request.urlopen(f"{served}/healthz", timeout=5) as response:
                assert response.status == 200
            assert time.monotonic() - started < 2
            time.sleep(0.5)
    finally:
        for client in slow:
            client.close()


def test_metrics_sum_the_requests_of_every_worker(served: str) -> None:
    for _ in range(20):
        urllib.request.urlopen(f"{served}/healthz", timeout=5).close()
    with urllib.request.urlopen(f"{served}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(
        r'cme_http_requests_total\{method="GET",route="/healthz",status="200"\} ([0-9.]+)', text
    )
    assert found is not None and float(found.group(1)) >= 20
