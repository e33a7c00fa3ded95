"""Checking a downloaded ``ledger.csv`` the way anyone may: the chain, then the counts.

Everything here works on text already read (no network, no database), so an auditor
can read exactly what ``portal verify-ledger`` checks:

1. the header is the contract's ``seq,cast_at,candidate_id,voter_hash,receipt_hash,
   chain_hash,status``;
2. every row is well formed (seven fields; ``seq`` and ``candidate_id`` positive
   integers; ``cast_at`` an ISO 8601 time with its offset; the three hashes 64 lowercase
   hex digits; ``status`` counted, held or excluded);
3. ``seq`` runs 1, 2, … n without a gap, and every ``chain_hash`` is recomputed with
   ``voting.ledger.chain_link`` from the previous row's and the fields exactly as written
   — the first row where either fails is named by its line in the file and its ``seq``
   (an altered row breaks the chain at that row; a deleted, inserted or moved row breaks
   the ``seq`` run where it was);
4. the counted votes per candidate, which must equal the ``votes`` of the published
   results (``compare_counts``);
5. that the last row is the published ledger head (``compare_head``): a copy with its
   last rows removed, or with a row altered and every ``chain_hash`` after it recomputed,
   still has a whole chain, but not the published head.

The file is read row by row: a ledger of hundreds of thousands of votes is checked in
constant memory (only the per-candidate counts are kept).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voting.ledger import GENESIS, LedgerHead, chain_link
from voting.ledger_csv import CSV_HEADER
from voting.tables import VoteStatus

HEX64 = re.compile(r"[0-9a-f]{64}")
HEAD = re.compile(r"(0|[1-9][0-9]*):([0-9a-f]{64})")
POSITIVE = re.compile(r"[1-9][0-9]*")
STATUSES = tuple(status.value for status in VoteStatus)
MAX_LISTED = 20  # malformed rows listed one by one; the rest are only counted


class Unreadable(Exception):
    """The input cannot be checked at all (not a ledger, not readable, not JSON)."""


@dataclass(frozen=True)
class RowProblem:
    """A row that fails a check: its line in the file, its ``seq`` as written, why."""

    line: int
    seq: str
    message: str

    def describe(self) -> str:
        where = f"第 {self.line} 行"
        if self.seq:
            where += f"（seq {self.seq}）"
        return f"{where}：{self.message}"


@dataclass
class LedgerCheck:
    """What reading a ledger found."""

    rows: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    # candidate_id (as written) → counted votes
    counted: dict[str, int] = field(default_factory=dict)
    malformed: list[RowProblem] = field(default_factory=list)
    malformed_count: int = 0
    chain_break: RowProblem | None = None
    # The last row's chain_hash while the chain holds: it pins the whole file, so two
    # copies of a ledger are the same file exactly when their chain heads are equal.
    chain_head: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.chain_break is None and self.malformed_count == 0


def _form_problem(row: list[str]) -> str | None:
    """Why a seven-field row is malformed, or ``None``."""
    seq, cast_at, candidate_id, voter_hash, receipt_hash, chain_hash, status = row
    if not POSITIVE.fullmatch(seq):
        return f"seq「{seq}」不是正整数"
    try:
        moment = dt.datetime.fromisoformat(cast_at)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in cast_at:
        return f"cast_at「{cast_at}」不是带时区偏移的 ISO 8601 时间"
    if not POSITIVE.fullmatch(candidate_id):
        return f"candidate_id「{candidate_id}」不是正整数"
    for name, value in (
        ("voter_hash", voter_hash),
        ("receipt_hash", receipt_hash),
        ("chain_hash", chain_hash),
    ):
        if not HEX64.fullmatch(value):
            return f"{name} 不是 64 位小写十六进制数"
    if status not in STATUSES:
        return f"status「{status}」应为 {'、'.join(STATUSES)} 之一"
    return None


def check_ledger(lines: Iterable[str]) -> LedgerCheck:
    """Read a ``ledger.csv`` (an iterable of its lines, e.g. a file opened with
    ``newline=""``) and check its header, rows, ``seq`` run and hash chain; count the
    votes per status and the counted votes per candidate.

    Raises ``Unreadable`` when the input is not a ledger at all (empty, not text, not
    CSV, another header); everything else is reported in the returned ``LedgerCheck``.
    """
    reader = csv.reader(lines, strict=True)
    check = LedgerCheck()
    previous, expected_seq = GENESIS, 1
    try:
        header = next(reader, None)
        if header is None:
            raise Unreadable("文件是空的，不是投票账本 ledger.csv。")
        if tuple(header) != CSV_HEADER:
            raise Unreadable(
                f"第 1 行不是投票账本的表头：应为 {','.join(CSV_HEADER)}，"
                f"实为 {','.join(header)[:120]}"
            )
        for row in reader:
            if not row:  # a blank line carries nothing (a removed row breaks the seq run)
                continue
            line = reader.line_num
            check.rows += 1
            seq = row[0]
            if len(row) != len(CSV_HEADER):
                problem = RowProblem(line, seq, f"应有 {len(CSV_HEADER)} 列，实有 {len(row)} 列")
                _malformed(check, problem)
                if check.chain_break is None:
                    check.chain_break = problem
                continue
            reason = _form_problem(row)
            if reason is not None:
                _malformed(check, RowProblem(line, seq, reason))
            else:
                status, candidate_id = row[6], row[2]
                check.statuses[status] += 1
                if status == VoteStatus.counted.value:
                    check.counted[candidate_id] = check.counted.get(candidate_id, 0) + 1
            if check.chain_break is not None:
                continue
            if seq != str(expected_seq):
                check.chain_break = RowProblem(
                    line,
                    seq,
                    f"seq 应为 {expected_seq}（此前有行被删除、插入或调换了顺序）",
                )
                continue
            link = chain_link(previous, *row[:5])  # the fields exactly as written
            if row[5] != link:
                check.chain_break = RowProblem(
                    line,
                    seq,
                    "chain_hash 与按前一行重新计算的值不符：本行的 cast_at、candidate_id、"
                    "voter_hash、receipt_hash 或 chain_hash 被改动过",
                )
                continue
            previous = check.chain_head = link
            expected_seq += 1
    except csv.Error as exc:
        raise Unreadable(f"第 {reader.line_num} 行不是有效的 CSV：{exc}") from None
    except UnicodeDecodeError:
        raise Unreadable(f"第 {reader.line_num + 1} 行附近不是 UTF-8 文本。") from None
    return check


def _malformed(check: LedgerCheck, problem: RowProblem) -> None:
    check.malformed_count += 1
    if len(check.malformed) < MAX_LISTED:
        check.malformed.append(problem)


# --- the published results -------------------------------------------------------------


@dataclass(frozen=True)
class ResultEntry:
    """One candidate of the published results."""

    candidate_id: str
    name: str
    category: str
    votes: int | None  # None when the results give no whole number


@dataclass(frozen=True)
class CountMismatch:
    """A candidate whose counted votes in the ledger and in the results differ."""

    candidate_id: str
    name: str
    category: str
    results_votes: int | None
    ledger_votes: int
    reason: str

    def describe(self) -> str:
        who = f"候选对象 {self.candidate_id}"
        if self.name:
            who += f"（{self.name}，{self.category}）"
        return f"{who}：{self.reason}"


def _candidate_key(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_results(text: str) -> list[ResultEntry]:
    """The candidates of a results document (the contract's ``GET …/results`` body:
    ``{"categories": [{"key", "title", "ranking": [{"candidate_id", "name", "votes",
    …}]}]}``), in document order.

    Raises ``Unreadable`` when the text is not JSON or not shaped like results.
    """
    try:
        document = json.loads(text)
    except ValueError:
        raise Unreadable("评选结果不是有效的 JSON。") from None
    categories = document.get("categories") if isinstance(document, dict) else None
    if not isinstance(categories, list):
        raise Unreadable("不是评选结果：JSON 中缺少 categories 列表。")
    entries = []
    for category in categories:
        ranking = category.get("ranking") if isinstance(category, dict) else None
        if not isinstance(ranking, list):
            raise Unreadable("不是评选结果：每个类别都应有 ranking 列表。")
        label = str(category.get("title") or category.get("key") or "")
        for item in ranking:
            key = _candidate_key(item.get("candidate_id")) if isinstance(item, dict) else None
            if key is None:
                raise Unreadable(f"不是评选结果：类别「{label}」的排名中有缺少 candidate_id 的项。")
            votes = item.get("votes")
            entries.append(
                ResultEntry(
                    candidate_id=key,
                    name=str(item.get("name") or ""),
                    category=label,
                    votes=votes if isinstance(votes, int) and not isinstance(votes, bool) else None,
                )
            )
    return entries


def compare_counts(counted: dict[str, int], entries: list[ResultEntry]) -> list[CountMismatch]:
    """Every candidate whose ``votes`` in the results differ from the ledger's counted
    votes, and every candidate with counted votes in the ledger that the results leave
    out. Empty when the two agree."""
    mismatches: list[CountMismatch] = []
    seen: set[str] = set()
    for entry in entries:
        ledger_votes = counted.get(entry.candidate_id, 0)
        if entry.candidate_id in seen:
            reason = "在结果中出现了不止一次"
        elif entry.votes is None:
            reason = f"结果中没有有效的票数（账本有效票 {ledger_votes}）"
        elif entry.votes != ledger_votes:
            reason = f"结果为 {entry.votes} 票，账本有效票为 {ledger_votes} 票"
        else:
            reason = ""
        if reason:
            mismatches.append(
                CountMismatch(
                    entry.candidate_id,
                    entry.name,
                    entry.category,
                    entry.votes,
                    ledger_votes,
                    reason,
                )
            )
        seen.add(entry.candidate_id)
    for candidate_id in sorted(set(counted) - seen, key=_id_order):
        mismatches.append(
            CountMismatch(
                candidate_id,
                "",
                "",
                None,
                counted[candidate_id],
                f"账本中有 {counted[candidate_id]} 张有效票，结果中却没有该候选对象",
            )
        )
    return mismatches


def _id_order(candidate_id: str) -> tuple[int, str]:
    return (int(candidate_id), "") if candidate_id.isdigit() else (0, candidate_id)


# --- the published ledger head ------------------------------------------------------------


def parse_head(text: str) -> LedgerHead:
    """The published ledger head written as ``SEQ:HASH`` (``ledger_head`` of the results:
    seq 0 and 64 zeros for a ledger without votes).

    Raises ``ValueError`` with a sentence for people when the text is not of that form.
    """
    found = HEAD.fullmatch(text.strip().lower())
    if found is None:
        raise ValueError(
            f"「{text[:100]}」不是 SEQ:HASH 的形式：SEQ 是公布的链尾 seq（非负整数），"
            "HASH 是它的 chain_hash（64 位十六进制数），中间用英文冒号隔开。"
        )
    return LedgerHead(int(found[1]), found[2])


def compare_head(check: LedgerCheck, head: LedgerHead) -> str | None:
    """Why the ledger's last row is not the published ``head``, or ``None`` when it is."""
    if check.chain_break is not None:
        return "链条断裂，无法确认账本的最后一行就是公布的链尾"
    # The chain holds, so the rows are seq 1…rows and chain_head is the last row's hash.
    if check.rows < head.seq:
        return (
            f"账本只有 {check.rows:,} 行，公布的链尾是第 {head.seq:,} 条："
            f"账本被截短了，缺少最后 {head.seq - check.rows:,} 行"
        )
    if check.rows > head.seq:
        return (
            f"账本有 {check.rows:,} 行，公布的链尾是第 {head.seq:,} 条："
            f"账本末尾多出 {check.rows - head.seq:,} 行"
        )
    if check.chain_head != head.chain_hash:
        return (
            f"最后一行（seq {head.seq}）的 chain_hash 为 {check.chain_head}，与公布的链尾"
            "不同：账本中有记录被改动后整条链被重新计算过，或这不是该活动的账本"
        )
    return None


# --- the report ---------------------------------------------------------------------------


def report(
    console: Console,
    source: str,
    check: LedgerCheck,
    entries: list[ResultEntry] | None = None,
    mismatches: list[CountMismatch] | None = None,
    head: LedgerHead | None = None,
    head_problem: str | None = None,
) -> bool:
    """Print what was checked and found; return whether everything holds."""

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    totals = "，".join(f"{VoteStatus(s).label}（{s}）{check.statuses[s]:,}" for s in STATUSES)
    say(f"[bold]投票账本[/]：{escape(source)}")
    say(f"  共 {check.rows:,} 行投票记录：{totals}")
    if check.chain_break is not None:
        say(f"[red]✗ 链条断裂于{escape(check.chain_break.describe())}[/]")
    elif check.rows:
        say(f"[green]✓ 链条完整[/]：seq 1–{check.rows} 连续，每行 chain_hash 均可重新算出")
        say(f"  链尾 chain_hash：{check.chain_head}")
    else:
        say("[green]✓ 账本中没有投票记录[/]（只有表头）")
    if head is not None:
        published = f"第 {head.seq} 条，chain_hash {head.chain_hash}"
        if head_problem:
            say(f"[red]✗ 与公布的链尾（{published}）不符[/]：{escape(head_problem)}")
        else:
            say(f"[green]✓ 最后一行就是公布的链尾[/]：{published}")
    if check.malformed_count:
        say(f"[red]✗ {check.malformed_count} 行格式有误[/]：")
        for problem in check.malformed:
            say(f"  {escape(problem.describe())}")
        if check.malformed_count > len(check.malformed):
            say(f"  ……另有 {check.malformed_count - len(check.malformed)} 行")

    table = Table(title="各候选对象的有效票（counted）", title_justify="left")
    table.add_column("candidate_id", justify="right")
    if entries is not None:
        table.add_column("名称")
        table.add_column("类别")
    table.add_column("账本有效票", justify="right")
    if entries is not None:
        table.add_column("结果票数", justify="right")
        table.add_column("核对")
        wrong = {m.candidate_id for m in mismatches or []}
        listed = set()
        for entry in entries:
            if entry.candidate_id in listed:
                continue
            listed.add(entry.candidate_id)
            table.add_row(
                entry.candidate_id,
                escape(entry.name),
                escape(entry.category),
                f"{check.counted.get(entry.candidate_id, 0):,}",
                "—" if entry.votes is None else f"{entry.votes:,}",
                "[red]✗[/]" if entry.candidate_id in wrong else "[green]✓[/]",
            )
        for candidate_id in sorted(set(check.counted) - listed, key=_id_order):
            table.add_row(
                candidate_id, "", "", f"{check.counted[candidate_id]:,}", "—", "[red]✗[/]"
            )
    else:
        for candidate_id in sorted(check.counted, key=_id_order):
            table.add_row(candidate_id, f"{check.counted[candidate_id]:,}")
    console.print(table)

    if entries is not None:
        if mismatches:
            say(f"[red]✗ {len(mismatches)} 个候选对象的票数与账本不符[/]：")
            for mismatch in mismatches:
                say(f"  {escape(mismatch.describe())}")
        else:
            say(f"[green]✓ 结果中 {len(entries)} 个候选对象的票数与账本的有效票一致[/]")
    ok = check.ok and not mismatches and head_problem is None
    if ok:
        say("[bold green]核验通过。[/]")
    else:
        say("[bold red]核验未通过。[/]")
    return ok
