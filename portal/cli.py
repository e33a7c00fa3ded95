"""The `portal` command: serve the site, run the demo, manage the database and campaigns."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import io
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from portal.settings import ConfigError, get_settings

if TYPE_CHECKING:
    from portal.demo import DemoStep
    from voting.ledger import LedgerHead

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> None:
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


def _settings():  # type: ignore[no-untyped-def]
    try:
        return get_settings()
    except ConfigError as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """定西市“枫桥式”评选投票平台 — the Fengqiao-style recognition and voting portal.

    Configuration comes from the environment: DATABASE_URL, REDIS_URL, PORTAL_ENV,
    PORTAL_SECRET_KEY, PORTAL_PUBLIC_URL, PORTAL_TRUSTED_PROXIES, PORTAL_CAPTCHA_TEST_ANSWER
    (see README).
    """


async def _migrate() -> list[str]:
    from portal.db import migrate
    from portal.demo import ensure_bureaus

    applied = await migrate()
    # The city and county bureaus are reference data: `portal createuser` needs them,
    # and in production (no demo) nothing else would create them.
    await ensure_bureaus()
    return applied


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    _settings()
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


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    from portal.db import pending_migrations

    settings = _settings()
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
def serve(host: str, port: int, workers: int) -> None:
    """Serve the site with the current configuration."""
    _serve(host, port, workers)


def demo_steps() -> list[DemoStep]:
    """The apps' demo steps, for ``portal.demo.load_demo`` (the command line is the
    shell: it may import every app, which the kernel's demo runner must not)."""
    from nominations import demo as nominations_demo
    from results import demo as results_demo
    from voting import demo as voting_demo

    return [*nominations_demo.STEPS, *voting_demo.STEPS, *results_demo.STEPS]


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
    published (honour list, notice with a handled objection, stories).
    """
    from portal.demo import DEMO_PASSWORD, DEMO_SLUG
    from results.demo import SLUG as FINISHED_SLUG

    settings = _settings()
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
    console.print(f"工作人员登录：http://{host}:{port}/login")
    if not no_serve:
        _serve(host, port, 1)


async def _createuser(username: str, password: str, role: str, bureau: str | None) -> None:
    from portal.accounts import create_staff
    from portal.audit import Actor

    await create_staff(username, password, role, bureau, actor=Actor.command_line())


def _read_password() -> str:
    if not sys.stdin.isatty():
        # Scripts pipe the password in on one line.
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != password:
        fail("两次输入的密码不一致。")
    return password


@main.command()
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["city_admin", "county_clerk", "reviewer", "auditor"]),
    help="city_admin (city bureau), county_clerk (one county), reviewer, auditor (read-only).",
)
@click.option(
    "--bureau", default=None, help="Bureau name or county, e.g. 安定区; default: the city bureau."
)
def createuser(username: str, role: str, bureau: str | None) -> None:
    """Create a staff account, asking for the password (one line on stdin when piped)."""
    from portal.accounts import AccountError

    _settings()
    password = _read_password()
    try:
        run(_createuser, username, password, role, bureau)
    except AccountError as exc:
        fail(str(exc))
    console.print(f"已创建账号 {username}（{role}）。")


async def _phase(slug: str, target: str) -> str:
    from portal import campaigns
    from portal.audit import Actor

    campaign = await campaigns.move_phase(Actor.command_line(), slug, target)
    return campaign.phase


@main.command()
@click.argument("slug")
@click.argument("phase")
def phase(slug: str, phase: str) -> None:
    """Move a campaign to a phase, as the city bureau would (audited).

    PHASE is one of draft, nominating, vetting, reviewing, voting, tallying, notice,
    published. Moves go one step forward, or one step back before voting starts.
    """
    from portal.campaigns import PhaseRefused
    from portal.tables import Phase

    _settings()
    try:
        new_phase = run(_phase, slug, phase)
    except LookupError:
        fail(f"找不到评选活动「{slug}」。")
    except PhaseRefused as exc:
        fail(str(exc))
    console.print(f"{slug} 已进入「{Phase(new_phase).label}」（{new_phase}）阶段。")


RANKING_COLUMNS = ("名次", "名称", "县区", "评审得分", "有效票", "投票得分", "综合得分", "结果")


async def _tally(slug: str) -> list[Any]:
    from portal import campaigns
    from portal.audit import Actor
    from results import services as results

    await results.tally(Actor.command_line(), slug)
    campaign = await campaigns.get_campaign(slug)
    return await results.ranking(campaign)  # type: ignore[arg-type]


@main.command()
@click.argument("slug")
def tally(slug: str) -> None:
    """Compute the combined ranking of a campaign whose voting has closed.

    Reads every shortlisted candidate's review score and counted votes (held and
    excluded votes never count), ranks each category by the campaign's method and marks
    the top QUOTA as proposed designees; the campaign enters the tallying phase
    (audited). Refuses, listing every blocker, while votes are held undecided or review
    scores are missing. Running it again before the notice recomputes and keeps the
    exclusions already made. Prints the ranking.
    """
    from results.services import ResultsRefused

    _settings()
    try:
        ranking = run(_tally, slug)
    except LookupError:
        fail(f"找不到评选活动「{slug}」。")
    except ResultsRefused as exc:
        err_console.print("[bold red]错误：[/]暂不能进行综合评定：", highlight=False)
        for reason in exc.reasons:
            err_console.print(f"  - {escape(reason)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    for item in ranking:
        table = RichTable(title=f"{item.category.title}（命名名额 {item.category.quota}）")
        for column in RANKING_COLUMNS:
            table.add_column(column)
        for r in item.rows:
            outcome = "已取消资格" if r.excluded_reason else ("拟命名" if r.designated else "")
            table.add_row(
                str(r.rank or "—"),
                escape(r.name),
                r.county,
                str(r.review_score),
                str(r.votes),
                str(r.vote_score),
                str(r.final_score),
                outcome,
            )
        console.print(table)
    console.print(f"{slug} 已完成综合评定，请核对后在管理页面发布公示。")


COUNTER_CHECKS = 3  # a difference must persist this many looks, not be a vote in flight
COUNTER_CHECK_PAUSE = 0.5  # seconds between looks


async def _counters(slug: str, repair: bool) -> tuple[str, list[tuple[int, str, int, int]]]:
    """Compare (and with ``repair`` reset) a campaign's live counters with the ledger.

    Returns what was done ("no-store", "not-built", "equal", "differ", "repaired") and
    the candidates whose counter differs: (id, name, live, ledger).
    """
    from nominations.tables import Nomination
    from portal.stores import create_stores
    from portal.tables import Campaign
    from voting.captcha import CaptchaService
    from voting.services import VotingService

    campaign = await Campaign.objects().where(Campaign.slug == slug).first().run()
    if campaign is None:
        raise LookupError(slug)
    settings = get_settings()
    if not settings.redis_url:
        return "no-store", []
    stores = create_stores(settings)
    try:
        service = VotingService(
            stores.state,
            stores.limits,
            CaptchaService(stores.state.with_namespace("voting"), settings.secret_key),
            settings.secret_key,
        )
        ready = await stores.state.exists(f"votes:{campaign.id}:ready")
        differ: dict[int, tuple[int, int]] = {}
        if ready:
            # A vote being recorded moves the ledger and then its counter: a difference
            # that goes away on a second look is a vote in flight, not drift.
            differ = await service.check_counts(campaign.id)
            for _ in range(COUNTER_CHECKS - 1):
                if not differ:
                    break
                await asyncio.sleep(COUNTER_CHECK_PAUSE)
                again = await service.check_counts(campaign.id)
                differ = {c: again[c] for c in differ if c in again}
        names = {}
        if differ:
            rows = (
                await Nomination.select(Nomination.id, Nomination.name)
                .where(Nomination.id.is_in(list(differ)))
                .run()
            )
            names = {row["id"]: row["name"] for row in rows}
        found = [
            (c, names.get(c, ""), live, ledger) for c, (live, ledger) in sorted(differ.items())
        ]
        if repair and (found or not ready):
            await service.rebuild_counts(campaign.id)
            return "repaired", found
        if not ready:
            return "not-built", []
        return ("differ" if found else "equal"), found
    finally:
        await stores.close()


@main.command()
@click.argument("slug")
@click.option("--repair", is_flag=True, help="Set the live counters from the ledger.")
def counters(slug: str, repair: bool) -> None:
    """Compare a campaign's live vote counters with the ledger's counted votes.

    The live counters (shown on the public pages) are kept in Redis; the ledger in the
    database is the record. Prints every candidate whose counter differs and exits 1;
    exits 0 when they agree. With --repair, sets the counters from the ledger. Without
    REDIS_URL the counters live inside the server process and nothing is compared.
    """
    from portal.stores import StoreUnavailable

    _settings()
    try:
        outcome, found = run(_counters, slug, repair)
    except LookupError:
        fail(f"找不到评选活动「{slug}」。")
    except StoreUnavailable as exc:
        fail(f"无法连接 Redis（REDIS_URL）：{exc}")
    if outcome == "no-store":
        console.print(
            "未设置 REDIS_URL：实时票数保存在服务进程的内存中，本命令无法读取，未作比较。"
            "（服务进程首次显示票数时会从投票账本建立计数。）"
        )
        return
    if outcome == "not-built":
        console.print(f"{slug} 的实时票数尚未建立：首次显示票数时会从投票账本建立，无需比较。")
        return
    if found:
        table = RichTable(title=f"{slug}：实时票数与投票账本不一致的候选对象")
        for column in ("编号", "名称", "实时票数", "账本票数"):
            table.add_column(column)
        for candidate_id, name, live, ledger in found:
            table.add_row(str(candidate_id), name, str(live), str(ledger))
        console.print(table)
    if outcome == "repaired":
        if found:
            console.print(f"已按投票账本修正 {len(found)} 个候选对象的实时票数。")
        else:
            console.print("已按投票账本建立实时票数。")
        return
    if outcome == "differ":
        console.print(
            f"共 {len(found)} 个候选对象的实时票数与账本不一致；"
            f"可运行 portal counters {slug} --repair 按账本修正。"
        )
        sys.exit(1)
    console.print(f"{slug} 的实时票数与投票账本一致。")


def _cannot_verify(message: str) -> NoReturn:
    """Input that cannot be checked at all: one line, exit status 2."""
    err_console.print(f"[bold red]无法核验：[/]{escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(2)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "文件不存在"
    if isinstance(exc, IsADirectoryError):
        return "这是一个目录，不是文件"
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    return exc.strerror or str(exc)


@contextlib.contextmanager
def _ledger_lines(file: str) -> Iterator[TextIO]:
    """The ledger's lines as csv wants them (``newline=""``), from a file or stdin."""
    from voting.verify import Unreadable

    if file == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            yield stream
        finally:
            stream.detach()  # leave stdin itself open
        return
    try:
        stream = open(file, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as exc:
        raise Unreadable(f"无法读取投票账本 {file}：{_os_reason(exc)}。") from None
    with stream:
        yield stream


def _results_text(source: str) -> str:
    """The results JSON, fetched from an http(s) URL or read from a file."""
    from voting.verify import Unreadable

    if source.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(
                source, timeout=60, follow_redirects=True, headers={"Accept": "application/json"}
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Unreadable(f"无法获取评选结果 {source}：{exc}") from None
        if response.status_code != 200:
            detail = ""
            with contextlib.suppress(ValueError):
                body = response.json()
                if isinstance(body, dict) and isinstance(body.get("message"), str):
                    detail = "：" + body["message"]
            raise Unreadable(f"评选结果地址 {source} 返回 HTTP {response.status_code}{detail}")
        return response.text
    try:
        with open(source, encoding="utf-8-sig") as stream:
            return stream.read()
    except OSError as exc:
        raise Unreadable(f"无法读取评选结果 {source}：{_os_reason(exc)}。") from None
    except UnicodeDecodeError:
        raise Unreadable(f"评选结果 {source} 不是 UTF-8 文本，不是 JSON。") from None


def _ledger_head_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> LedgerHead | None:
    """--head SEQ:HASH, or a usage error (exit status 2) saying what it should be."""
    from voting.verify import parse_head

    if value is None:
        return None
    try:
        return parse_head(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@main.command("verify-ledger")
@click.argument("file", metavar="FILE")
@click.option(
    "--results",
    metavar="URL-OR-FILE",
    default=None,
    help="The published results to compare with: the results URL "
    "(https://HOST/api/v1/campaigns/SLUG/results) or that JSON saved to a file.",
)
@click.option(
    "--head",
    metavar="SEQ:HASH",
    default=None,
    callback=_ledger_head_option,
    help="The published ledger head (ledger_head in the results; on the notice and "
    "honour-list pages and in the decision): the ledger's last row must have this seq "
    "and chain_hash.",
)
def verify_ledger(file: str, results: str | None, head: LedgerHead | None) -> None:
    """Check a downloaded ledger.csv: the chain, then the counted votes per candidate,
    and with --head that its last row is the published head.

    FILE is the ledger as downloaded from /api/v1/campaigns/SLUG/ledger.csv once voting
    has closed (- reads it from standard input). Nothing else is needed: no database,
    no configuration, no network (unless --results is a URL).

    Checked, in order: the header; every row well formed; seq runs 1, 2, … n without a
    gap; every chain_hash, recomputed from the previous row's chain_hash (64 zeros before
    the first row) and the row's seq, cast_at, candidate_id, voter_hash and receipt_hash
    exactly as written. The first row where the chain breaks is named by its line in the
    file and its seq: an altered row breaks it at that row, a deleted, inserted or moved
    row where the seq run is broken. Then the votes per status and the counted votes
    (status counted) per candidate are printed.

    With --results, every candidate's votes in the results must equal the ledger's
    counted votes for that candidate_id, and every candidate with counted votes in the
    ledger must appear in the results; each candidate that differs is named.

    With --head SEQ:HASH, the ledger's last row must be the head published once voting
    closed (ledger_head in the results; SEQ 0 and 64 zeros when there were no votes):
    a copy cut short, or with a row altered and every chain_hash after it recomputed,
    has a whole chain of its own but not this head.

    A voter finds their own vote by the SHA-256 of their receipt (receipt_hash).

    \b
    Exit status:
      0  the chain holds, every row is well formed, (with --results) every count agrees
         and (with --head) the last row is the published head
      1  a check failed: the chain, a row, a candidate's count or the head
      2  the input could not be read (missing file, not a ledger.csv, results not JSON)
         or --head is not SEQ:HASH

    \b
    Example:
      portal verify-ledger dingxi-2023-ledger.csv \\
          --results https://HOST/api/v1/campaigns/dingxi-2023/results \\
          --head SEQ:HASH
    """
    from voting.verify import (
        Unreadable,
        check_ledger,
        compare_counts,
        compare_head,
        parse_results,
        report,
    )

    try:
        with _ledger_lines(file) as lines:
            entries = parse_results(_results_text(results)) if results else None
            check = check_ledger(lines)
    except Unreadable as exc:
        _cannot_verify(str(exc))
    mismatches = compare_counts(check.counted, entries) if entries is not None else None
    head_problem = compare_head(check, head) if head is not None else None
    source = "标准输入" if file == "-" else file
    ok = report(console, source, check, entries, mismatches, head, head_problem)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
