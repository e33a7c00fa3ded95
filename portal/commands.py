"""What every ``portal`` command shares, the kernel's and the apps' alike: the consoles,
failing with a message, and running an async body with the database open."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from rich.console import Console

from portal.settings import ConfigError, Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]错误：[/]{message}", highlight=False)
    sys.exit(1)


def run(coro_fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run an async command body with the database pool open."""
    from portal.db import close_database, open_database

    async def main() -> Any:
        await open_database()
        try:
            return await coro_fn(*args)
        finally:
            await close_database()

    return asyncio.run(main())


def load_settings() -> Settings:
    """The settings from the environment, or exit with what is wrong with them."""
    try:
        return get_settings()
    except ConfigError as exc:
        fail(str(exc))
