"""Configuration: read once from the environment into an immutable settings object.

The variables and their defaults are part of the public contract
(``shared/docs/public-api.md``): deployment scripts rely on them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """The configuration cannot run; the message is one line saying why."""


def _parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    networks = []
    for item in raw.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"PORTAL_TRUSTED_PROXIES：{item!r} 不是有效的地址或网段") from exc
    return tuple(networks)


def _positive(env_map: Mapping[str, str], name: str, default: int) -> int:
    raw = env_map.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} 须为正整数，不能是 {raw!r}")
    return int(raw)


def _seconds(env_map: Mapping[str, str], name: str, default: float) -> float:
    raw = env_map.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigError(f"{name} 须为 0–3600 之间的秒数，不能是 {raw!r}")
    return value


def _milliseconds(env_map: Mapping[str, str], name: str, default: int) -> float:
    """A whole number of milliseconds (0–60000) from the environment, in seconds."""
    raw = env_map.get(name, "").strip()
    if not raw:
        return default / 1000
    if not raw.isdigit() or int(raw) > 60000:
        raise ConfigError(f"{name} 须为 0–60000 之间的毫秒数，不能是 {raw!r}")
    return int(raw) / 1000


DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name: dot-separated labels of letters, digits and inner hyphens.
_HOSTNAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")


def _origin(raw: str) -> str | None:
    """PORTAL_PUBLIC_URL as ``scheme://host[:port]`` (lower case, no default port)."""
    raw = raw.strip()
    if not raw:
        return None
    refused = ConfigError(
        "PORTAL_PUBLIC_URL 须为网站的公开地址，只含协议（http 或 https）、域名和端口，"
        f"如 https://pingxuan.example.gov.cn，不能是 {raw!r}"
    )
    if not raw.isascii() or not raw.isprintable() or any(c in raw for c in " ?#%"):
        raise refused
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:  # a bad port or IPv6 literal
        raise refused from None
    host = parts.hostname or ""
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or port == 0
        or not (_HOSTNAME.fullmatch(host) or _ip_literal(host))
    ):
        raise refused
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _load_or_create_secret(var_dir: Path) -> str:
    """Development only: a random key kept under var/ so sessions survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions; never overwrite a key another process made.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


MAX_DEFAULT_DRAWERS = 4


SMTP_SECURITY = ("starttls", "ssl", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server that staff messages are mailed through (PORTAL_SMTP_*)."""

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)
    # "starttls" (upgrade a plain connection), "ssl" (TLS from the start) or "none".
    security: str = "starttls"

    @classmethod
    def from_env(cls, env_map: Mapping[str, str]) -> SmtpSettings | None:
        """The SMTP settings, or None when PORTAL_SMTP_HOST is unset (mail is off)."""
        host = env_map.get("PORTAL_SMTP_HOST", "").strip()
        if not host:
            return None
        security = (env_map.get("PORTAL_SMTP_TLS") or "starttls").strip().lower()
        if security not in SMTP_SECURITY:
            raise ConfigError(f"PORTAL_SMTP_TLS 只能是 starttls、ssl 或 none，不能是 {security!r}")
        port = _positive(env_map, "PORTAL_SMTP_PORT", SMTP_DEFAULT_PORTS[security])
        if port > 65535:
            raise ConfigError(f"PORTAL_SMTP_PORT 须为 1–65535 之间的端口号，不能是 {port}")
        sender = env_map.get("PORTAL_SMTP_FROM", "").strip()
        if "@" not in sender:
            raise ConfigError("设置了 PORTAL_SMTP_HOST 时须设置发件地址 PORTAL_SMTP_FROM")
        user = env_map.get("PORTAL_SMTP_USER", "").strip()
        password = env_map.get("PORTAL_SMTP_PASSWORD", "")
        if password and not user:
            raise ConfigError("设置了 PORTAL_SMTP_PASSWORD 时须同时设置 PORTAL_SMTP_USER")
        return cls(host, port, sender, user, password, security)


@dataclass(frozen=True)
class Settings:
    """Everything the portal reads from its environment."""

    database_url: str
    redis_url: str | None = None
    env: str = "development"
    secret_key: str = field(default="", repr=False)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # The site's public origin (PORTAL_PUBLIC_URL), e.g. "https://pingxuan.example.gov.cn":
    # every absolute URL is built from it (portal/origin.py). None: the request's host.
    public_url: str | None = None
    captcha_test_answer: str | None = None
    # Set by `portal demo` (PORTAL_DEMO=1): every page says the site shows generated demo
    # data whose dates follow today's.
    demo: bool = False
    # Challenges kept drawn ahead in the store (PORTAL_CAPTCHA_POOL_SIZE), and the
    # drawing processes of each server process (PORTAL_CAPTCHA_DRAWERS; `portal serve`
    # defaults it to the machine's cores shared among its workers).
    captcha_pool_size: int = 200
    captcha_drawers: int = 1
    # Every form's CAPTCHA of digits only, spoken in Mandarin (PORTAL_CAPTCHA_DIGITS_ONLY);
    # care mode always has them.
    captcha_digits_only: bool = False
    # Seconds anonymous visitors' vote and candidate pages are served from memory
    # (PORTAL_PAGE_CACHE_SECONDS; 0 turns the cache off).
    page_cache_seconds: float = 2.0
    # Load shedding, per server process (portal/shedding.py): requests handled at once
    # (PORTAL_MAX_INFLIGHT), the longest a request waits for a slot before a 503
    # (PORTAL_QUEUE_TIMEOUT_MS), and the longest a vote waits for the ledger writer
    # to take it before a 503 with nothing recorded (PORTAL_LEDGER_WAIT_MS; 0: no bound).
    max_inflight: int = 128
    queue_timeout: float = 0.5
    ledger_wait: float = 1.0
    var_dir: Path = DEFAULT_VAR_DIR
    # Staff accounts (等保 2.0; portal/lockout.py, portal/auth.py, portal/otp.py): a session unused
    # this long ends (PORTAL_SESSION_IDLE_MINUTES), any session ends this long after its
    # login (PORTAL_SESSION_MAX_HOURS); a password this old must be changed
    # (PORTAL_PASSWORD_MAX_AGE_DAYS); a network that failed five times is locked out of
    # the account this long (PORTAL_LOGIN_LOCK_MINUTES); every staff account, not only
    # administrators and auditors, needs a second factor in production (PORTAL_OTP_ALL_STAFF).
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    password_max_age_days: int = 90
    login_lock_minutes: int = 15
    otp_all_staff: bool = False
    # Optional e-mail of staff messages (portal/mail.py): None sends nothing.
    smtp: SmtpSettings | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read the contract's variables; fill development defaults."""
        env_map = os.environ if environ is None else environ
        var_dir = Path(env_map.get("PORTAL_VAR_DIR") or DEFAULT_VAR_DIR)
        env = (env_map.get("PORTAL_ENV") or "development").strip().lower()
        if env not in {"development", "production", "test"}:
            raise ConfigError(f"PORTAL_ENV 只能是 development、production 或 test，不能是 {env!r}")
        database_url = env_map.get("DATABASE_URL") or f"sqlite:///{var_dir / 'portal.sqlite3'}"
        if not database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL 须以 sqlite:/// 或 postgresql:// 开头")
        public_url = _origin(env_map.get("PORTAL_PUBLIC_URL", ""))
        secret_key = env_map.get("PORTAL_SECRET_KEY", "")
        if not secret_key and env != "production":
            secret_key = _load_or_create_secret(var_dir)
        return cls(
            database_url=database_url,
            redis_url=env_map.get("REDIS_URL") or None,
            env=env,
            secret_key=secret_key,
            trusted_proxies=_parse_networks(env_map.get("PORTAL_TRUSTED_PROXIES", "")),
            public_url=public_url,
            captcha_test_answer=env_map.get("PORTAL_CAPTCHA_TEST_ANSWER") or None,
            demo=(env_map.get("PORTAL_DEMO") or "").strip().lower() in ("1", "true", "yes"),
            captcha_pool_size=_positive(env_map, "PORTAL_CAPTCHA_POOL_SIZE", 200),
            captcha_drawers=_positive(env_map, "PORTAL_CAPTCHA_DRAWERS", 1),
            captcha_digits_only=(env_map.get("PORTAL_CAPTCHA_DIGITS_ONLY") or "").strip().lower()
            in ("1", "true", "yes"),
            page_cache_seconds=_seconds(env_map, "PORTAL_PAGE_CACHE_SECONDS", 2.0),
            max_inflight=_positive(env_map, "PORTAL_MAX_INFLIGHT", 128),
            queue_timeout=_milliseconds(env_map, "PORTAL_QUEUE_TIMEOUT_MS", 500),
            ledger_wait=_milliseconds(env_map, "PORTAL_LEDGER_WAIT_MS", 1000),
            var_dir=var_dir,
            session_idle_minutes=_positive(env_map, "PORTAL_SESSION_IDLE_MINUTES", 30),
            session_max_hours=_positive(env_map, "PORTAL_SESSION_MAX_HOURS", 12),
            password_max_age_days=_positive(env_map, "PORTAL_PASSWORD_MAX_AGE_DAYS", 90),
            login_lock_minutes=_positive(env_map, "PORTAL_LOGIN_LOCK_MINUTES", 15),
            otp_all_staff=(env_map.get("PORTAL_OTP_ALL_STAFF") or "").strip().lower()
            in ("1", "true", "yes"),
            smtp=SmtpSettings.from_env(env_map),
        )

    @staticmethod
    def drawers_for(workers: int, cores: int | None = None) -> int:
        """The CAPTCHA drawing processes each of ``workers`` server processes starts by
        default: the machine's cores shared among them, at least one and at most
        ``MAX_DEFAULT_DRAWERS`` each (each holds ~50 MB; past that, add machines with
        ``portal captcha-worker``)."""
        return max(1, min(MAX_DEFAULT_DRAWERS, (cores or os.cpu_count() or 1) // workers))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    def check(self, workers: int = 1) -> None:
        """Refuse configurations that cannot run safely, with a one-line reason each."""
        if workers > 1 and not self.redis_url:
            raise ConfigError(
                f"--workers {workers} 需要设置 REDIS_URL：没有 Redis，各进程的会话和限流互不相通"
            )
        if not self.production:
            return
        if not self.secret_key:
            raise ConfigError("生产环境（PORTAL_ENV=production）必须设置 PORTAL_SECRET_KEY")
        if len(self.secret_key) < 32:
            raise ConfigError("生产环境的 PORTAL_SECRET_KEY 至少需要 32 个字符")
        if not self.public_url:
            raise ConfigError(
                "生产环境必须设置 PORTAL_PUBLIC_URL（网站的公开地址，"
                "如 https://pingxuan.example.gov.cn）：链接、分享卡片和二维码都由它生成"
            )
        if self.captcha_test_answer:
            raise ConfigError("PORTAL_CAPTCHA_TEST_ANSWER 仅供测试使用，生产环境不能设置")
        if self.demo:
            raise ConfigError("PORTAL_DEMO 仅供演示站点使用，生产环境不能设置")
        if self.smtp and self.smtp.password and self.smtp.security == "none":
            raise ConfigError(
                "生产环境不能以明文发送邮箱密码：请将 PORTAL_SMTP_TLS 设为 starttls 或 ssl"
            )
        if self.uses_sqlite and workers > 1:
            raise ConfigError(
                "SQLite 只允许一个写入者：多个工作进程请使用 PostgreSQL（DATABASE_URL）"
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
