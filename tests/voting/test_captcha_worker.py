"""`portal captcha-worker`: drawing capacity added from any machine. It fills the shared
Redis pool to its size (and no further), keeps it filled as challenges are handed out,
stops on Ctrl-C, and refuses to run without Redis."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import redis

from bench import infra
from voting.captcha import POOL_KEY

SIZE = 12


def pool_length(client: redis.Redis) -> int:
    return sum(client.llen(key) for key in client.keys(f"*{POOL_KEY}"))


def wait_for(check, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the pool was not filled in time"
        time.sleep(0.1)


def test_the_worker_keeps_the_shared_pool_filled(private_redis: str, tmp_path: Path) -> None:
    env = infra.portal_env(
        tmp_path, f"sqlite:///{tmp_path / 'portal.sqlite3'}", test_answer="X", pool_size=SIZE
    )
    env["REDIS_URL"] = private_redis
    client = redis.Redis.from_url(private_redis)
    worker = subprocess.Popen(
        infra.portal_command("captcha-worker", "--interval", "0.1"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: pool_length(client) == SIZE)
        time.sleep(0.5)
        assert pool_length(client) == SIZE  # filled to its size, no further
        [key] = client.keys(f"*{POOL_KEY}")
        for _ in range(5):  # handed out by a server
            client.lpop(key)
        wait_for(lambda: pool_length(client) == SIZE, 30)
    finally:
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err[-2000:]
    assert "验证码池" in out and "Traceback" not in err


def test_the_worker_needs_redis(tmp_path: Path) -> None:
    env = infra.portal_env(tmp_path, f"sqlite:///{tmp_path / 'portal.sqlite3'}", test_answer="X")
    done = infra.portal(env, "captcha-worker", check=False, timeout=60)
    assert done.returncode == 1
    assert "REDIS_URL" in done.stdout + done.stderr
