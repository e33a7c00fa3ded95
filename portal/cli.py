"""The `portal` command: serve the site, run the demo, manage the database and campaigns."""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table as RichTable

from portal.app import PLUGINS
from portal.commands import console, err_console, fail, load_settings, run
from portal.settings import ConfigError, Settings, get_settings

if TYPE_CHECKING:
    from portal.demo import DemoStep


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """“枫桥式”评选投票平台 — the Fengqiao-style recognition and voting portal.

    Configuration comes from the environment: DATABASE_URL, REDIS_URL, PORTAL_ENV,
    PORTAL_SECRET_KEY, PORTAL_PUBLIC_URL, PORTAL_TRUSTED_PROXIES, PORTAL_CAPTCHA_TEST_ANSWER
    (see README).
    """


async def _migrate() -> list[str]:
    from portal.db import migrate

    # No bureau is created: an installation imports its own (`portal bureaus import`).
    return await migrate()


@main.command()
def migrate() -> None:
    """Bring the database schema up to date.

    A new database starts empty: import the bureaus next (portal bureaus import), then
    create the first administrator (portal createuser).
    """
    load_settings()
    try:
        applied = run(_migrate)
    except RuntimeError as exc:
        fail(str(exc))
    if applied:
        console.print(f"已执行 {len(applied)} 个数据库迁移：")
        for name in applied:
            console.print(f"  - {name}")
    else:
        console.print("数据库结构已是最新。")


def _serve(host: str, port: int, workers: int, access_log: bool = False) -> None:
    import uvicorn

    from portal.db import pending_migrations

    # CAPTCHA drawing follows the machine: its cores shared among the workers (each
    # worker reads the setting from the environment it inherits).
    os.environ.setdefault("PORTAL_CAPTCHA_DRAWERS", str(Settings.drawers_for(workers)))
    settings = load_settings()
    try:
        settings.check(workers=workers)
    except ConfigError as exc:
        fail(str(exc))
    pending = run(pending_migrations)
    if pending:
        fail(f"数据库有 {len(pending)} 个迁移尚未执行，请先运行 portal migrate。")
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The portal reads X-Forwarded-For itself, and only from PORTAL_TRUSTED_PROXIES.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        log_level="info",
        # The proxy in front logs every request; a line per request here would cost
        # the vote path a twentieth of its CPU.
        access_log=access_log,
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes; more than one needs REDIS_URL (and PostgreSQL in production).",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every request (the proxy in front usually does).",
)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the site with the current configuration."""
    _serve(host, port, workers, access_log)


def demo_steps() -> list[DemoStep]:
    """The demo steps the plugins bring, for ``portal.demo.load_demo``."""
    return [step for plugin in PLUGINS for step in plugin.demo_steps]


async def _load_demo() -> list:
    from portal.db import migrate
    from portal.demo import load_demo

    await migrate()
    return await load_demo(get_settings().var_dir, demo_steps())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate, load the demo campaigns, print the demo logins, then serve.

    dingxi-2023 is in its public vote; dingxi-2022, the year before, is finished and
    published (honour list, notice with a handled objection, stories); gansu-2024, the
    province's campaign, is still nominating (its cities' drafts, returned and submitted
    nominations, Dingxi's from its 2022 designees), vetted as they come in.
    """
    from portal.demo import DEMO_PASSWORD, DEMO_SLUG, PROVINCE_SLUG
    from results.demo import SLUG as FINISHED_SLUG

    if not no_serve:
        # Every page of the demo site says what it shows (演示数据); set before the
        # settings are first read, which the server then keeps.
        os.environ["PORTAL_DEMO"] = "1"
    settings = load_settings()
    if settings.production:
        fail("演示数据的账号密码是公开的，生产环境（PORTAL_ENV=production）不能加载。")
    logins = run(_load_demo)
    table = RichTable(title=f"演示账号（密码均为 {DEMO_PASSWORD}）")
    table.add_column("用户名")
    table.add_column("角色")
    table.add_column("单位")
    for login in logins:
        table.add_row(login.username, login.display_name, login.bureau)
    console.print(table)
    console.print(f"演示活动：http://{host}:{port}/campaigns/{DEMO_SLUG}")
    console.print(f"往届活动（已命名）：http://{host}:{port}/campaigns/{FINISHED_SLUG}/honours")
    console.print(
        f"省级评选（推荐申报中，以 province-admin 登录审核）：http://{host}:{port}"
        f"/staff/nominations?campaign={PROVINCE_SLUG}"
    )
    console.print(f"工作人员登录：http://{host}:{port}/login")
    if not no_serve:
        _serve(host, port, 1)


async def _createuser(username: str, password: str, role: str, bureau: str | None) -> None:
    from portal.accounts import create_staff
    from portal.audit import Actor

    await create_staff(
        username, password, role, bureau, actor=Actor.command_line(), must_change=True
    )


def _read_password() -> str:
    if not sys.stdin.isatty():
        # Scripts pipe the password in on one line.
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != password:
        fail("两次输入的密码不一致。")
    return password


# Clearer names of the two roles first named after Dingxi's city and counties; the old
# names keep working.
ROLE_ALIASES = {"admin": "city_admin", "clerk": "county_clerk"}


@main.command()
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "clerk", "city_admin", "county_clerk", "reviewer", "auditor"]),
    help=(
        "admin (alias city_admin): runs its bureau's campaigns, bureaus and accounts; "
        "clerk (alias county_clerk): nominates for its bureau to its parent's campaigns; "
        "reviewer; auditor (read-only)."
    ),
)
@click.option(
    "--bureau",
    default=None,
    help="Bureau name or short name, e.g. XX县司法局 or XX县; default: the top bureau.",
)
def createuser(username: str, role: str, bureau: str | None) -> None:
    """Create a staff account, asking for the password (one line on stdin when piped).

    The password needs 10 or more characters of three kinds (lower case, upper case,
    digits, symbols), without the username, and not a common one; its owner must change
    it at the first login.
    """
    from portal.accounts import AccountError

    load_settings()
    password = _read_password()
    try:
        run(_createuser, username, password, ROLE_ALIASES.get(role, role), bureau)
    except AccountError as exc:
        fail(str(exc))
    console.print(
        f"已创建账号 {username}（{ROLE_ALIASES.get(role, role)}）。本人首次登录时须修改密码。"
    )


async def _phase(slug: str, target: str) -> str:
    from portal.audit import Actor
    from portal.phases import move_phase

    campaign = await move_phase(Actor.command_line(), slug, target)
    return campaign.phase


@main.command()
@click.argument("slug")
@click.argument("phase")
def phase(slug: str, phase: str) -> None:
    """Move a campaign to a phase, as the city bureau would (audited).

    PHASE is one of draft, nominating, vetting, reviewing, voting, tallying, notice,
    published. Moves go one step forward, or one step back before voting starts.
    """
    from portal.phases import PhaseRefused
    from portal.tables import Phase

    load_settings()
    try:
        new_phase = run(_phase, slug, phase)
    except LookupError:
        fail(f"找不到评选活动「{slug}」。")
    except PhaseRefused as exc:
        fail(str(exc))
    console.print(f"{slug} 已进入「{Phase(new_phase).label}」（{new_phase}）阶段。")


@main.group()
def bureaus() -> None:
    """The organisation tree: the bureaus this installation knows."""


async def _import_bureaus(data: bytes) -> Any:
    from portal.audit import Actor
    from portal.bureaus import import_bureaus

    return await import_bureaus(Actor.command_line(), data)


@bureaus.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_(file: str) -> None:
    """Add or update bureaus from FILE, a CSV (UTF-8) or XLSX with the header row
    name,short_name,level,parent (level: province, city, county or township; parent
    empty for the top bureau). All or nothing: any bad row imports nothing, and every
    bad row is named with its column. Audited.
    """
    from portal.bureaus import ImportRefused

    load_settings()
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        fail(f"无法读取文件 {file}：{exc.strerror}。")
    try:
        done = run(_import_bureaus, data)
    except ImportRefused as exc:
        err_console.print("[bold red]错误：[/]未导入任何单位：", highlight=False)
        for problem in exc.problems:
            err_console.print(f"  - {escape(str(problem))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    console.print(f"已导入单位：新增 {done.added} 个，更新 {done.updated} 个。")


async def _verify_audit() -> Any:
    from portal.audit import verify_chain

    return await verify_chain()


@main.command("verify-audit")
def verify_audit() -> None:
    """Check the audit log's hash chain in the database: every entry's hash and its link
    to the one before. Exit 1 naming the first bad entry (edited, deleted, inserted or
    moved in the database)."""
    load_settings()
    check = run(_verify_audit)
    if not check.ok:
        fail(f"审计日志哈希链在条目 id {check.bad_id} 处断开：{check.reason}。")
    console.print(f"审计日志哈希链完整：共 {check.entries} 条，链尾哈希 {check.head}。")


async def _purge_audit(days: int) -> Any:
    from portal.audit import Actor, purge

    return await purge(Actor.command_line(), days)


@main.command("purge-audit")
@click.option(
    "--older-than",
    "days",
    default=180,
    show_default=True,
    type=click.IntRange(180, None),
    help="Retention in days (at least 180).",
)
def purge_audit(days: int) -> None:
    """Delete the oldest audit entries older than the retention period. The purge is
    itself audited, with the hash the kept chain starts from, so verify-audit still
    checks the chain."""
    load_settings()
    done = run(_purge_audit, days)
    console.print(f"已清理 {done.entries} 条超过 {days} 天的审计日志；清理本身已记入审计日志。")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def backup(file: str) -> None:
    """Write a consistent backup of everything the portal keeps into FILE (.tar.gz), while
    it serves: the database (SQLite's online backup, or pg_dump's snapshot), the uploaded
    files and a manifest with their checksums and the applied migrations. The secret key
    is not included."""
    from pathlib import Path

    from portal.backup import BackupError
    from portal.backup import backup as write_backup

    settings = load_settings()
    try:
        done = write_backup(settings, Path(file))
    except BackupError as exc:
        fail(str(exc))
    console.print(
        f"已备份到 {file}：{done.engine} 数据库（{done.migrations} 个迁移）、"
        f"{done.files} 个上传文件，共 {done.size} 字节。"
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def restore(file: str) -> None:
    """Restore FILE, a backup made by portal backup, into this deployment's EMPTY
    database and upload folder. Refuses a non-empty target, a backup of the other engine
    and a damaged archive (checksums), changing nothing."""
    from pathlib import Path

    from portal.backup import BackupError
    from portal.backup import restore as read_backup

    settings = load_settings()
    try:
        done = read_backup(settings, Path(file))
    except BackupError as exc:
        fail(str(exc))
    console.print(
        f"已从 {file} 恢复：{done.engine} 数据库（{done.migrations} 个迁移）、"
        f"{done.files} 个上传文件。请运行 portal migrate 后再启动服务。"
    )


for plugin in PLUGINS:
    plugin.on_cli_init(main)

if __name__ == "__main__":  # pragma: no cover
    main()
