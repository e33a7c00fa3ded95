"""Real backing services for the tests: Redis and PostgreSQL.

They are found or started by bench/infra.py, as for the benchmark (its names used by
the tests are re-exported here). When one cannot be had, tests that need it are
skipped with the reason — except with ``CI=true``, where that fails the run.
"""

from __future__ import annotations

import os

import pytest

from bench.infra import (
    Service,
    admin_sql,
    find_postgres,
    find_redis,
    free_port,
    start_postgres,
    start_redis,
    with_database,
)

__all__ = [
    "Service",
    "admin_sql",
    "find_postgres",
    "find_redis",
    "free_port",
    "in_ci",
    "start_postgres",
    "start_redis",
    "unavailable",
    "with_database",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip the test needing this service, or fail the run under CI."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)
