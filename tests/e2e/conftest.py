"""Browser tests: Debian's Chromium driven by Playwright against the real server.

The server runs as a subprocess (`portal demo --no-serve`, then `portal serve` on a
free port, both by bench/infra.py) on a database of its own, so these tests see exactly
what a user sees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import infra
from tests import services

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Answers any live CAPTCHA of the e2e server (which still consumes it), so a browser
# test can vote the way a person does without reading the picture.
CAPTCHA_TEST_ANSWER = "E2EPASS"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def server_env(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the e2e server: its own database (of this run's engine,
    ``db_engine``) and var folder."""
    return infra.portal_env(
        tmp_path_factory.mktemp("e2e-var"),
        os.environ["PORTAL_E2E_DATABASE_URL"],
        test_answer=CAPTCHA_TEST_ANSWER,
    )


def on_server_database(env: dict[str, str], *args: str) -> str:
    """Run ``tests/e2e/prepare.py ARGS`` on the e2e server's database (this process's
    engine is bound to the test database); return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.prepare", *args],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="session")
def server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The portal with the demo campaign, served on a free port; yields its base URL."""
    infra.portal(server_env, "demo", "--no-serve", timeout=180)
    server = infra.Server(server_env, tmp_path_factory.mktemp("e2e-log") / "server.log")
    try:
        server.wait_ready()
        yield server.base
    finally:
        server.stop()
    output = server.log.read_text()
    assert "Traceback" not in output, output[-3000:]


@contextlib.contextmanager
def installation(
    folder: Path, bureaus: str, username: str, password: str, bureau: str | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """A separate installation, set up as its bureau would: `portal migrate`, `portal
    bureaus import` of ``bureaus`` (CSV text), the first administrator by `portal
    createuser` (of ``bureau``, else the top one), then served; yields its base URL and
    environment. Its log must hold no traceback."""
    env = infra.portal_env(
        folder, f"sqlite:///{folder / 'portal.sqlite3'}", test_answer=CAPTCHA_TEST_ANSWER
    )
    infra.portal(env, "migrate")
    (folder / "bureaus.csv").write_text(bureaus, encoding="utf-8")
    infra.portal(env, "bureaus", "import", str(folder / "bureaus.csv"))
    options = ["--bureau", bureau] if bureau else []
    subprocess.run(
        infra.portal_command("createuser", username, "--role", "admin", *options),
        env=env,
        cwd=folder,
        input=f"{password}\n",
        text=True,
        capture_output=True,
        check=True,
        timeout=120,
    )
    server = infra.Server(env, folder / "server.log")
    try:
        server.wait_ready()
        yield server.base, env
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        services.unavailable("Chromium is not installed (Debian package: chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, server: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) per test; a screenshot is kept of its last page."""
    context = browser.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def phone(browser, server: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A 360 px wide phone, as the public opens links shared in WeChat."""
    context = browser.new_context(
        base_url=server,
        locale="zh-CN",
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def shot(tab, name: str) -> None:  # type: ignore[no-untyped-def]
    """Keep a screenshot of a major page as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
