"""A server that reports ready hands out challenges at once: its drawing processes are
up before it takes requests, and an empty pool is waited on, not answered with 503."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bench import infra


async def test_the_first_second_after_ready_answers_every_challenge(tmp_path: Path) -> None:
    env = infra.portal_env(tmp_path / "var", f"sqlite:///{tmp_path / 'p.sqlite3'}", test_answer="X")
    infra.portal(env, "migrate")
    server = infra.Server(env, tmp_path / "server.log")
    try:
        await server.ready()  # 200 from /healthz/ready: the pool may still be empty
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/captcha", headers={"X-Forwarded-For": f"10.9.0.{n}"})
                    for n in range(1, 41)
                )
            )
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [201] * 40, server.log_tail()
