"""``portal counters`` and ``portal verify-ledger``: the votes checked against the ledger;
``portal captcha-worker``: CAPTCHA drawing on any machine."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn, TextIO

import click
from rich.markup import escape
from rich.table import Table as RichTable

from portal.commands import console, err_console, fail, load_settings, run
from portal.settings import get_settings

if TYPE_CHECKING:
    from voting.ledger import LedgerHead

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


@click.command()
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

    load_settings()
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


@click.command("verify-ledger")
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


async def _draw_forever(interval: float, processes: int) -> None:
    from portal.stores import create_stores
    from voting.captcha import CaptchaService

    settings = get_settings()
    stores = create_stores(settings)
    service = CaptchaService(
        stores.state.with_namespace("voting"),
        settings.secret_key,
        pool_size=settings.captcha_pool_size,
        drawers=processes,
        digits_only=settings.captcha_digits_only,
    )
    try:
        await service.fill_forever(interval)
    finally:
        await stores.close()


@click.command("captcha-worker")
@click.option(
    "--interval",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0.05, 10),
    help="Seconds between looks at the pool's level.",
)
@click.option(
    "--processes",
    default=os.cpu_count() or 1,
    show_default="the machine's cores",
    type=click.IntRange(1, 256),
    help="Drawing processes (batches drawn side by side).",
)
def captcha_worker(interval: float, processes: int) -> None:
    """Draw CAPTCHA challenges into the shared pool until stopped (Ctrl-C).

    Every server process draws for the pool too (PORTAL_CAPTCHA_DRAWERS drawing
    processes each); to meet a surge, run this on more machines, with the deployment's
    REDIS_URL, PORTAL_SECRET_KEY and PORTAL_CAPTCHA_POOL_SIZE: each draws only what the
    pool is missing.
    """
    settings = load_settings()
    if not settings.redis_url:
        fail("须设置 REDIS_URL：验证码池在 Redis 中，各服务进程从中取用。")
    size = settings.captcha_pool_size
    console.print(f"正在向验证码池绘制验证码（池容量 {size}），按 Ctrl-C 停止。")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_draw_forever(interval, processes))
