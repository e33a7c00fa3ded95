"""The audit log: every staff action that changes data, recorded in one line at the call site.

await audit.record(actor, "campaign.update", campaign, before=old, after=new)

The log is a hash chain like the vote ledger's: in id order, each entry's ``prev_hash``
is the previous entry's ``entry_hash``, and its ``entry_hash`` is the SHA-256 of that and
every field of its own (``entry_hash``). Entries are appended under one lock (a
PostgreSQL advisory transaction lock; SQLite's single writer) in the transaction of the
change they record, so an entry exists exactly when its change does. ``portal
verify-audit`` walks the chain (``verify_chain``) and names the first entry whose hash or
link does not hold: a row edited, deleted, inserted or moved in the database. A purge of
entries older than the retention period (``purge``) removes the oldest entries only and
records itself with the hash the kept chain now starts from.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from piccolo.table import Table

from portal.db import advisory_lock, get_engine, write_transaction
from portal.tables import AuditEntry

# How the log names each action for people; the code stays visible beside it.
ACTION_LABELS = {
    "staff.login": "登录",
    "staff.logout": "退出登录",
    "staff.login_failed": "登录失败",
    "staff.create": "创建账号",
    "staff.active": "启用或停用账号",
    "staff.password": "修改密码",
    "staff.lock": "登录失败锁定",
    "staff.unlock": "解除登录锁定",
    "staff.otp_enrol": "开启二次验证",
    "staff.otp_reset": "重置二次验证",
    "staff.otp_recovery_renew": "更换恢复码",
    "campaign.create": "创建评选活动",
    "campaign.update": "修改活动设置",
    "campaign.phase": "变更活动阶段",
    "category.create": "增加评选类别",
    "category.update": "修改评选类别",
    "category.conditions": "设置推荐条件",
    "category.delete": "删除评选类别",
    "nomination.create": "新建推荐草稿",
    "nomination.import": "Excel 批量导入草稿",
    "nomination.update": "修改推荐信息",
    "nomination.photo": "上传照片",
    "nomination.document": "增删证明材料",
    "nomination.sealed_form": "上传盖章推荐审批表",
    "nomination.submit": "报送",
    "nomination.resubmit": "修改后再次报送",
    "nomination.withdrawn": "撤回",
    "nomination.shortlisted": "确定入围",
    "nomination.returned": "退回修改",
    "nomination.rejected": "不通过",
    "review.criteria": "设置评分标准",
    "review.panel": "调整评审专家名单",
    "review.options": "修改评审设置",
    "review.assign": "自动分配评审任务",
    "review.assignment.add": "手动增加评审分配",
    "review.assignment.remove": "撤销评审分配",
    "review.conflict": "专家声明回避",
    "review.submit": "提交评分",
    "review.reopen": "退回评分",
    "review.waive": "免除评分",
    "vote.release": "放行待核查投票",
    "vote.exclude": "剔除投票",
    "story.create": "新建稿件",
    "story.update": "修改稿件",
    "story.submit": "报送稿件",
    "story.publish": "发布稿件",
    "story.return": "退回稿件",
    "story.unpublish": "撤下稿件",
    "results.tally": "综合评定计算",
    "results.exclude": "取消候选资格",
    "results.reinstate": "恢复候选资格",
    "objection.investigating": "开始核查异议",
    "objection.upheld": "异议成立，取消候选资格",
    "objection.dismissed": "异议不成立",
    "designation.revoke": "撤销命名",
    "designation.reinstate": "恢复命名",
    "recheck.open": "开启年度复核",
    "recheck.report": "报送复核报告",
    "recheck.report.amend": "修改复核报告",
    "recheck.passed": "复核合格",
    "recheck.rectify": "复核限期整改",
    "recheck.rectified": "整改合格",
    "audit.purge": "清理超过保存期限的审计日志",
    "audit.export": "导出审计日志",
    "objection.download": "下载异议材料（个人信息）",
    "objection.reveal": "查看异议人完整联系电话",
    "nomination.export": "导出推荐审批表（个人信息）",
    "nomination.download": "下载证明材料（个人信息）",
    "nomination.reveal": "查看推荐对象完整联系电话",
    "nomination.export_list": "导出推荐对象名单（个人信息）",
}

# The chain's start, as the vote ledger's: 64 zeros.
GENESIS = "0" * 64
# The PostgreSQL advisory lock namespace of the audit chain ("Audt").
AUDIT_LOCK = 0x41756474
# The shortest retention the portal allows (等保 2.0: logs kept at least six months).
MIN_RETENTION_DAYS = 180
# The chained fields, in the order the hash covers them.
CHAINED = (
    "at",
    "actor",
    "actor_name",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "before",
    "after",
    "network",
)


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in staff member, or the command line."""

    staff_id: int | None
    name: str
    role: str = ""
    network: str = ""

    @classmethod
    def command_line(cls, name: str = "命令行") -> Actor:
        return cls(staff_id=None, name=name, role="", network="")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Keep only the fields that differ, so the log shows what changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _label(obj: Table) -> str:
    for attr in ("title", "name", "username", "slug"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value[:200]
    return ""


def _canonical_time(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _canonical_json(value: Any) -> str:
    if isinstance(value, str):
        value = json.loads(value)
    return json.dumps(_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(previous: str, row: dict[str, Any]) -> str:
    """An entry's hash: SHA-256 of the previous hash and its fields, canonically written
    (UTC time to the microsecond, JSON with sorted keys), so the stored row alone
    recomputes it on either engine."""
    fields = {
        "at": _canonical_time(row["at"]),
        "actor": row["actor"],
        "actor_name": row["actor_name"],
        "actor_role": row["actor_role"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "object_label": row["object_label"],
        "before": _canonical_json(row["before"]),
        "after": _canonical_json(row["after"]),
        "network": row["network"],
    }
    text = previous + "|" + json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def _head() -> str:
    last = (
        await AuditEntry.select(AuditEntry.entry_hash)
        .order_by(AuditEntry.id, ascending=False)
        .first()
        .run()
    )
    return last["entry_hash"] if last else GENESIS


async def _append(rows: list[AuditEntry]) -> None:
    await advisory_lock(AUDIT_LOCK, 0)
    previous = await _head()
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        at = getattr(row, "at", None)
        # The time is fixed here (not by the database) so the hash covers it.
        row.at = at if isinstance(at, dt.datetime) else now
        values = {name: getattr(row, name) for name in CHAINED}
        values["before"] = _jsonable(values["before"])
        values["after"] = _jsonable(values["after"])
        row.prev_hash = previous
        row.entry_hash = previous = entry_hash(previous, values)
    await AuditEntry.insert(*rows).run()


async def append(*rows: AuditEntry) -> None:
    """Chain and insert entries, in the transaction already open or in one of their own."""
    if not rows:
        return
    if get_engine().current_transaction.get() is not None:
        await _append(list(rows))
        return
    async with write_transaction():
        await _append(list(rows))


async def record(
    actor: Actor,
    action: str,
    obj: Table | tuple[str, Any],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    label: str | None = None,
) -> None:
    """Record one action on an object (a row, or a ``(type, id)`` pair)."""
    if isinstance(obj, Table):
        object_type, object_id = obj._meta.tablename, obj.id
        label = label if label is not None else _label(obj)
    else:
        object_type, object_id = obj
    await append(
        AuditEntry(
            actor=actor.staff_id,
            actor_name=actor.name[:100],
            actor_role=actor.role,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_label=(label or "")[:200],
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
            network=actor.network,
        )
    )


@dataclass(frozen=True)
class ChainCheck:
    """What walking the audit chain found: how many entries, and the first bad one."""

    entries: int
    head: str
    bad_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_id is None


_READ_BATCH = 2000


async def verify_chain() -> ChainCheck:
    """Walk the whole log in id order, recomputing every hash and link."""
    anchors = {GENESIS}
    purges = (
        AuditEntry.select(AuditEntry.after)
        .where(AuditEntry.action == "audit.purge")
        .output(load_json=True)
    )
    for purge_row in await purges.run():
        start = (purge_row["after"] or {}).get("from_hash")
        if isinstance(start, str):
            anchors.add(start)
    columns = [getattr(AuditEntry, name) for name in CHAINED]
    previous: str | None = None
    count, last_id = 0, 0
    while True:
        rows = (
            await AuditEntry.select(
                AuditEntry.id, AuditEntry.prev_hash, AuditEntry.entry_hash, *columns
            )
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(_READ_BATCH)
            .run()
        )
        if not rows:
            break
        for row in rows:
            count += 1
            last_id = row["id"]
            if previous is None:
                if row["prev_hash"] not in anchors:
                    return ChainCheck(
                        count, "", row["id"], "链的起点不是创世值，也不是任何一次清理记录的起点"
                    )
            elif row["prev_hash"] != previous:
                return ChainCheck(
                    count, "", row["id"], "与前一条目的哈希不相连（条目被删除、插入或移动）"
                )
            if entry_hash(row["prev_hash"], row) != row["entry_hash"]:
                return ChainCheck(count, "", row["id"], "哈希与内容不符（条目被修改）")
            previous = row["entry_hash"]
    return ChainCheck(count, previous or GENESIS)


@dataclass(frozen=True)
class Purged:
    entries: int
    from_hash: str


async def purge(actor: Actor, days: int, now: dt.datetime | None = None) -> Purged:
    """Delete the oldest entries older than ``days`` (at least ``MIN_RETENTION_DAYS``) and
    record the purge, with the hash the kept chain starts from, in the same transaction.
    Only a run of the oldest entries goes: the chain after it stays whole."""
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"审计日志至少保存 {MIN_RETENTION_DAYS} 天。")
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    async with write_transaction():
        await advisory_lock(AUDIT_LOCK, 0)
        first_kept = (
            await AuditEntry.select(AuditEntry.id, AuditEntry.prev_hash)
            .where(AuditEntry.at >= cutoff)
            .order_by(AuditEntry.id)
            .first()
            .run()
        )
        if first_kept is None:
            # Everything is older: keep the newest entry so the chain's head stays.
            newest = (
                await AuditEntry.select(AuditEntry.id, AuditEntry.prev_hash)
                .order_by(AuditEntry.id, ascending=False)
                .first()
                .run()
            )
            first_kept = newest
        if first_kept is None:
            return Purged(0, GENESIS)
        count = await AuditEntry.count().where(AuditEntry.id < first_kept["id"]).run()
        if count:
            await AuditEntry.delete().where(AuditEntry.id < first_kept["id"]).run()
        await _append(
            [
                AuditEntry(
                    actor=actor.staff_id,
                    actor_name=actor.name[:100],
                    actor_role=actor.role,
                    action="audit.purge",
                    object_type="audit_entry",
                    object_id=str(first_kept["id"]),
                    object_label="",
                    before=None,
                    after={
                        "purged": count,
                        "older_than": cutoff.isoformat(),
                        "retention_days": days,
                        "from_hash": first_kept["prev_hash"],
                    },
                    network=actor.network,
                )
            ]
        )
    return Purged(count, first_kept["prev_hash"])


async def rechain(after_id: int) -> None:
    """Recompute the chain of the entries after id ``after_id``. Only for the demo's data,
    which dates the entries it has just written into the past (``results.demo``); the
    portal itself never changes an entry."""
    async with write_transaction():
        await advisory_lock(AUDIT_LOCK, 0)
        before = (
            await AuditEntry.select(AuditEntry.entry_hash)
            .where(AuditEntry.id <= after_id)
            .order_by(AuditEntry.id, ascending=False)
            .first()
            .run()
        )
        previous = before["entry_hash"] if before else GENESIS
        columns = [getattr(AuditEntry, name) for name in CHAINED]
        rows = (
            await AuditEntry.select(AuditEntry.id, *columns)
            .where(AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .run()
        )
        for row in rows:
            digest = entry_hash(previous, row)
            await (
                AuditEntry.update({AuditEntry.prev_hash: previous, AuditEntry.entry_hash: digest})
                .where(AuditEntry.id == row["id"])
                .run()
            )
            previous = digest
