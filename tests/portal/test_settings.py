"""Configuration from the environment, the refusals of unsafe set-ups, production hardening."""

from __future__ import annotations

import contextlib
import inspect
import ipaddress
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from portal.demo import story_years
from portal.settings import DEFAULT_VAR_DIR, ConfigError, Settings
from tests.conftest import running
from tests.helpers import CSRF_COOKIE, PASSWORD, login

PG_URL = "postgresql://portal@db.example:5432/portal"
GOOD_KEY = "k" * 40
PUBLIC_URL = "https://pingxuan.example.gov.cn"


# --- Settings.from_env -------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    var = tmp_path / "var"
    settings = Settings.from_env({"PORTAL_VAR_DIR": str(var)})
    assert settings.database_url == f"sqlite:///{var / 'portal.sqlite3'}"
    assert settings.uses_sqlite and settings.sqlite_path == var / "portal.sqlite3"
    assert settings.env == "development" and not settings.production
    assert settings.redis_url is None
    assert settings.trusted_proxies == ()
    assert settings.captcha_test_answer is None
    assert settings.public_url is None  # development: the request's host
    assert settings.var_dir == var
    assert (settings.captcha_pool_size, settings.captcha_drawers) == (200, 1)


def test_portal_serve_shares_the_cores_among_its_workers_for_drawing() -> None:
    assert [Settings.drawers_for(w, cores=8) for w in (1, 2, 3, 8, 16)] == [4, 4, 2, 1, 1]
    assert Settings.drawers_for(1, cores=64) == 4  # more: captcha-worker on other machines
    assert Settings.drawers_for(2, cores=2) == 1


def test_default_var_dir_is_the_project_var_folder() -> None:
    # A key is given so nothing is written into the real var/ folder.
    settings = Settings.from_env({"PORTAL_SECRET_KEY": GOOD_KEY})
    assert settings.var_dir == DEFAULT_VAR_DIR
    assert settings.database_url == f"sqlite:///{DEFAULT_VAR_DIR / 'portal.sqlite3'}"
    assert settings.secret_key == GOOD_KEY


def test_development_secret_is_generated_private_and_reused(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = Settings.from_env({"PORTAL_VAR_DIR": str(var)})
    key_file = var / "secret_key"
    assert key_file.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The next start (another process, same folder) signs with the same key...
    second = Settings.from_env({"PORTAL_VAR_DIR": str(var), "PORTAL_ENV": "test"})
    assert second.secret_key == first.secret_key
    # ...and another folder gets a key of its own.
    other = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key
    # The secret never shows in logs of the settings object.
    assert first.secret_key not in repr(first)


def test_given_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECRET_KEY": GOOD_KEY})
    assert settings.secret_key == GOOD_KEY
    assert not (tmp_path / "secret_key").exists()


def test_production_never_generates_a_secret(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_ENV": "production", "DATABASE_URL": PG_URL}
    )
    assert settings.production and settings.secret_key == ""
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        settings.check()


def test_values_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_ENV": " Production ",
            "DATABASE_URL": PG_URL,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "PORTAL_SECRET_KEY": GOOD_KEY,
            "PORTAL_CAPTCHA_TEST_ANSWER": "",
            "PORTAL_CAPTCHA_DRAWERS": "3",
        }
    )
    assert settings.captcha_drawers == 3
    assert settings.env == "production"
    assert settings.database_url == PG_URL and not settings.uses_sqlite
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.captcha_test_answer is None  # empty means unset
    legacy = Settings.from_env(
        {"PORTAL_VAR_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@h/db"}
    )
    assert not legacy.uses_sqlite


def test_trusted_proxies_take_addresses_and_networks(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8;172.16.5.4/12 , 2001:db8::/32,,",
        }
    )
    assert settings.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("172.16.0.0/12"),  # host bits are forgiven
        ipaddress.ip_network("2001:db8::/32"),
    )
    for blank in ("", " ", " , ;"):
        env = {"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_TRUSTED_PROXIES": blank}
        assert Settings.from_env(env).trusted_proxies == ()


@pytest.mark.parametrize(
    "value", ["10.0.0.1, proxy.internal", "10.0.0.300", "10.0.0.0/33", "*", "10.0.0.1 10.0.0.2"]
)
def test_a_bad_trusted_proxy_is_a_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_TRUSTED_PROXIES": value})
    message = str(raised.value)
    assert message.startswith("PORTAL_TRUSTED_PROXIES")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        (PUBLIC_URL, PUBLIC_URL),
        (f" {PUBLIC_URL}/ ", PUBLIC_URL),
        ("HTTPS://PingXuan.Example.gov.cn", PUBLIC_URL),
        ("https://pingxuan.example.gov.cn:443", PUBLIC_URL),  # the default port is implied
        ("https://pingxuan.example.gov.cn:8443", "https://pingxuan.example.gov.cn:8443"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://10.0.0.5", "http://10.0.0.5"),
        ("http://[2001:db8::1]:8080/", "http://[2001:db8::1]:8080"),
        ("", None),
    ],
)
def test_the_public_url_is_an_origin(tmp_path: Path, value: str, origin: str | None) -> None:
    settings = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_PUBLIC_URL": value})
    assert settings.public_url == origin


@pytest.mark.parametrize(
    "value",
    [
        "pingxuan.example.gov.cn",  # no scheme
        "//pingxuan.example.gov.cn",
        "ftp://pingxuan.example.gov.cn",
        "javascript:alert(1)",
        "https://",
        "https://pingxuan.example.gov.cn/vote",  # a path
        "https://pingxuan.example.gov.cn/?",
        "https://pingxuan.example.gov.cn?next=/",
        "https://pingxuan.example.gov.cn#top",
        "https://admin@pingxuan.example.gov.cn",  # credentials
        "https://pingxuan.example.gov.cn\\@evil.example",
        "https://pingxuan.example.gov.cn:0",
        "https://pingxuan.example.gov.cn:65536",
        "https://pingxuan.example.gov.cn:https",
        "https://ping xuan.example.gov.cn",
        "https://pingxuan_example.gov.cn",
        "https://-pingxuan.example.gov.cn",
        "https://pingxuan.example.gov.cn.",
        "https://评选.example.gov.cn",  # IDN: give its xn-- form
        "https://[2001:db8::1",
        "https://pingxuan.example.gov.cn%2F@evil.example",
    ],
)
def test_a_bad_public_url_is_a_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_PUBLIC_URL": value})
    message = str(raised.value)
    assert message.startswith("PORTAL_PUBLIC_URL") and "https://pingxuan.example.gov.cn" in message
    assert repr(value.strip()) in message and "\n" not in message
    assert not (tmp_path / "secret_key").exists()  # refused before anything is written


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "sqlite://relative.db", "sqlite:portal.db", "portal.sqlite3"]
)
def test_an_invalid_database_url_is_a_config_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL") as raised:
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "DATABASE_URL": url})
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("env", ["staging", "prod", "dev"])
def test_an_invalid_portal_env_is_a_config_error(tmp_path: Path, env: str) -> None:
    with pytest.raises(ConfigError, match="PORTAL_ENV") as raised:
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_ENV": env})
    assert "\n" not in str(raised.value)
    # Refused before anything is written.
    assert not (tmp_path / "secret_key").exists()


# --- Settings.check ----------------------------------------------------------------------


def _production(**overrides) -> Settings:  # type: ignore[no-untyped-def]
    values = {
        "database_url": PG_URL,
        "redis_url": "redis://127.0.0.1:6379/0",
        "env": "production",
        "secret_key": GOOD_KEY,
        "public_url": PUBLIC_URL,
    }
    return Settings(**{**values, **overrides})


def test_a_sound_production_configuration_passes() -> None:
    _production().check()
    _production().check(workers=4)
    _production(secret_key="x" * 32).check()
    _production(database_url="sqlite:////srv/portal.sqlite3", redis_url=None).check(workers=1)


@pytest.mark.parametrize(
    ("settings", "workers", "names"),
    [
        (_production(secret_key=""), 1, "PORTAL_SECRET_KEY"),
        (_production(secret_key="x" * 31), 1, "PORTAL_SECRET_KEY"),
        (_production(captcha_test_answer="banana"), 1, "PORTAL_CAPTCHA_TEST_ANSWER"),
        (_production(demo=True), 1, "PORTAL_DEMO"),
        (_production(public_url=None), 1, "PORTAL_PUBLIC_URL"),
        (_production(database_url="sqlite:////srv/portal.sqlite3"), 2, "SQLite"),
        (_production(redis_url=None), 2, "REDIS_URL"),
        (Settings(database_url=PG_URL, env="development", secret_key=GOOD_KEY), 2, "REDIS_URL"),
        (Settings(database_url="sqlite:///x.db", env="test", secret_key=GOOD_KEY), 3, "REDIS_URL"),
    ],
    ids=[
        "no-secret",
        "short-secret",
        "captcha-test-answer",
        "demo",
        "no-public-url",
        "sqlite-workers",
        "production-workers-without-redis",
        "development-workers-without-redis",
        "test-workers-without-redis",
    ],
)
def test_check_refuses_unsafe_configurations(settings: Settings, workers: int, names: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings.check(workers=workers)
    message = str(raised.value)
    assert names in message
    assert message and "\n" not in message and message == message.strip()


def test_test_settings_are_only_refused_in_production() -> None:
    for env in ("development", "test"):
        Settings(database_url="sqlite:///x.db", env=env, captcha_test_answer="banana").check()
        # One worker needs no Redis; SQLite with workers is a production-only refusal.
        Settings(database_url="sqlite:///x.db", env=env, redis_url="redis://r/0").check(workers=2)


# --- production hardening over HTTP ------------------------------------------------------


@contextlib.asynccontextmanager
async def production_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app in production, reached over HTTPS (Secure cookies are only sent back there)."""
    from portal.app import create_app

    settings = Settings(
        database_url=os.environ["DATABASE_URL"],
        env="production",
        secret_key="p" * 40,
        public_url="https://testserver.local",
        var_dir=tmp_path,
    )
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver.local", follow_redirects=False
        ) as client:
            yield client


def _set_cookie(response: httpx.Response, name: str) -> str:
    return next(
        value
        for key, value in response.headers.multi_items()
        if key == "set-cookie" and value.startswith(f"{name}=")
    )


async def test_production_cookies_are_secure_and_hsts_is_sent(staff: dict, tmp_path: Path) -> None:
    from portal.auth import SESSION_COOKIE

    async with production_client(tmp_path) as client:
        page = await client.get("/login")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert int(page.headers["strict-transport-security"].split("=")[1]) >= 31536000
        csrf = _set_cookie(page, CSRF_COOKIE)
        assert "; Secure" in csrf

        # A clerk: an administrator would first enrol a second factor (test_login_security).
        response = await login(client, "clerk", PASSWORD)
        session = _set_cookie(response, SESSION_COOKIE)
        assert "; Secure" in session and "HttpOnly" in session
        assert "strict-transport-security" in response.headers
        # The secure session works: the dashboard opens over HTTPS.
        dashboard = await client.get("/staff")
        assert dashboard.status_code == 200
        assert "strict-transport-security" in dashboard.headers


async def test_outside_production_there_is_no_hsts_and_no_secure_flag(client) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/login")
    assert "strict-transport-security" not in page.headers
    assert "Secure" not in _set_cookie(page, CSRF_COOKIE)


# --- password storage --------------------------------------------------------------------


async def test_accounts_are_stored_with_production_strength_and_verify(
    bureaus: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from piccolo.apps.user.tables import BaseUser

    from portal.accounts import LoginFailed, LoginGuard, authenticate, create_staff
    from portal.stores import MemoryStateStore
    from portal.tables import Staff

    assert BaseUser._pbkdf2_iteration_count == 600_000
    # Staff inherits that default: the portal does not lower it in the class (only the
    # suite does, in conftest; the real command's hashes are checked in test_cli).
    assert "_pbkdf2_iteration_count" not in inspect.getsource(Staff)
    # Undo the suite's speed-up for this test.
    monkeypatch.delattr(Staff, "_pbkdf2_iteration_count", raising=False)
    assert Staff._pbkdf2_iteration_count == 600_000

    staff = await create_staff("strong", PASSWORD, "auditor")
    stored = await Staff.select(Staff.password).where(Staff.id == staff.id).first().run()
    algorithm, iterations, salt, digest = stored["password"].split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", "600000")
    assert len(salt) >= 16 and len(digest) >= 40
    assert PASSWORD not in stored["password"]

    guard = LoginGuard(MemoryStateStore())
    assert (await authenticate(guard, "strong", PASSWORD, "192.0.2.1")).staff_id == staff.id
    with pytest.raises(LoginFailed):
        await authenticate(guard, "strong", PASSWORD + "x", "192.0.2.1")


async def test_a_production_hash_verifies_while_the_class_count_differs(bureaus: None) -> None:
    """The stored round count is what verification uses, not the current class default."""
    from portal.accounts import LoginFailed, LoginGuard, authenticate, create_staff
    from portal.stores import MemoryStateStore
    from portal.tables import Staff

    staff = await create_staff("legacy", "Temporary-pass", "auditor")
    strong = Staff.hash_password(PASSWORD, iterations=600_000)
    assert strong.startswith("pbkdf2_sha256$600000$")
    assert Staff._pbkdf2_iteration_count != 600_000  # the suite's lowered count
    await Staff.update({Staff.password: strong}).where(Staff.id == staff.id).run()
    guard = LoginGuard(MemoryStateStore())
    assert (await authenticate(guard, "legacy", PASSWORD, "192.0.2.1")).staff_id == staff.id
    with pytest.raises(LoginFailed):
        await authenticate(guard, "legacy", "Temporary-pass", "192.0.2.1")


def test_the_demo_flag_is_read_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)}).demo is False
    for value in ("1", "true", "YES"):
        settings = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_DEMO": value})
        assert settings.demo is True


async def test_the_demo_site_says_what_it_shows(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from portal.app import create_app

    for demo in (True, False):
        settings = Settings(
            database_url=os.environ["DATABASE_URL"], env="test", var_dir=tmp_path, demo=demo
        )
        app = create_app(settings)
        async with running(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver.local"
            ) as client:
                page = await client.get("/")
        assert page.status_code == 200
        assert ("演示站点" in page.text) is demo
        assert ("程序生成的演示数据" in page.text) is demo
        assert (f"整体推后了 {story_years()} 年" in page.text) is demo
