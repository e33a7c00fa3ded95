"""Recommendation conditions (推荐条件): what a category's nominees must meet.

A category's ``conditions`` (``portal.tables.Category.conditions``) is a JSON list; each
item is one of:

* a comparison on a nomination figure —
  ``{"field": "success_rate", "op": ">=", "value": 97, "wording": "调解成功率不低于97%"}``;
  ``field`` is ``success_rate`` (调解成功率, derived from disputes_resolved ÷
  disputes_mediated, ``value`` in per cent with at most one decimal) or a whole-number
  field of the category's kind (``years_of_service``, ``criminal_escalations``,
  ``mass_incidents``, ``staff_count`` …, ``value`` a whole number); ``op`` is one of
  ``>=``, ``>``, ``<=``, ``<``, ``=``;
* a yes/no declaration the nominee makes —
  ``{"declaration": "d1", "wording": "本年度未发生因调解不当引发的群体性事件"}``; the key
  (``d`` and a number) names the answer in ``Nomination.declarations`` ("yes" / "no").

``wording`` is the notice's own words (a comparison without it gets one made from its
parts). ``parse`` checks a list from the admin form or the demo; ``evaluate`` tells, for
a nomination's values and answers, each condition met, failed or not yet answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from nominations import fields
from portal.errors import Invalid
from portal.tables import CategoryKind
from portal.text import line_error

SUCCESS_RATE = "success_rate"
OPS = {
    ">=": "不低于",
    ">": "高于",
    "<=": "不高于",
    "<": "低于",
    "=": "等于",
}
# Counted things read better with 不少于 / 不超过 / 为.
_COUNT_WORDS = {">=": "不少于", ">": "多于", "<=": "不超过", "<": "少于", "=": "为"}
YES, NO = "yes", "no"
MAX_CONDITIONS = 12
MAX_WORDING = 200
DECLARATION_RE = re.compile(r"^d[1-9]\d{0,2}$")

MET, FAILED, UNANSWERED = "met", "failed", "unanswered"
STATE_LABELS = {MET: "符合", FAILED: "不符合", UNANSWERED: "待填写"}


@dataclass(frozen=True)
class Metric:
    """A figure a condition may compare: its key, name, unit and the kinds that have it."""

    key: str
    name: str
    unit: str
    kinds: frozenset[CategoryKind]
    decimal: bool = False  # per cent with one decimal, else a whole number

    def applies_to(self, kind: CategoryKind | str) -> bool:
        return CategoryKind(kind) in self.kinds


def _metric_of(field: fields.Field) -> Metric:
    name, _, rest = field.label.partition("（")
    return Metric(field.key, name, rest.rstrip("）"), field.kinds)


METRICS: dict[str, Metric] = {
    SUCCESS_RATE: Metric(SUCCESS_RATE, "调解成功率", "%", fields.ALL_KINDS, decimal=True),
    **{f.key: _metric_of(f) for f in fields.FIELDS if f.kind == "int" and f.key != "birth_year"},
}


def metrics_for(kind: CategoryKind | str) -> list[Metric]:
    """The figures a condition of a category of this kind may compare."""
    return [m for m in METRICS.values() if m.applies_to(kind)]


@dataclass(frozen=True)
class Condition:
    """One condition: a comparison (``field``, ``op``, ``value``) or a declaration (``key``)."""

    wording: str
    field: str = ""
    op: str = ""
    value: Decimal = Decimal(0)
    key: str = ""  # a declaration's key

    @property
    def is_declaration(self) -> bool:
        return bool(self.key)

    @property
    def metric(self) -> Metric | None:
        return METRICS.get(self.field)

    def as_json(self) -> dict[str, Any]:
        if self.is_declaration:
            return {"declaration": self.key, "wording": self.wording}
        value: int | float = int(self.value) if self.value == int(self.value) else float(self.value)
        return {"field": self.field, "op": self.op, "value": value, "wording": self.wording}

    def requirement(self) -> str:
        """The comparison in words, e.g. “不低于 97%”, “为 0 件”."""
        metric = self.metric
        assert metric is not None
        words = OPS if metric.decimal else _COUNT_WORDS
        return f"{words[self.op]} {_with_unit(_number(self.value), metric.unit)}"


def _number(value: Decimal | Fraction | int) -> str:
    """A figure as shown: whole numbers plain, a rate cut (not rounded) to one decimal,
    so 96.96 % shows as 96.9 %, not as a 97.0 % that fails “不低于 97%”."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        tenths = Fraction(value.numerator * 10 // value.denominator, 10)
        return f"{float(tenths):.1f}"
    return format(Decimal(value).normalize(), "f")


def _with_unit(number: str, unit: str) -> str:
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"


def default_wording(field: str, op: str, value: Decimal) -> str:
    """A comparison's wording when the notice's is not given: “调解成功率不低于 97%”."""
    condition = Condition("", field=field, op=op, value=value)
    return f"{METRICS[field].name}{condition.requirement()}"


class ConditionsInvalid(Invalid):
    """The list was refused; ``errors`` maps ``"<row>.<part>"`` (row from 1) to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("推荐条件有误：" + "；".join(errors.values()), errors)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse(items: Iterable[Mapping[str, Any]], kind: CategoryKind | str) -> list[Condition]:
    """Check a condition list (from the admin form or stored JSON) for a category of
    ``kind``; raise ``ConditionsInvalid`` naming each problem by its row (1, 2 …).

    A row with neither a figure, a declaration nor wording is skipped. Declarations
    without a key get the next free ``d<n>``, so answers stay tied to them."""
    kind = CategoryKind(kind)
    rows = [dict(item) for item in items]
    errors: dict[str, str] = {}
    used = {_text(r.get("declaration")) for r in rows}
    next_key = 1
    parsed: list[Condition] = []
    for number, row in enumerate(rows, start=1):
        field = _text(row.get("field"))
        wording = _text(row.get("wording"))
        declaration = "declaration" in row or field == "declaration"
        if not field and not wording and not _text(row.get("declaration")):
            continue
        where = f"第 {number} 条"
        if len(wording) > MAX_WORDING:
            errors[f"{number}.wording"] = f"{where}的条件表述不能超过 {MAX_WORDING} 个字。"
            continue
        if wording and (hidden := line_error(f"{where}的条件表述", wording)):
            errors[f"{number}.wording"] = hidden
            continue
        if declaration:
            if not wording:
                errors[f"{number}.wording"] = f"{where}是承诺事项，请填写条件表述。"
                continue
            key = _text(row.get("declaration"))
            if not key:
                while f"d{next_key}" in used:
                    next_key += 1
                key = f"d{next_key}"
                used.add(key)
            elif not DECLARATION_RE.match(key):
                errors[f"{number}.field"] = f"{where}的承诺事项标识无效。"
                continue
            parsed.append(Condition(wording, key=key))
            continue
        metric = METRICS.get(field)
        if metric is None:
            errors[f"{number}.field"] = f"{where}请选择要比较的数据项。"
            continue
        if not metric.applies_to(kind):
            errors[f"{number}.field"] = f"{where}：{kind.label}没有“{metric.name}”这一数据项。"
            continue
        op = _text(row.get("op"))
        if op == "==":
            op = "="
        if op not in OPS:
            errors[f"{number}.op"] = f"{where}请选择比较方式。"
            continue
        raw = _text(row.get("value")).removesuffix("%").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            errors[f"{number}.value"] = f"{where}请填写比较的数值。"
            continue
        if metric.decimal:
            if not Decimal(0) <= value <= Decimal(100) or value != value.quantize(Decimal("0.1")):
                errors[f"{number}.value"] = (
                    f"{where}的{metric.name}须为 0 到 100 之间的数，最多一位小数。"
                )
                continue
        elif value != value.to_integral_value() or value < 0:
            errors[f"{number}.value"] = f"{where}的{metric.name}须为不小于 0 的整数。"
            continue
        value = value.quantize(Decimal("0.1")) if metric.decimal else value.to_integral_value()
        parsed.append(
            Condition(
                wording or default_wording(field, op, value),
                field=field,
                op=op,
                value=value.normalize() if metric.decimal else value,
            )
        )
    if len(parsed) > MAX_CONDITIONS:
        errors["0.field"] = f"每个类别最多设置 {MAX_CONDITIONS} 条推荐条件。"
    if errors:
        raise ConditionsInvalid(errors)
    return parsed


def stored(raw: Any, kind: CategoryKind | str) -> list[Condition]:
    """A category's stored conditions; a list that no longer parses counts as none
    rather than breaking every page (it was checked when it was saved)."""
    if isinstance(raw, str):  # a JSON column as Piccolo hands it back
        try:
            raw = json.loads(raw or "[]")
        except ValueError:
            return []
    if not raw:
        return []
    try:
        return parse(raw, kind)
    except (ConditionsInvalid, TypeError, ValueError, AttributeError):
        return []


@dataclass(frozen=True)
class Outcome:
    """How a nomination stands on one condition: met, failed or not yet answered."""

    condition: Condition
    state: str
    message: str

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def met(self) -> bool:
        return self.state == MET

    def as_json(self) -> dict[str, str]:
        return {
            "wording": self.condition.wording,
            "state": self.state,
            "label": self.label,
            "message": self.message,
        }


def _compare(actual: Fraction, op: str, target: Fraction) -> bool:
    return {
        ">=": actual >= target,
        ">": actual > target,
        "<=": actual <= target,
        "<": actual < target,
        "=": actual == target,
    }[op]


def _figure(condition: Condition, values: Mapping[str, Any]) -> tuple[Fraction | None, str]:
    """The figure a comparison reads, or None with what is missing."""
    if condition.field == SUCCESS_RATE:
        mediated, resolved = values.get("disputes_mediated"), values.get("disputes_resolved")
        if not isinstance(mediated, int) or not isinstance(resolved, int) or mediated <= 0:
            return None, "请填写排查调处和调解成功件数，调解成功率自动计算。"
        return Fraction(resolved * 100, mediated), ""
    value = values.get(condition.field)
    if not isinstance(value, int) or isinstance(value, bool):
        return None, f"请填写{fields.FIELDS_BY_KEY[condition.field].label}。"
    return Fraction(value), ""


def judge(
    condition: Condition, values: Mapping[str, Any], declarations: Mapping[str, Any]
) -> Outcome:
    """One condition against a nomination's cleaned values and declaration answers."""
    if condition.is_declaration:
        answer = _text(declarations.get(condition.key))
        if answer == YES:
            return Outcome(condition, MET, "已承诺符合。")
        if answer == NO:
            return Outcome(condition, FAILED, "申报单位表示不符合。")
        return Outcome(condition, UNANSWERED, "请选择“符合”或“不符合”。")
    metric = condition.metric
    assert metric is not None
    actual, missing = _figure(condition, values)
    if actual is None:
        return Outcome(condition, UNANSWERED, missing)
    shown = _with_unit(_number(actual), metric.unit)
    if _compare(actual, condition.op, Fraction(condition.value)):
        return Outcome(condition, MET, f"现为 {shown}。")
    return Outcome(condition, FAILED, f"现为 {shown}，要求{condition.requirement()}。")


def evaluate(
    conditions: Iterable[Condition], values: Mapping[str, Any], declarations: Mapping[str, Any]
) -> list[Outcome]:
    """Every condition against a nomination, in the category's order."""
    return [judge(c, values, declarations or {}) for c in conditions]


def declarations_from(form: Mapping[str, Any], conditions: Iterable[Condition]) -> dict[str, str]:
    """The answers a form sends (``declaration-d1`` = yes / no) for these conditions."""
    answers = {}
    for condition in conditions:
        if condition.is_declaration:
            answer = _text(form.get(f"declaration-{condition.key}"))
            if answer in (YES, NO):
                answers[condition.key] = answer
    return answers


def unmet(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.met]


def summary(outcomes: list[Outcome]) -> str:
    """One line for lists: “符合全部 3 项”, “2 项不符合：…”, “1 项待填写”."""
    if not outcomes:
        return ""
    failed = [o for o in outcomes if o.state == FAILED]
    pending = [o for o in outcomes if o.state == UNANSWERED]
    if not failed and not pending:
        return f"符合全部 {len(outcomes)} 项"
    parts = []
    if failed:
        parts.append(f"{len(failed)} 项不符合：" + "；".join(o.condition.wording for o in failed))
    if pending:
        parts.append(f"{len(pending)} 项待填写")
    return "，".join(parts)


def refusal(outcomes: Iterable[Outcome]) -> str:
    """The message of a submission refused for unmet conditions, naming each."""
    lines = [f"“{o.condition.wording}”（{o.label}：{o.message.rstrip('。')}）" for o in outcomes]
    return "不符合推荐条件，不能报送：" + "；".join(lines) + "。"


def parse_form(form: Mapping[str, Any], rows: int) -> list[dict[str, Any]]:
    """The rows of the admin form (``field-1``, ``op-1``, ``value-1``, ``wording-1``,
    ``declaration-1`` …) as condition dicts for ``parse``."""
    items = []
    for number in range(1, rows + 1):
        field = _text(form.get(f"field-{number}"))
        item: dict[str, Any] = {
            "field": field,
            "op": _text(form.get(f"op-{number}")),
            "value": _text(form.get(f"value-{number}")),
            "wording": _text(form.get(f"wording-{number}")),
        }
        if field == "declaration":
            item = {"declaration": _text(form.get(f"key-{number}")), "wording": item["wording"]}
        items.append(item)
    return items
