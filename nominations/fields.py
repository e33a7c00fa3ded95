"""The fields of a nomination, by category kind: one definition for forms, validation,
Excel templates and exports.

Labels and messages are Chinese; keys are the column names of ``Nomination``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from portal.sheets import FORMULA_STARTS
from portal.tables import CategoryKind
from portal.text import line_error

UNIT_KINDS = frozenset({CategoryKind.judicial_office, CategoryKind.mediation_committee})
ALL_KINDS = frozenset(CategoryKind)

UNIT_TYPES = {
    "township": "乡镇（街道）",
    "village": "村",
    "community": "社区",
    "trade": "行业性专业性",
}
GENDERS = {"male": "男", "female": "女"}
MEDIATOR = frozenset({CategoryKind.mediator})

# 政治面貌, as the recommendation forms (推荐审批表) offer it.
POLITICAL_STATUSES = {
    "cpc": "中共党员",
    "cpc_probationary": "中共预备党员",
    "cyl": "共青团员",
    "democratic_party": "民主党派",
    "non_party": "无党派人士",
    "masses": "群众",
}
# 文化程度, highest completed.
EDUCATIONS = {
    "postgraduate": "研究生",
    "bachelor": "大学本科",
    "college": "大学专科",
    "high_school": "高中（中专）",
    "junior_high": "初中",
    "primary": "小学及以下",
}
# The 56 ethnic groups in the order of GB/T 3304 (codes 01–56); stored by name.
_ETHNIC_GROUPS = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山"
    " 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米"
    " 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
)
ETHNICITIES = {f"{name}族": f"{name}族" for name in _ETHNIC_GROUPS.split()}
assert len(ETHNICITIES) == 56

# Dates as clerks type them: 2026-03-15, 2026/3/15, 2026.3.15, 2026年3月15日.
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # text, textarea, markdown, int, choice, phone, date
    kinds: frozenset[CategoryKind] = ALL_KINDS
    required: bool = True
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: dict[str, str] | None = None
    help: str = ""
    public: bool = False
    group: str = "basic"

    def applies_to(self, kind: CategoryKind | str) -> bool:
        return CategoryKind(kind) in self.kinds


def _this_year() -> int:
    return dt.date.today().year


FIELDS: tuple[Field, ...] = (
    Field(
        "name",
        "名称",
        "text",
        max_length=100,
        public=True,
        help="单位全称，如“安定区中华路司法所”；调解员填姓名。",
    ),
    Field(
        "township",
        "所在乡镇（街道）",
        "text",
        max_length=50,
        public=True,
        help="如“香泉镇”“中华路街道”。",
    ),
    Field("unit_type", "类型", "choice", kinds=UNIT_KINDS, choices=UNIT_TYPES),
    Field("address", "地址", "text", kinds=UNIT_KINDS, max_length=200),
    Field("gender", "性别", "choice", kinds=frozenset({CategoryKind.mediator}), choices=GENDERS),
    Field(
        "birth_year",
        "出生年份",
        "int",
        kinds=frozenset({CategoryKind.mediator}),
        minimum=1930,
        maximum=2010,
    ),
    Field(
        "committee",
        "所在调解组织",
        "text",
        kinds=frozenset({CategoryKind.mediator}),
        max_length=100,
        public=True,
        help="如“安定区香泉镇香泉村人民调解委员会”。",
    ),
    Field(
        "position",
        "职务",
        "text",
        kinds=frozenset({CategoryKind.mediator}),
        max_length=50,
        help="如“调委会主任”“专职人民调解员”。",
    ),
    Field(
        "years_of_service",
        "从事调解工作年限",
        "int",
        kinds=frozenset({CategoryKind.mediator}),
        minimum=0,
        maximum=70,
    ),
    # What the recommendation form (推荐审批表) asks of a person. Optional: nominations
    # drafted or imported before the form had them still save; the printed form leaves
    # an empty one blank, to be completed by hand before it is sealed.
    Field(
        "political_status",
        "政治面貌",
        "choice",
        kinds=MEDIATOR,
        required=False,
        choices=POLITICAL_STATUSES,
    ),
    Field("ethnicity", "民族", "choice", kinds=MEDIATOR, required=False, choices=ETHNICITIES),
    Field("education", "文化程度", "choice", kinds=MEDIATOR, required=False, choices=EDUCATIONS),
    Field(
        "honours",
        "曾获荣誉",
        "textarea",
        required=False,
        max_length=1000,
        help="按时间顺序，每项一行，如“2021年 被市司法局评为优秀人民调解员”；没有可不填。",
    ),
    Field(
        "summary",
        "一句话简介",
        "text",
        max_length=200,
        public=True,
        help="显示在投票卡片上，不超过 200 字。",
    ),
    Field(
        "deeds",
        "事迹材料",
        "markdown",
        max_length=5000,
        public=True,
        help=(
            "可以直接从 Word、WPS 粘贴，段落、小标题、加粗和列表会保留；也可以直接输入："
            "空一行分段，**加粗**，“## 小标题”，“- ”开头为列表。不超过 5000 字。"
        ),
    ),
    Field(
        "disputes_mediated",
        "排查调处矛盾纠纷（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
    ),
    Field(
        "disputes_resolved",
        "调解成功（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
        help="不能多于排查调处数；调解成功率自动计算。",
    ),
    Field(
        "judicial_confirmations",
        "司法确认（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
    ),
    Field("on_the_spot", "随手调（件）", "int", minimum=0, maximum=1_000_000, group="record"),
    Field(
        "entrusted_court", "法院委托移送（件）", "int", minimum=0, maximum=1_000_000, group="record"
    ),
    Field(
        "entrusted_police",
        "公安委托移送（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
    ),
    Field(
        "entrusted_government",
        "乡镇（街道）委托移送（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
    ),
    Field(
        "entrusted_petition",
        "信访部门委托移送（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
    ),
    Field(
        "entrusted_other",
        "其他单位委托移送（件）",
        "int",
        minimum=0,
        maximum=1_000_000,
        group="record",
    ),
    Field(
        "criminal_escalations",
        "民转刑案件（件）",
        "int",
        required=False,
        minimum=0,
        maximum=10_000,
        group="record",
        help="本年度调处的矛盾纠纷中激化为刑事案件的件数；没有请填 0。",
    ),
    Field(
        "mass_incidents",
        "群体性事件（起）",
        "int",
        required=False,
        minimum=0,
        maximum=10_000,
        group="record",
        help="本年度因调解不当引发的群体性事件起数；没有请填 0。",
    ),
    Field(
        "staff_count",
        "在编工作人员数（人）",
        "int",
        kinds=frozenset({CategoryKind.judicial_office}),
        required=False,
        minimum=0,
        maximum=1_000,
        group="record",
    ),
    Field(
        "recommender_opinion",
        "推荐单位意见",
        "textarea",
        required=False,
        max_length=500,
        group="opinion",
        help="推荐单位对该推荐对象的意见，如“同意推荐”，印在推荐审批表上并盖章；也可打印后手写。",
    ),
    Field(
        "opinion_date",
        "意见日期",
        "date",
        required=False,
        group="opinion",
        help="推荐单位签署意见的日期，如 2026-03-15。",
    ),
    Field(
        "contact_name",
        "联系人",
        "text",
        max_length=50,
        group="contact",
        help="仅供审核联系，不公开。",
    ),
    Field(
        "contact_phone",
        "联系电话",
        "phone",
        max_length=20,
        group="contact",
        help="手机号或带区号的固定电话，不公开。",
    ),
)
FIELDS_BY_KEY = {f.key: f for f in FIELDS}
ENTRUSTED = tuple(f.key for f in FIELDS if f.key.startswith("entrusted_"))


def fields_for(kind: CategoryKind | str) -> list[Field]:
    return [f for f in FIELDS if f.applies_to(kind)]


def _convert(field: Field, raw: Any) -> tuple[Any, str | None]:
    """One value from a form, JSON or a spreadsheet cell: (value, error)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if field.kind == "int":
        if isinstance(raw, bool):
            return None, f"{field.label}须为整数。"
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        try:
            value = int(str(raw).strip())
        except ValueError:
            return None, f"{field.label}须为整数。"
        if field.minimum is not None and value < field.minimum:
            return None, f"{field.label}不能小于 {field.minimum}。"
        if field.maximum is not None and value > field.maximum:
            return None, f"{field.label}不能大于 {field.maximum}。"
        return value, None
    if field.kind == "date":
        return _date(field, raw)
    multiline = field.kind in ("markdown", "textarea")
    text = str(raw).strip().replace("\r\n", "\n") if multiline else str(raw).strip()
    if field.kind == "choice":
        assert field.choices is not None
        if text in field.choices:
            return text, None
        by_label = {label: key for key, label in field.choices.items()}
        if text in by_label:  # spreadsheets carry the Chinese label
            return by_label[text], None
        labels = list(field.choices.values())
        if len(labels) > 12:  # 民族: name the rule, not all 56
            return None, f"{field.label}须填写全称，如“{labels[0]}”“{labels[2]}”。"
        return None, f"{field.label}须为：{'、'.join(labels)}。"
    if field.max_length is not None and len(text) > field.max_length:
        return None, f"{field.label}不能超过 {field.max_length} 个字（现有 {len(text)} 个）。"
    if field.kind == "phone":
        compact = text.replace(" ", "")
        if not PHONE_RE.match(compact):
            return None, f"{field.label}格式不正确，请填写 11 位手机号或带区号的固定电话。"
        return compact, None
    if field.kind == "textarea":
        for line in text.split("\n"):
            if error := line_error(field.label, line):
                return None, error
    if field.kind == "text":
        if error := line_error(field.label, text):
            return None, error
        if text.startswith(FORMULA_STARTS):
            # Names go into every workbook; no name starts like a spreadsheet formula.
            return (
                None,
                f"{field.label}不能以“{text[0]}”开头（表格软件会把它当作公式），请删除开头的符号。",
            )
    return text, None


def _date(field: Field, raw: Any) -> tuple[dt.date | None, str | None]:
    """A date from a form (2026-03-15), a spreadsheet cell (a datetime) or typed the
    ways people write dates; only this year's neighbourhood makes sense on a form."""
    if isinstance(raw, dt.datetime):
        value = raw.date()
    elif isinstance(raw, dt.date):
        value = raw
    else:
        match = DATE_RE.match(str(raw).strip())
        try:
            value = dt.date(*(int(part) for part in match.groups())) if match else None
        except ValueError:
            value = None
        if value is None:
            return None, f"{field.label}格式不正确，请按“2026-03-15”的格式填写。"
    if not 2000 <= value.year <= _this_year() + 1:
        return None, f"{field.label}须在 2000 年至 {_this_year() + 1} 年之间。"
    return value, None


def date_label(value: dt.date | None) -> str:
    """A date as written on a form: 2026年3月15日."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def clean(kind: CategoryKind | str, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Convert and check each field's own format; drafts may leave fields empty."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields_for(kind):
        value, error = _convert(field, data.get(field.key))
        if error:
            errors[field.key] = error
        values[field.key] = value
    # Figures must agree with each other whenever they are given, even in drafts.
    errors.update({k: v for k, v in consistency_errors(values).items() if k not in errors})
    return values, errors


def consistency_errors(values: dict[str, Any]) -> dict[str, str]:
    """The year's figures must add up; each problem named at the field it concerns."""
    errors: dict[str, str] = {}
    mediated = values.get("disputes_mediated")
    if mediated is None:
        return errors
    for key in ("disputes_resolved", "on_the_spot"):
        value = values.get(key)
        if value is not None and value > mediated:
            errors[key] = (
                f"{FIELDS_BY_KEY[key].label.split('（')[0]}不能多于排查调处数（{mediated} 件）。"
            )
    resolved = values.get("disputes_resolved")
    confirmations = values.get("judicial_confirmations")
    if resolved is not None and confirmations is not None and confirmations > resolved:
        errors["judicial_confirmations"] = f"司法确认不能多于调解成功数（{resolved} 件）。"
    entrusted = [values.get(k) for k in ENTRUSTED]
    if all(v is not None for v in entrusted) and sum(entrusted) > mediated:  # type: ignore[arg-type]
        errors["entrusted_other"] = (
            f"各类委托移送合计 {sum(entrusted)} 件，不能多于排查调处数（{mediated} 件）。"  # type: ignore[arg-type]
        )
    birth, years = values.get("birth_year"), values.get("years_of_service")
    if birth is not None and years is not None and years > _this_year() - birth - 16:
        errors["years_of_service"] = "从事调解工作年限与出生年份不符。"
    return errors


def missing(kind: CategoryKind | str, values: dict[str, Any]) -> dict[str, str]:
    """Required fields left empty: what submitting needs in addition to ``clean``."""
    return {
        f.key: f"请填写{f.label.split('（')[0]}。"
        for f in fields_for(kind)
        if f.required and values.get(f.key) in (None, "")
    }


def success_rate(mediated: int | None, resolved: int | None) -> str | None:
    """调解成功率, computed (never typed), e.g. '99.8%'."""
    if not mediated or resolved is None:
        return None
    return f"{resolved * 100 / mediated:.1f}%"


def organisation(row: dict[str, Any]) -> str:
    """A mediator's committee; for a unit, the township or street it serves."""
    if row.get("kind") == CategoryKind.mediator.value:
        return row.get("committee") or ""
    return row.get("township") or ""
