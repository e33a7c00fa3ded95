"""`portal verify-ledger FILE [--results URL-or-file] [--head SEQ:HASH]` on a ledger
downloaded from the API.

The ledger comes from the real endpoint (votes cast through the API, one held by a
brushing rule, one excluded in review, voting closed); the command runs in-process
through click's ``CliRunner`` on the saved file, as an auditor would run it on theirs.
The results file is written in the contract's shape from the votes the API
acknowledged (not from the ledger), so a count the ledger got wrong would show.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nominations.tables import Nomination
from portal.cli import main
from tests.voting.conftest import SLUG
from tests.voting.test_ledger_csv import HEADER, URL, cast_scene, close_voting
from voting.ledger import GENESIS, LedgerHead, chain_link
from voting.verify import (
    LedgerCheck,
    ResultEntry,
    Unreadable,
    check_ledger,
    compare_counts,
    compare_head,
    parse_head,
    parse_results,
)

pytestmark = pytest.mark.usefixtures("bureaus")


def verify(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["verify-ledger", *args], input=stdin)


@pytest.fixture
async def downloaded(client, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The scene's ledger.csv downloaded after voting closed, saved as a file."""
    made = await cast_scene(client)
    close_voting(client, made)
    response = await client.get(URL)
    assert response.status_code == 200
    path = tmp_path / f"{SLUG}-ledger.csv"
    path.write_bytes(response.content)
    made["path"] = path
    made["lines"] = response.content.decode().split("\r\n")[:-1]  # header, then the rows
    return made


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def fields(line: str) -> list[str]:
    return line.split(",")


async def results_document(made: dict[str, Any]) -> dict[str, Any]:
    """The results JSON in the contract's shape, votes from the API's acknowledgements."""
    names = {
        row["id"]: row["name"]
        for row in await Nomination.select(Nomination.id, Nomination.name).run()
    }
    categories = []
    for key, category in made["categories"].items():
        ids = sorted(made["candidates"][key], key=lambda c: -made["counted"].get(c, 0))
        ranking = [
            {
                "rank": rank,
                "candidate_id": candidate_id,
                "name": names[candidate_id],
                "organisation": "",
                "county": "安定区",
                "review_score": 80.0,
                "votes": made["counted"].get(candidate_id, 0),
                "vote_score": 50.0,
                "final_score": 71.0,
                "designated": rank <= category.quota,
            }
            for rank, candidate_id in enumerate(ids, start=1)
        ]
        categories.append(
            {"key": key, "title": category.title, "quota": category.quota, "ranking": ranking}
        )
    return {
        "phase": "notice",
        "method": {"review_weight": 0.7, "vote_weight": 0.3, "formula": "…"},
        "categories": categories,
    }


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def assert_one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and message.startswith("无法核验"), message
    for word in words:
        assert word in message, message


# --- the real download ------------------------------------------------------------------------


async def test_a_genuine_ledger_verifies(downloaded) -> None:  # type: ignore[no-untyped-def]
    result = verify(str(downloaded["path"]))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "共 8 行投票记录" in out
    assert "有效（counted）6" in out and "待核查（held）1" in out and "已剔除（excluded）1" in out
    assert "链条完整" in out and "seq 1–8" in out
    last_chain_hash = fields(downloaded["lines"][-1])[5]
    assert last_chain_hash in out
    table_rows = [[cell for cell in line.split() if cell != "│"] for line in out.splitlines()]
    for candidate_id, count in downloaded["counted"].items():
        assert [str(candidate_id), str(count)] in table_rows, (candidate_id, out)
    assert "核验通过" in out


async def test_it_reads_standard_input(downloaded) -> None:  # type: ignore[no-untyped-def]
    result = verify("-", stdin=downloaded["path"].read_bytes())
    assert result.exit_code == 0, result.output
    assert "标准输入" in result.output and "核验通过" in result.output


async def test_an_altered_candidate_is_named_by_line_and_seq(downloaded) -> None:  # type: ignore[no-untyped-def]
    lines, others = downloaded["lines"], downloaded["candidates"]["mediator"]
    row = fields(lines[4])  # line 5 of the file: seq 4
    row[2] = str(next(c for c in others if str(c) != row[2]))
    lines[4] = ",".join(row)
    rewrite(downloaded["path"], lines)
    result = verify(str(downloaded["path"]))
    assert result.exit_code == 1, result.output
    assert "链条断裂于第 5 行（seq 4）" in result.output
    assert "chain_hash" in result.output and "核验未通过" in result.output


async def test_an_altered_time_is_named(downloaded) -> None:  # type: ignore[no-untyped-def]
    lines = downloaded["lines"]
    row = fields(lines[7])  # seq 7
    earlier = dt.datetime.fromisoformat(row[1]) - dt.timedelta(seconds=1)
    row[1] = earlier.isoformat(timespec="milliseconds")  # still well formed
    lines[7] = ",".join(row)
    rewrite(downloaded["path"], lines)
    result = verify(str(downloaded["path"]))
    assert result.exit_code == 1, result.output
    assert "第 8 行（seq 7）" in result.output


async def test_a_deleted_row_is_named(downloaded) -> None:  # type: ignore[no-untyped-def]
    lines = downloaded["lines"]
    del lines[3]  # seq 3 goes: line 4 now holds seq 4
    rewrite(downloaded["path"], lines)
    result = verify(str(downloaded["path"]))
    assert result.exit_code == 1, result.output
    assert "链条断裂于第 4 行（seq 4）：seq 应为 3" in result.output


async def test_swapped_rows_are_named(downloaded) -> None:  # type: ignore[no-untyped-def]
    lines = downloaded["lines"]
    lines[2], lines[6] = lines[6], lines[2]  # seq 2 and seq 6
    rewrite(downloaded["path"], lines)
    result = verify(str(downloaded["path"]))
    assert result.exit_code == 1, result.output
    assert "链条断裂于第 3 行（seq 6）：seq 应为 2" in result.output


async def test_renumbered_swapped_rows_still_break_the_chain(downloaded) -> None:  # type: ignore[no-untyped-def]
    """Swapping two rows and their seq numbers back: the chain itself breaks."""
    lines = downloaded["lines"]
    second, sixth = fields(lines[2]), fields(lines[6])
    second[0], sixth[0] = sixth[0], second[0]
    lines[2], lines[6] = ",".join(sixth), ",".join(second)
    rewrite(downloaded["path"], lines)
    result = verify(str(downloaded["path"]))
    assert result.exit_code == 1, result.output
    assert "链条断裂于第 3 行（seq 2）：chain_hash" in result.output


async def test_a_changed_status_keeps_the_chain_but_not_the_count(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """status is outside the chain (review may change it); the results catch it."""
    results = write_json(tmp_path / "results.json", await results_document(downloaded))
    lines = downloaded["lines"]
    held = next(i for i, line in enumerate(lines) if line.endswith(",held"))
    lines[held] = lines[held][: -len("held")] + "counted"
    rewrite(downloaded["path"], lines)
    alone = verify(str(downloaded["path"]))
    assert alone.exit_code == 0, alone.output
    compared = verify(str(downloaded["path"]), "--results", str(results))
    assert compared.exit_code == 1, compared.output
    candidate = int(fields(lines[held])[2])
    expected = downloaded["counted"][candidate]
    assert f"候选对象 {candidate}（" in compared.output
    assert f"结果为 {expected} 票，账本有效票为 {expected + 1} 票" in compared.output


# --- against the results --------------------------------------------------------------------


async def test_the_results_agree_with_the_ledger(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    document = await results_document(downloaded)
    results = write_json(tmp_path / "results.json", document)
    result = verify(str(downloaded["path"]), "--results", str(results))
    assert result.exit_code == 0, result.output
    listed = sum(len(c["ranking"]) for c in document["categories"])
    assert f"结果中 {listed} 个候选对象的票数与账本的有效票一致" in result.output
    assert "核验通过" in result.output


async def test_a_count_one_off_names_the_candidate(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    document = await results_document(downloaded)
    entry = document["categories"][1]["ranking"][0]
    entry["votes"] += 1
    results = write_json(tmp_path / "results.json", document)
    result = verify(str(downloaded["path"]), "--results", str(results))
    assert result.exit_code == 1, result.output
    assert "1 个候选对象的票数与账本不符" in result.output
    assert f"候选对象 {entry['candidate_id']}（{entry['name']}，" in result.output
    assert f"结果为 {entry['votes']} 票，账本有效票为 {entry['votes'] - 1} 票" in result.output
    assert "核验未通过" in result.output


async def test_a_candidate_missing_from_the_results_is_a_mismatch(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    document = await results_document(downloaded)
    dropped = document["categories"][0]["ranking"].pop(0)
    assert dropped["votes"] > 0
    results = write_json(tmp_path / "results.json", document)
    result = verify(str(downloaded["path"]), "--results", str(results))
    assert result.exit_code == 1, result.output
    assert f"候选对象 {dropped['candidate_id']}：账本中有 {dropped['votes']} 张有效票" in (
        result.output
    )


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the command's stderr is checked: the server's access log stays out of it


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """A plain HTTP server on the folder (the results as a URL); its base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_the_results_may_be_a_url(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "site"
    folder.mkdir()
    document = await results_document(downloaded)
    write_json(folder / "results", document)
    document["categories"][0]["ranking"][1]["votes"] += 2
    write_json(folder / "wrong", document)
    with serving(folder) as base:
        good = verify(str(downloaded["path"]), "--results", f"{base}/results")
        bad = verify(str(downloaded["path"]), "--results", f"{base}/wrong")
        gone = verify(str(downloaded["path"]), "--results", f"{base}/missing")
    assert good.exit_code == 0, good.output
    assert bad.exit_code == 1, bad.output
    assert_one_line_error(gone, "HTTP 404")


# --- input that cannot be checked -------------------------------------------------------------


async def test_unreadable_input_exits_2_with_one_line(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ledger = str(downloaded["path"])
    assert_one_line_error(verify(str(tmp_path / "nope.csv")), "不存在")
    assert_one_line_error(verify(str(tmp_path)), "目录")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert_one_line_error(verify(str(binary)), "UTF-8")
    other = tmp_path / "other.csv"
    other.write_text("name,votes\r\n张三,3\r\n", encoding="utf-8")
    assert_one_line_error(verify(str(other)), "表头")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_one_line_error(verify(str(empty)), "空")
    not_json = tmp_path / "results.json"
    not_json.write_text("<html>结果</html>", encoding="utf-8")
    assert_one_line_error(verify(ledger, "--results", str(not_json)), "JSON")
    not_results = write_json(tmp_path / "list.json", {"rows": []})
    assert_one_line_error(verify(ledger, "--results", str(not_results)), "categories")
    assert_one_line_error(verify(ledger, "--results", str(tmp_path / "none.json")), "不存在")


@pytest.mark.parametrize(
    "value",
    ["", "26", "abc", f"x:{'a' * 64}", f"-1:{'a' * 64}", f"26:{'a' * 63}", f"26:{'g' * 64}"],
)
async def test_a_malformed_head_is_a_usage_error(downloaded, value: str) -> None:  # type: ignore[no-untyped-def]
    result = verify(str(downloaded["path"]), "--head", value)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # nothing checked
    assert "--head" in result.stderr and "SEQ:HASH" in result.stderr, result.stderr
    assert "Traceback" not in result.output


async def test_help_describes_the_checks_and_exit_codes() -> None:
    result = CliRunner().invoke(main, ["verify-ledger", "--help"])
    assert result.exit_code == 0
    for words in (
        "chain_hash",
        "--results",
        "--head SEQ:HASH",
        "line",
        "seq",
        "Exit status",
        "0 ",
        "1 ",
        "2 ",
    ):
        assert words in result.output, words
    assert "verify-ledger" in CliRunner().invoke(main, ["--help"]).output


# --- the checks themselves, on text ------------------------------------------------------------


def ledger_text(count: int, statuses: tuple[str, ...] = ("counted",)) -> list[str]:
    """A well-formed, chained ledger of ``count`` rows (as lines with CRLF)."""
    lines, previous = [HEADER + "\r\n"], GENESIS
    for seq in range(1, count + 1):
        row = [
            str(seq),
            f"2024-06-1{seq % 10}T09:00:00.000+08:00",
            str(100 + seq % 3),
            f"{seq:064x}",
            f"{seq * 7:064x}",
        ]
        previous = chain_link(previous, *row)
        lines.append(",".join([*row, previous, statuses[seq % len(statuses)]]) + "\r\n")
    return lines


def test_counts_per_status_and_candidate() -> None:
    check = check_ledger(ledger_text(9, ("counted", "held", "excluded")))
    assert check.ok and check.rows == 9
    assert check.statuses == {"counted": 3, "held": 3, "excluded": 3}
    # seq 3, 6, 9 are counted; candidate 100 + seq % 3 = 100 for each.
    assert check.counted == {"100": 3}
    assert check.chain_head == fields(ledger_text(9)[-1])[5]
    assert check_ledger([HEADER + "\n"]) == LedgerCheck()
    # A byte-order mark (as some editors save) is read away by the CLI's utf-8-sig;
    # LF line ends and a trailing blank line are accepted too.
    lf = [line.replace("\r\n", "\n") for line in ledger_text(4)] + ["\n"]
    assert check_ledger(lf).ok


def test_the_last_row_is_compared_with_the_published_head() -> None:
    lines = ledger_text(6)
    head = LedgerHead(6, fields(lines[-1])[5])
    assert parse_head(f" 6:{head.chain_hash.upper()} ") == head
    assert parse_head(f"0:{GENESIS}") == LedgerHead(0, GENESIS)
    with pytest.raises(ValueError, match="SEQ:HASH"):
        parse_head(f"06:{head.chain_hash}")
    assert compare_head(check_ledger(lines), head) is None
    # No votes: the head is the chain's start.
    assert compare_head(check_ledger(lines[:1]), LedgerHead(0, GENESIS)) is None
    assert "截短" in compare_head(check_ledger(lines[:1]), head)
    # The last two rows removed: the chain still holds, the head is missing.
    assert "缺少最后 2 行" in compare_head(check_ledger(lines[:-2]), head)
    assert "多出 1 行" in compare_head(check_ledger(lines), LedgerHead(5, head.chain_hash))
    # A chain of the same length that ends on another hash.
    assert "重新计算" in compare_head(check_ledger(lines), LedgerHead(6, "f" * 64))
    broken = [*lines[:2], *lines[3:]]
    assert "链条断裂" in compare_head(check_ledger(broken), head)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        (0, "x", "seq「x」不是正整数"),
        (1, "2024-06-12 09:00", "cast_at"),
        (1, "2024-06-12T09:00:00", "cast_at"),
        (2, "-3", "candidate_id"),
        (3, "ABC", "voter_hash"),
        (4, "f" * 63, "receipt_hash"),
        (5, "F" * 64, "chain_hash"),
        (6, "valid", "status"),
    ],
)
def test_a_malformed_row_is_named(column: int, value: str, words: str) -> None:
    lines = ledger_text(5)
    row = lines[3].rstrip("\r\n").split(",")
    row[column] = value
    lines[3] = ",".join(row) + "\r\n"
    check = check_ledger(lines)
    assert not check.ok
    assert check.malformed_count == 1
    (problem,) = check.malformed
    assert problem.line == 4 and words in problem.describe()
    if column < 6:  # a chained field: the chain breaks there too
        assert check.chain_break is not None and check.chain_break.line == 4
    else:  # status is outside the chain
        assert check.chain_break is None


def test_a_row_with_missing_fields_breaks_the_chain() -> None:
    lines = ledger_text(4)
    lines[2] = ",".join(lines[2].split(",")[:5]) + "\r\n"
    check = check_ledger(lines)
    assert check.chain_break is not None
    assert check.chain_break.describe() == "第 3 行（seq 2）：应有 7 列，实有 5 列"


def test_many_malformed_rows_are_counted_and_some_listed() -> None:
    lines = ledger_text(30)
    lines[1:] = [line.replace(",counted", ",maybe") for line in lines[1:]]
    check = check_ledger(lines)
    assert check.malformed_count == 30 and len(check.malformed) == 20
    assert check.chain_break is None  # status is outside the chain


def test_not_a_ledger_is_unreadable() -> None:
    for text, words in (
        ([], "空"),
        (["seq,cast_at\r\n"], "表头"),
        ([HEADER + "\r\n", '1,"unterminated\r\n'], "CSV"),
    ):
        with pytest.raises(Unreadable, match=words):
            check_ledger(text)


def test_results_are_compared_by_candidate_id() -> None:
    entries = parse_results(
        json.dumps(
            {
                "categories": [
                    {
                        "key": "a",
                        "title": "甲",
                        "ranking": [
                            {"candidate_id": 1, "name": "一", "votes": 2},
                            {"candidate_id": "2", "name": "二", "votes": 0},
                            {"candidate_id": 3, "name": "三", "votes": None},
                            {"candidate_id": 4, "name": "四", "votes": 0},
                        ],
                    },
                    {"key": "b", "title": "乙", "ranking": [{"candidate_id": 1, "votes": 2}]},
                ]
            }
        )
    )
    assert entries[1] == ResultEntry("2", "二", "甲", 0)
    found = compare_counts({"1": 2, "2": 1, "3": 4, "5": 1}, entries)
    assert [(m.candidate_id, m.results_votes, m.ledger_votes) for m in found] == [
        ("2", 0, 1),
        ("3", None, 4),
        ("1", 2, 2),  # listed twice
        ("5", None, 1),  # counted in the ledger, absent from the results
    ]
    assert compare_counts({"1": 2}, entries[:1] + entries[3:4]) == []
    for text in ("[1, 2]", '{"categories": [{"ranking": [{"name": "无编号"}]}]}', "{"):
        with pytest.raises(Unreadable):
            parse_results(text)
