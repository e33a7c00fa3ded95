"""The audit log: every staff action that changes data, recorded in one line at the call site.

await audit.record(actor, "campaign.update", campaign, before=old, after=new)
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from piccolo.table import Table

from portal.tables import AuditEntry

# How the log names each action for people; the code stays visible beside it.
ACTION_LABELS = {
    "staff.login": "登录",
    "staff.logout": "退出登录",
    "staff.create": "创建账号",
    "staff.active": "启用或停用账号",
    "staff.password": "修改密码",
    "staff.lock": "登录失败锁定",
    "staff.unlock": "解除登录锁定",
    "staff.otp_enrol": "开启二次验证",
    "staff.otp_reset": "重置二次验证",
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
}


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
    await AuditEntry.insert(
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
    ).run()
