"""Demo nominations for the 2023 Dingxi campaign (`dingxi-2023`).

The real campaign had 14 judicial offices, 29 mediation organisations and 38 mediators
nominated by the seven counties; the demo shortlists exactly as many, within each
county's cap, including the three units the city named (安定区中华路司法所,
安定区福台路街道人民调解委员会, 李志国 of 安定区香泉镇香泉村人民调解委员会). A few more
nominations show the workflow: two drafts, two returned for revision, one rejected.

Towns are the real towns of the seven counties; villages, communities, people, phone
numbers, cases and figures are invented (figures in the ranges of the city's 2023
report). A seeded ``random.Random`` makes the demo the same on every run; only the
stored file names (random by design) and the times (inside the campaign's window)
differ between databases.

The expert review is finished too: the four-criterion demo rubric in every category,
the five demo reviewers on the panel, and every shortlisted candidate scored by every
reviewer not of its county (a harsh and a lenient reviewer among them).

``ensure_demo_nominations`` and ``ensure_demo_review`` are this app's demo ``STEPS``
(run by ``portal.demo.load_demo``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import json
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from nominations import fields, review, review_math, uploads
from nominations.tables import (
    Assignment,
    AssignmentStatus,
    Criterion,
    Document,
    Nomination,
    PanelMember,
    Status,
)
from portal import audit
from portal.audit import Actor
from portal.db import write_transaction
from portal.demo import DemoContext, DemoStep, ensure_demo_campaign
from portal.tables import (
    AuditEntry,
    Bureau,
    BureauLevel,
    Campaign,
    Category,
    Role,
    Staff,
)

logger = logging.getLogger(__name__)

SEED = 20230615
CST = dt.timezone(dt.timedelta(hours=8))
ACTOR = Actor.command_line("演示数据")
CITY = "定西市"

JUDICIAL_OFFICE, COMMITTEE, MEDIATOR = "judicial-office", "mediation-committee", "mediator"
# Shortlisted per county, in the order of portal.demo.COUNTIES: 14 / 29 / 38 in all,
# within the caps 2 / 5 / 6.
SHORTLISTED = {
    JUDICIAL_OFFICE: (2, 2, 2, 2, 2, 2, 2),
    COMMITTEE: (5, 4, 5, 4, 5, 3, 3),
    MEDIATOR: (6, 5, 6, 5, 6, 5, 5),
}

# The units the city named in its 2023 designation.
NAMED_OFFICE = "安定区中华路司法所"
NAMED_COMMITTEE = "安定区福台路街道人民调解委员会"
NAMED_MEDIATOR = "李志国"
NAMED_MEDIATOR_COMMITTEE = "安定区香泉镇香泉村人民调解委员会"

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
PHOTO_SIZE = (800, 600)
PALETTE = (
    (166, 38, 38),
    (180, 70, 40),
    (31, 78, 121),
    (26, 110, 110),
    (46, 104, 62),
    (94, 60, 130),
    (120, 84, 40),
    (60, 72, 88),
)


# --- places ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Town:
    name: str
    villages: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    road: str = ""  # a street address's road, for towns in the county seat

    @property
    def short(self) -> str:
        for suffix in ("街道", "镇", "乡"):
            if self.name.endswith(suffix):
                return self.name.removesuffix(suffix)
        return self.name


def _t(name: str, villages: str = "", communities: str = "", road: str = "") -> Town:
    return Town(name, tuple(villages.split()), tuple(communities.split()), road)


# Real towns and streets of each county; the villages and communities below them are
# illustrative. The first town is the county seat.
TOWNS: dict[str, tuple[Town, ...]] = {
    "安定区": (
        _t("永定路街道", "", "东川社区 城南社区 友谊社区", "永定路"),
        _t("中华路街道", "", "西岩社区 南川社区 新城社区", "中华路"),
        _t("福台路街道", "", "福台社区 交通路社区 北关社区", "福台路"),
        _t("凤翔镇", "安家咀村 景家店村 中川村 寨子村", "凤翔社区"),
        _t("内官营镇", "内官村 锦屏村 先锋村 红堡村"),
        _t("巉口镇", "巉口村 杨家岔村 西川村 王家坪村"),
        _t("香泉镇", "香泉村 沙塄村 太平村 中庄村"),
        _t("宁远镇", "宁远村 红旗村 张家湾村"),
        _t("称钩驿镇", "称钩驿村 新庄村 石家岔村"),
        _t("鲁家沟镇", "鲁家沟村 将台村 花岔村"),
    ),
    "通渭县": (
        _t("平襄镇", "温泉村 锦屏村 孟河村", "东关社区 南关社区 西街社区", "西大街"),
        _t("马营镇", "马营村 华川村 王家沟村"),
        _t("义岗川镇", "义岗村 川口村 黄家岔村"),
        _t("陇阳镇", "陇阳村 大牛村 高家堡村"),
        _t("榜罗镇", "榜罗村 文丰村 张家庄村"),
        _t("鸡川镇", "鸡川村 大寨村 新胜村"),
        _t("常家河镇", "常家河村 大庄村 边坪村"),
        _t("襄南镇", "襄南村 梁家坪村 马家岔村"),
    ),
    "陇西县": (
        _t("巩昌镇", "北关村 东铺村 杨家寺村", "仁寿社区 西街社区 鼎新社区", "文峰路"),
        _t("文峰镇", "文峰村 三台村 崖湾村", "文峰社区"),
        _t("首阳镇", "首阳村 石家岔村 南门村 马家寨村"),
        _t("菜子镇", "菜子村 尹家庄村 刘家门村"),
        _t("福星镇", "福星村 中街村 锦华村"),
        _t("通安驿镇", "通安村 河浦村 何家门村"),
        _t("云田镇", "云田村 三十里铺村 安家咀村"),
        _t("碧岩镇", "碧岩村 莲花村 张家寨村"),
    ),
    "渭源县": (
        _t("清源镇", "城关村 石家堡村 西寨村", "北关社区 东关社区 南关社区", "渭河路"),
        _t("会川镇", "会川村 本庙村 半阴坡村"),
        _t("莲峰镇", "莲峰村 李家庄村 白土坡村"),
        _t("五竹镇", "五竹村 鹿鸣村 马家窑村"),
        _t("路园镇", "路园村 松林村 大户村"),
        _t("北寨镇", "北寨村 尖山村 沈家庄村"),
        _t("麻家集镇", "麻家集村 北沟村 新庄村"),
    ),
    "临洮县": (
        _t("洮阳镇", "南街村 三甲村 崖湾村", "东街社区 南大街社区 西城社区", "洮河路"),
        _t("八里铺镇", "八里铺村 新民村 塔湾村"),
        _t("新添镇", "新添村 古树村 四十里铺村"),
        _t("辛店镇", "辛店村 康家崖村 巴下村"),
        _t("太石镇", "太石村 三益村 后地湾村"),
        _t("中铺镇", "中铺村 石门村 梁家磨村"),
        _t("玉井镇", "玉井村 峡口村 路家沟村"),
        _t("衙下集镇", "衙下村 刘家坪村 寺洼村"),
    ),
    "漳县": (
        _t("武阳镇", "城关村 东街村 马家坪村", "龙泉社区 东城社区", "新华路"),
        _t("三岔镇", "三岔村 四族村 吊坪村"),
        _t("盐井镇", "盐井村 王家庄村 付家河村"),
        _t("新寺镇", "新寺村 岸门村 黄家坪村"),
        _t("殪虎桥镇", "殪虎桥村 川儿村 汪家坪村"),
        _t("金钟镇", "金钟村 大坪村 红崖村"),
        _t("大草滩镇", "大草滩村 新民村 草滩村"),
    ),
    "岷县": (
        _t("岷阳镇", "东关村 西关村 城郊村", "北关社区 南关社区 城南社区", "和平路"),
        _t("梅川镇", "梅川村 马家沟村 杏林村"),
        _t("西江镇", "西江村 沙金村 卓洛村"),
        _t("茶埠镇", "茶埠村 耳阳村 尹家庄村"),
        _t("十里镇", "十里村 红崖村 崖根村"),
        _t("闾井镇", "闾井村 扎那村 三坪村"),
        _t("蒲麻镇", "蒲麻村 沙土坪村 郎木村"),
        _t("中寨镇", "中寨村 扎地村 哈地村"),
    ),
}

# Trade (行业性专业性) committees of each county: (name after the county, case topic).
TRADES: dict[str, tuple[tuple[str, str], ...]] = {
    "安定区": (
        ("医疗纠纷人民调解委员会", "medical"),
        ("道路交通事故纠纷人民调解委员会", "traffic"),
    ),
    "通渭县": (("道路交通事故纠纷人民调解委员会", "traffic"), ("劳动争议人民调解委员会", "labour")),
    "陇西县": (("中药材行业人民调解委员会", "herbs"), ("医疗纠纷人民调解委员会", "medical")),
    "渭源县": (("劳动争议人民调解委员会", "labour"), ("婚姻家庭纠纷人民调解委员会", "family")),
    "临洮县": (("婚姻家庭纠纷人民调解委员会", "family"), ("物业纠纷人民调解委员会", "property")),
    "漳县": (("道路交通事故纠纷人民调解委员会", "traffic"), ("医疗纠纷人民调解委员会", "medical")),
    "岷县": (("中药材行业人民调解委员会", "herbs"), ("劳动争议人民调解委员会", "labour")),
}
HERBS = {"陇西县": "党参", "岷县": "当归", "渭源县": "党参", "漳县": "黄芪"}
TRADE_ROADS = ("人民路", "解放路", "建设路", "滨河路", "新华路", "东大街")

# --- people ---------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Weighted by repetition: the common surnames of the region come up more often.
SURNAMES = (
    "王王王李李李张张刘刘陈杨杨赵马马何汪魏牛安包蒲苟董石郭宋冯邓孙朱胡高罗梁谢韩唐许曹潘袁彭蔺"
)
MALE_GIVEN = _words(
    "建军 宏伟 永强 国栋 文斌 振华 海龙 治平 进军 建华 玉林 生荣 德明 世杰 亚军 正清 发祥 "
    "明亮 学军 耀武 天福 长青 守仁 文虎 建平 兴旺 立新 保林 福元 俊杰 有成 国强 占彪 "
    "成林 维东 旭东 鹏 斌 涛 军"
)
FEMALE_GIVEN = _words(
    "秀英 玉兰 丽娟 晓燕 彩霞 桂芳 春梅 小红 雅琴 淑珍 海燕 红霞 金花 慧芳 亚琴 凤英 "
    "晓琴 娟 芳 静 丽"
)
PHONE_PREFIXES = _words(
    "139 138 137 135 136 150 151 152 158 159 187 188 133 153 177 180 181 189 199"
)


# --- one nomination -------------------------------------------------------------------


@dataclass
class Plan:
    """One demo nomination before it is stored."""

    key: str  # category key
    county: str
    status: Status
    values: dict[str, Any]
    place: int | None = None
    reason: str = ""
    photo: bool = True
    document: bool = True
    caption: str = ""  # the characters drawn large on the photo
    times: dict[str, dt.datetime] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)  # names of the stored files


class _Gen:
    """The demo's deterministic generator: every choice comes from one seeded Random."""

    def __init__(self, year: int) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
        self.year = year
        self.people: set[str] = {NAMED_MEDIATOR}
        self.unit_names: set[str] = set()

    # people

    def person(self, gender: str | None = None) -> tuple[str, str]:
        rng = self.rng
        gender = gender or ("female" if rng.random() < 0.35 else "male")
        for _ in range(200):
            given = rng.choice(FEMALE_GIVEN if gender == "female" else MALE_GIVEN)
            name = rng.choice(SURNAMES) + given
            if name not in self.people:
                self.people.add(name)
                return name, gender
        raise RuntimeError("out of demo names")  # pragma: no cover

    def phone(self) -> str:
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    # figures

    def figures(self, low: int, high: int, entrusted: tuple[float, float], topic: str = "") -> dict:
        """A year's record in the proportions of the city report (99.8 % resolved,
        46 % on the spot, 3 % confirmed; entrusted cases mostly from courts)."""
        rng = self.rng
        mediated = rng.randint(low, high)
        resolved = mediated - rng.randint(0, int(mediated * 0.025))
        total = round(mediated * rng.uniform(*entrusted))
        if topic == "traffic":
            police = round(total * rng.uniform(0.45, 0.65))
            court = round(total * rng.uniform(0.25, 0.4))
        else:
            court = round(total * rng.uniform(0.68, 0.88))
            police = round(total * rng.uniform(0.06, 0.2))
        rest = max(0, total - court - police)
        government = rng.randint(0, rest)
        petition = rng.randint(0, rest - government)
        return {
            "disputes_mediated": mediated,
            "disputes_resolved": resolved,
            "judicial_confirmations": round(resolved * rng.uniform(0.01, 0.06)),
            "on_the_spot": round(mediated * rng.uniform(0.30, 0.55)),
            "entrusted_court": court,
            "entrusted_police": police,
            "entrusted_government": government,
            "entrusted_petition": petition,
            "entrusted_other": rest - government - petition,
        }

    # texts

    def case(self, topic: str, place: str, county: str) -> tuple[str, str]:
        """A typical case (典型案例): its title and a short account."""
        rng = self.rng
        a, b = rng.sample(SURNAMES, 2)
        who = "居民" if place.endswith("社区") else "村民"
        n = rng.randint
        money = f"{rng.uniform(2, 30):.1f}"
        texts = {
            "homestead": (
                "宅基地边界纠纷",
                f"{place}{who}{a}某翻建房屋时，与邻居{b}某因宅基地界线发生争执，双方互不相让，"
                f"险些引发肢体冲突。调解员第一时间赶到现场，调取宅基地审批档案、实地丈量，"
                f"依据《民法典》相邻关系的规定释法说理，双方各退一步签订调解协议，当场握手言和。",
            ),
            "land": (
                "土地承包经营权纠纷",
                f"{place}{who}{a}某外出务工多年，返乡后要求收回由{b}某代耕的{n(5, 30)}亩承包地，"
                f"双方对地上青苗补偿争执不下。调解员查阅承包合同、走访村组干部，提出“秋收后交地、"
                f"按亩补偿”的方案，双方签字认可，纠纷化解在村组。",
            ),
            "support": (
                "赡养纠纷",
                f"{place}八旬老人{a}某育有三个子女，子女们因赡养问题互相推诿。调解员联合村“两委”"
                f"上门开展亲情调解，讲法律、讲孝道、算亲情账，子女们当场签订赡养协议，约定轮流照料、"
                f"每人每月支付赡养费{n(4, 12) * 50}元。",
            ),
            "drainage": (
                "相邻排水纠纷",
                f"{place}{a}某与{b}某两家房屋相邻，因雨季排水不畅屡起争执。调解员把双方请到"
                f"“院落会”上，现场商定共同出资修建排水渠，邻里关系重归于好。",
            ),
            "wages": (
                "农民工工资纠纷",
                f"辖区某建筑工地{n(8, 40)}名农民工被拖欠工资{money}万元，部分工人情绪激动。"
                f"调解员会同人社、住建部门联合调处，约谈项目负责人，促成施工方{n(3, 10)}日内"
                f"全额兑付，并就调解协议申请了司法确认。",
            ),
            "traffic": (
                "道路交通事故赔偿纠纷",
                f"{a}某驾驶货车与{b}某驾驶的电动三轮车相撞，致{b}某受伤住院，双方对赔偿数额分歧较大。"
                f"调解员依据事故认定书逐项核算医疗费、误工费和护理费，促成双方达成赔偿{money}万元的"
                f"协议，当场履行完毕。",
            ),
            "family": (
                "婚姻家庭纠纷",
                f"{place}{a}某与妻子因家庭琐事长期争吵，妻子回娘家后提出离婚。调解员多次上门，"
                f"分别做夫妻双方和双方父母的工作，引导二人换位思考，最终夫妻和好，"
                f"一个濒临破裂的家庭得以保全。",
            ),
            "loan": (
                "民间借贷纠纷",
                f"{a}某向{b}某借款{rng.uniform(2, 15):.1f}万元用于养殖，到期后因经营亏损无力偿还，"
                f"{b}某准备起诉。调解员了解双方实际后提出分期还款方案，双方达成协议并申请司法确认，"
                f"既保障了债权，也给了债务人喘息的时间。",
            ),
            "property": (
                "物业服务纠纷",
                f"{place}某小区{n(30, 120)}户业主因电梯频繁故障拒交物业费，物业公司与业主矛盾激化。"
                f"调解员组织业主代表、物业公司和社区召开协调会，促成物业公司限期维修电梯并公示收支，"
                f"业主补缴物业费，小区秩序恢复正常。",
            ),
            "leak": (
                "楼上漏水纠纷",
                f"{place}居民{a}某家卫生间漏水，致楼下{b}某家天花板大面积受损，双方多次协商未果。"
                f"调解员请来专业人员查明漏水原因，依法明确维修和赔偿责任，{a}某负责维修并赔偿损失"
                f"{n(15, 80) * 100}元，双方均表示满意。",
            ),
            "medical": (
                "医疗损害赔偿纠纷",
                f"患者{a}某在县内某医院手术后出现并发症，家属情绪激动、聚集医院讨要说法。"
                f"调解员第一时间介入，邀请医学专家评析诊疗过程，依法释明责任，医患双方最终达成"
                f"一次性补偿{rng.uniform(2, 15):.1f}万元的协议，避免了矛盾升级。",
            ),
            "herbs": (
                "中药材购销合同纠纷",
                f"种植户{a}某与收购商{b}某签订{n(3, 20)}吨{HERBS.get(county, '党参')}购销合同，"
                f"交货时双方对药材等级和价格产生争议。调解员邀请行业协会专家现场分级定价，"
                f"促成双方按质论价、当场结清货款，保障了药农的合法权益。",
            ),
            "grassland": (
                "村组草山边界纠纷",
                f"{place}与邻村因草山边界不清争执多年，放牧季节屡有摩擦。调解员会同自然资源所、"
                f"林草站调阅历史资料、实地踏勘，划定界线并埋设界桩，两村签订协议，多年积怨就此化解。",
            ),
            "labour": (
                "劳动报酬纠纷",
                f"{n(5, 25)}名员工与辖区某企业因加班费和经济补偿产生争议，集体到劳动部门反映。"
                f"调解员组织劳资双方对账协商，依据劳动法律法规逐项核算，企业一次性支付{money}万元，"
                f"员工全部撤回投诉。",
            ),
            "circulation": (
                "土地流转租金纠纷",
                f"辖区某合作社流转{place}等村{n(3, 15) * 100}亩土地种植高原夏菜，"
                f"因经营困难拖欠租金，涉及农户百余户。调解员联合镇村干部与合作社逐户对账，制定分期支付计划，"
                f"首期租金当月兑付，群众满意。",
            ),
            "inherit": (
                "继承纠纷",
                f"{a}某兄妹四人因父亲遗留的房屋分割产生矛盾，多年不相往来。调解员从亲情入手，"
                f"依据《民法典》继承编讲清法定继承规则，兄妹四人最终达成分割协议，重新坐到了一起。",
            ),
        }
        return texts[topic]

    def deeds(self, opening: str, practices: list[str], case: tuple[str, str], closing: str) -> str:
        """Markdown in the shape of 事迹材料: 2-4 short blocks, with a heading or a list."""
        rng = self.rng
        blocks = [opening]
        shape = rng.randrange(3)
        if shape == 0:  # headings with a list, then the case
            blocks.append(
                rng.choice(("### 主要做法", "### 工作举措", "### 经验做法"))
                + "\n\n"
                + "\n".join(f"- {p}" for p in practices)
            )
            blocks.append(f"### 典型案例：{case[0]}\n\n{case[1]}")
        elif shape == 1:  # a numbered list, the case in bold
            blocks.append("\n".join(f"{i}. {p}" for i, p in enumerate(practices, start=1)))
            blocks.append(f"**典型案例：{case[0]}**\n{case[1]}")
        else:  # one heading, the case as a quotation
            blocks.append("## 典型案例\n\n" + f"> **{case[0]}**：{case[1]}")
        if shape != 1 or rng.random() < 0.5:
            blocks.append(closing)
        return "\n\n".join(blocks)


def _rate(values: dict[str, Any]) -> str:
    return fields.success_rate(values["disputes_mediated"], values["disputes_resolved"]) or ""


def _entrusted(values: dict[str, Any]) -> int:
    return sum(values[k] for k in fields.ENTRUSTED)


UNIT_PRACTICES = (
    "**网格排查**：依托{grids}个网格和村组信息员，每周排查、每月研判，矛盾纠纷底数清、情况明。",
    "**诉调对接**：与{county}人民法院建立诉调对接机制，全年受理法院委托移送案件{court}件，"
    "做到“委托即受理、受理即调解”。",
    "**警调联动**：在派出所设立人民调解工作室，公安机关移送的{police}件纠纷全部及时受理。",
    "**随手调**：调解员走村入户时发现的小矛盾当场化解，全年随手调{spot}件。",
    "**司法确认**：对涉及金钱给付的调解协议引导当事人申请司法确认，全年确认{conf}件，"
    "协议履行率明显提升。",
    "**“法律明白人”**：培养“法律明白人”{helpers}名，参与纠纷化解和普法宣传。",
    "**回访制度**：对调解成功的纠纷逐件回访，防止矛盾反弹。",
    "**重点时段排查**：春耕、秋收和春节前后开展专项排查，提前化解土地、务工等易发纠纷。",
)
OFFICE_PRACTICES = (
    "**“一站式”受理**：建成矛盾纠纷多元化解中心，群众反映问题“只进一扇门、最多跑一地”。",
    "**指导调委会**：每季度对辖区{committees}个调委会开展业务培训和卷宗评查，提升调解规范化水平。",
)
VILLAGE_PRACTICES = (
    "**“党建+调解”**：村党支部书记兼任调委会主任，党员中心户参与化解邻里矛盾。",
    "**院落会**：把调解搬到农家院落，让群众评理、乡贤说事，小事就地了结。",
)
TRADE_PRACTICES = (
    "**专家库**：聘请律师、医生、行业协会人员{helpers}名组成咨询专家库，为疑难纠纷提供专业意见。",
    "**快速通道**：对专业性纠纷实行“当日受理、三日内调解”，减少当事人奔波。",
)
MEDIATOR_PRACTICES = (
    "**腿勤**：每周走访农户，纠纷苗头早发现、早介入。",
    "**嘴勤**：用群众听得懂的“土话”讲法律、讲道理、讲人情。",
    "**情理法结合**：先疏导情绪，再讲清法理，最后拿出双方都能接受的方案。",
    "**建台账**：每件纠纷登记在册、定期回访，全年随手调{spot}件。",
    "**借助外力**：对疑难纠纷邀请村干部、乡贤、律师共同参与，形成调解合力。",
    "**诉调对接**：受理法院委托调解案件{court}件，为群众节省了诉讼成本。",
)
UNIT_CLOSINGS = (
    "下一步，{short}将继续坚持和发展新时代“枫桥经验”，努力把矛盾纠纷化解在基层、化解在萌芽状态。",
    "群众说：“有事找调委会，心里就踏实。”{short}已成为辖区群众信得过的“解忧驿站”。",
    "{year}年，辖区未发生一起因矛盾纠纷激化引发的刑事案件和群体性事件。",
)
MEDIATOR_CLOSINGS = (
    "“{quote}”，这是{name}常挂在嘴边的一句话，也是{pron}多年来坚持的做法。",
    "多年来，{name}调解的纠纷无一起反弹，被当地群众亲切地称为“{nickname}”。",
)
QUOTES = (
    "群众的事再小也是大事",
    "调解就是把心里的疙瘩解开",
    "宁可自己多跑腿，不让群众多费心",
    "矛盾化解在家门口，乡亲们才能过安生日子",
)
NICKNAMES = {
    "male": ("和事佬", "热心肠", "及时雨", "贴心人"),
    "female": ("知心大姐", "贴心人", "热心肠", "巧嘴调解员"),
}


# A practice that cites a figure is only told when the figure is not zero.
_CITES = {
    "{court}": "entrusted_court",
    "{police}": "entrusted_police",
    "{conf}": "judicial_confirmations",
    "{spot}": "on_the_spot",
}


def _applies(template: str, values: dict[str, Any]) -> bool:
    return all(values[key] for marker, key in _CITES.items() if marker in template)


def _fill(template: str, **values: Any) -> str:
    return template.format(**values)


class Builder(_Gen):
    """Builds the demo's plans county by county."""

    def _committee_topics(self, unit_type: str, town: Town | None = None) -> tuple[str, ...]:
        if town is not None and town.name.endswith("街道"):  # a town of streets, no fields
            return ("wages", "property", "loan", "family", "traffic", "leak")
        return {
            "village": ("homestead", "land", "support", "drainage", "family", "grassland"),
            "community": ("property", "leak", "family", "loan", "inherit"),
            "township": ("wages", "circulation", "homestead", "land", "traffic", "loan"),
        }[unit_type]

    def _unit_texts(
        self,
        name: str,
        short: str,
        county: str,
        kind: str,
        unit_type: str,
        topic: str,
        place: str,
        values: dict[str, Any],
    ) -> None:
        rng, year = self.rng, self.year
        rate, mediated = _rate(values), values["disputes_mediated"]
        fmt = {
            "name": name,
            "short": short,
            "county": county,
            "year": year,
            "rate": rate,
            "mediated": mediated,
            "resolved": values["disputes_resolved"],
            "court": values["entrusted_court"],
            "police": values["entrusted_police"],
            "spot": values["on_the_spot"],
            "conf": values["judicial_confirmations"],
            "entrusted": _entrusted(values),
            "grids": rng.randint(8, 40),
            "helpers": rng.randint(6, 30),
            "committees": rng.randint(8, 22),
            "staff": rng.randint(3, 6),
        }
        openings = [
            "{name}坚持和发展新时代“枫桥经验”，立足“小事不出村、大事不出镇、矛盾不上交”，"
            "{year}年共排查调处矛盾纠纷{mediated}件，调解成功{resolved}件，成功率{rate}。",
            "近年来，{name}把矛盾纠纷排查化解作为维护基层稳定的第一道防线。{year}年排查调处"
            "各类矛盾纠纷{mediated}件，其中随手调{spot}件，调解成功率达{rate}。",
            "{name}以“早发现、早介入、早化解”为目标，{year}年调处矛盾纠纷{mediated}件、"
            "成功{resolved}件，受理法院、公安等单位委托移送案件{entrusted}件，"
            "办理司法确认{conf}件。",
        ]
        if kind == JUDICIAL_OFFICE:
            openings.append(
                "{name}现有工作人员{staff}名，指导辖区{committees}个人民调解委员会开展工作。"
                "{year}年，全所排查调处矛盾纠纷{mediated}件，调解成功{resolved}件，成功率{rate}。"
            )
        pool = list(UNIT_PRACTICES)
        pool += {
            JUDICIAL_OFFICE: OFFICE_PRACTICES,
            "village": VILLAGE_PRACTICES,
            "trade": TRADE_PRACTICES,
        }.get(kind if kind == JUDICIAL_OFFICE else unit_type, ())
        pool = [p for p in pool if _applies(p, values)]
        practices = [_fill(p, **fmt) for p in rng.sample(pool, rng.randint(2, 4))]
        case = self.case(topic, place, county)
        values["deeds"] = self.deeds(
            _fill(rng.choice(openings), **fmt),
            practices,
            case,
            _fill(rng.choice(UNIT_CLOSINGS), **fmt),
        )
        features = ("网格化排查", "诉调对接", "“一站式”多元化解", "“党建+调解”", "警调联动")
        summaries = (
            "坚持和发展新时代“枫桥经验”，{year}年排查调处矛盾纠纷{mediated}件，调解成功率{rate}，"
            "实现“小事不出村、大事不出镇”。",
            f"以{rng.choice(features)}为抓手，{{year}}年化解矛盾纠纷{{mediated}}件，"
            "办理司法确认{conf}件，群众满意度持续提升。",
            "扎根基层、服务群众，全年调处纠纷{mediated}件、成功{resolved}件，"
            "诉调对接、警调联动机制运转顺畅。",
        )
        values["summary"] = _fill(rng.choice(summaries), **fmt)

    def office(self, county: str, town: Town) -> dict[str, Any]:
        rng = self.rng
        name = f"{county}{town.short}司法所"
        if town.road:
            address = f"{CITY}{county}{town.road}{rng.randint(2, 240)}号"
        else:
            address = f"{CITY}{county}{town.name}" + rng.choice(
                ("人民政府院内", "政府大院综合楼二楼", "综治中心一楼")
            )
        values = {
            "name": name,
            "township": town.name,
            "unit_type": "township",
            "address": address,
            **self.figures(180, 900, (0.05, 0.14)),
            "contact_name": self.person()[0],
            "contact_phone": self.phone(),
        }
        place = f"{town.name}{rng.choice(town.villages or town.communities)}"
        topic = rng.choice((*self._committee_topics("township", town), "support"))
        self._unit_texts(
            name, f"{town.short}司法所", county, JUDICIAL_OFFICE, "township", topic, place, values
        )
        return values

    def committee(self, county: str, unit_type: str, town: Town, trade: int = 0) -> dict[str, Any]:
        rng = self.rng
        seat = TOWNS[county][0]
        if unit_type == "trade":
            trade_name, topic = TRADES[county][trade]
            name, town = f"{county}{trade_name}", seat
            short = trade_name.removesuffix("人民调解委员会") + "调委会"
            address = f"{CITY}{county}{rng.choice(TRADE_ROADS)}{rng.randint(2, 160)}号"
            place, figures = seat.name, self.figures(100, 480, (0.12, 0.3), topic)
        elif unit_type == "township":
            name, short = f"{county}{town.name}人民调解委员会", f"{town.name}调委会"
            address = f"{CITY}{county}{town.name}" + rng.choice(
                ("综治中心", "矛盾纠纷多元化解中心", "人民政府院内")
            )
            topic = rng.choice(self._committee_topics("township", town))
            place = f"{town.name}{rng.choice(town.villages or town.communities)}"
            figures = self.figures(150, 600, (0.05, 0.12))
        else:
            spots = town.communities if unit_type == "community" else town.villages
            spot = rng.choice(
                [s for s in spots if f"{county}{town.name}{s}" not in self.unit_names]
            )
            name, short = f"{county}{town.name}{spot}人民调解委员会", f"{spot}调委会"
            suffix = "村委会院内" if unit_type == "village" else "党群服务中心"
            address = f"{CITY}{county}{town.name}{spot.removesuffix('村')}{suffix}"
            topic = rng.choice(self._committee_topics(unit_type))
            place = f"{town.name}{spot}"
            figures = self.figures(60, 240, (0.02, 0.08))
        self.unit_names.add(name.removesuffix("人民调解委员会"))
        values = {
            "name": name,
            "township": town.name,
            "unit_type": unit_type,
            "address": address,
            **figures,
            "contact_name": self.person()[0],
            "contact_phone": self.phone(),
        }
        self._unit_texts(name, short, county, COMMITTEE, unit_type, topic, place, values)
        return values

    def mediator(
        self,
        county: str,
        name: str | None = None,
        gender: str | None = None,
        committee: tuple[str, Town, str] | None = None,
    ) -> dict[str, Any]:
        """A mediator; ``committee`` is (committee name, town, committee type)."""
        rng, year = self.rng, self.year
        if name is None:
            name, gender = self.person(gender)
        assert gender is not None
        if committee is None:
            committee = self._mediator_committee(county)
        committee_name, town, ctype = committee
        if ctype == "village":
            birth = rng.randint(1958, 1982)
            position = rng.choice(("调委会主任", "调委会副主任", "调委会委员", "人民调解员"))
            low, high, topics = 30, 160, self._committee_topics("village")
        elif ctype == "community":
            birth = rng.randint(1968, 1992)
            position = rng.choice(("调委会主任", "专职人民调解员", "兼职人民调解员"))
            low, high, topics = 40, 180, self._committee_topics("community")
        elif ctype == "township":
            birth = rng.randint(1962, 1990)
            position = rng.choice(("专职人民调解员", "调委会副主任", "派驻人民法庭调解员"))
            low, high = 80, 260
            topics = self._committee_topics("township", town)
        else:
            birth = rng.randint(1965, 1990)
            position = rng.choice(("调委会主任", "专职人民调解员"))
            topic = next(t for n, t in TRADES[county] if committee_name.endswith(n))
            low, high, topics = 60, 220, (topic,)
        years = rng.randint(3, min(32, year - birth - 20))
        values: dict[str, Any] = {
            "name": name,
            "township": town.name,
            "gender": gender,
            "birth_year": birth,
            "committee": committee_name,
            "position": position,
            "years_of_service": years,
            **self.figures(low, high, (0.0, 0.12), topics[0] if len(topics) == 1 else ""),
            "contact_name": self.person()[0],
            "contact_phone": self.phone(),
        }
        pron = "她" if gender == "female" else "他"
        nickname = rng.choice(NICKNAMES[gender])
        fmt = {
            "name": name,
            "pron": pron,
            "nickname": nickname,
            "year": year,
            "birth": birth,
            "years": years,
            "committee": committee_name,
            "position": position,
            "role": position.removeprefix("调委会"),
            "town": town.name,
            "gender_label": fields.GENDERS[gender],
            "mediated": values["disputes_mediated"],
            "resolved": values["disputes_resolved"],
            "rate": _rate(values),
            "spot": values["on_the_spot"],
            "court": values["entrusted_court"],
            "quote": rng.choice(QUOTES),
        }
        openings = (
            "{name}，{gender_label}，{birth}年出生，现任{committee}{role}，从事人民调解工作{years}年。"
            "{year}年共调处矛盾纠纷{mediated}件，调解成功{resolved}件，成功率{rate}。",
            "{years}年来，{name}走遍了{town}的沟沟岔岔，累计调解各类纠纷数百件。{year}年，"
            "{pron}调处矛盾纠纷{mediated}件，调解成功{resolved}件，成功率{rate}。",
            "作为{committee}{role}，{name}始终把群众的烦心事当作自己的分内事。"
            "{year}年{pron}排查调处纠纷{mediated}件，其中随手调{spot}件。",
        )
        place = town.name
        if ctype in ("village", "community"):
            place = committee_name.removeprefix(county).removesuffix("人民调解委员会")
        pool = [p for p in MEDIATOR_PRACTICES if _applies(p, values)]
        practices = [_fill(p, **fmt) for p in rng.sample(pool, rng.randint(2, 4))]
        values["deeds"] = self.deeds(
            _fill(rng.choice(openings), **fmt),
            practices,
            self.case(rng.choice(topics), place, county),
            _fill(rng.choice(MEDIATOR_CLOSINGS), **fmt),
        )
        summaries = (
            "从事人民调解工作{years}年，{year}年调处矛盾纠纷{mediated}件，成功率{rate}，"
            "是群众信赖的“{nickname}”。",
            "扎根{town}{years}年，用“情理法”化解邻里纠纷，{year}年调处纠纷{mediated}件，"
            "无一起因调解不当引发民转刑案件。",
            "{position}，{year}年调处矛盾纠纷{mediated}件、成功{resolved}件，把矛盾化解在家门口。",
        )
        values["summary"] = _fill(rng.choice(summaries), **fmt)
        return values

    def _mediator_committee(self, county: str) -> tuple[str, Town, str]:
        rng = self.rng
        towns = TOWNS[county]
        roll = rng.random()
        if roll < 0.55:
            town = rng.choice([t for t in towns if t.villages])
            village = rng.choice(town.villages)
            return f"{county}{town.name}{village}人民调解委员会", town, "village"
        if roll < 0.7:
            town = rng.choice([t for t in towns if t.communities])
            community = rng.choice(town.communities)
            return f"{county}{town.name}{community}人民调解委员会", town, "community"
        if roll < 0.85:
            town = rng.choice(towns)
            return f"{county}{town.name}人民调解委员会", town, "township"
        trade_name, _ = rng.choice(TRADES[county])
        return f"{county}{trade_name}", towns[0], "trade"


def caption_of(county: str, name: str, kind: str) -> str:
    """The characters drawn large on a photo: a mediator's surname, a unit's place."""
    if kind == MEDIATOR:
        return name[:1]
    return name.removeprefix(county)[:2]


def build_plans(year: int, counties: list[str]) -> list[Plan]:
    """Every demo nomination, in a fixed order, from the seeded generator."""
    gen = Builder(year)
    rng = gen.rng
    plans: list[Plan] = []

    def add(key: str, county: str, values: dict[str, Any], status: Status, **kw: Any) -> Plan:
        plan = Plan(key, county, status, values, caption=caption_of(county, values["name"], key))
        for name, value in kw.items():
            setattr(plan, name, value)
        plans.append(plan)
        return plan

    for index, county in enumerate(counties):
        towns = TOWNS[county]
        # Judicial offices: two per county (7 × 2 = 14, every place taken).
        picks = list(rng.sample(towns, SHORTLISTED[JUDICIAL_OFFICE][index]))
        if county == "安定区":
            zhonghua = next(t for t in towns if t.name == "中华路街道")
            others = [t for t in picks if t is not zhonghua]
            picks = [zhonghua, *others[: len(picks) - 1]]
        for place, town in enumerate(picks, start=1):
            add(JUDICIAL_OFFICE, county, gen.office(county, town), Status.shortlisted, place=place)

        # Committees: a township one, a trade one, then villages and communities.
        count = SHORTLISTED[COMMITTEE][index]
        types = ["township", "trade", "village", "community", "village"][:count]
        for place, unit_type in enumerate(types, start=1):
            if county == "安定区" and unit_type == "township":
                town = next(t for t in towns if t.name == "福台路街道")
            elif unit_type == "community":
                town = rng.choice([t for t in towns if t.communities])
            elif unit_type == "village":
                town = rng.choice([t for t in towns if t.villages])
            else:
                town = rng.choice(towns)
            values = gen.committee(county, unit_type, town)
            add(COMMITTEE, county, values, Status.shortlisted, place=place)

        # Mediators.
        for place in range(1, SHORTLISTED[MEDIATOR][index] + 1):
            if county == "安定区" and place == 1:
                xiangquan = next(t for t in towns if t.name == "香泉镇")
                values = gen.mediator(
                    county,
                    NAMED_MEDIATOR,
                    "male",
                    (NAMED_MEDIATOR_COMMITTEE, xiangquan, "village"),
                )
            else:
                values = gen.mediator(county)
            add(MEDIATOR, county, values, Status.shortlisted, place=place)

    # The workflow: returned (holding a free place), rejected, drafts (no place).
    def free_place(key: str, county: str) -> int:
        return SHORTLISTED[key][counties.index(county)] + 1

    zhangxian, tongwei, minxian, weiyuan = "漳县", "通渭县", "岷县", "渭源县"
    add(
        COMMITTEE,
        zhangxian,
        gen.committee(zhangxian, "village", rng.choice(TOWNS[zhangxian][1:])),
        Status.returned,
        place=free_place(COMMITTEE, zhangxian),
        reason=(
            "事迹材料中的典型案例未写明调解结果和当事人履行情况，请补充；"
            "联系人请填写调委会主任本人，并核实联系电话。"
        ),
    )
    returned = gen.mediator(tongwei)
    add(
        MEDIATOR,
        tongwei,
        returned,
        Status.returned,
        place=free_place(MEDIATOR, tongwei),
        reason=(
            f"所报调解成功数与乡镇调解台账不一致（台账为 {returned['disputes_resolved'] - 6} 件），"
            "请核实后修改；照片请更换为近期工作照。"
        ),
    )
    add(
        MEDIATOR,
        minxian,
        gen.mediator(minxian),
        Status.rejected,
        reason=(
            "经核查，该同志所在调委会2023年度调解卷宗不完整，所报调处数据无法核实，不符合推荐条件。"
        ),
    )
    town = rng.choice([t for t in TOWNS[minxian] if t.villages])
    draft_committee = gen.committee(minxian, "village", town)
    # A draft still being written: the record and the deeds are not filled in yet.
    for key in (*fields.ENTRUSTED, "disputes_resolved", "judicial_confirmations", "on_the_spot"):
        draft_committee[key] = None
    draft_committee.update(
        deeds="",
        contact_name="",
        contact_phone="",
        summary="扎根田间地头，坚持“小事不出村”，用“院落会”化解邻里纠纷。（材料完善中）",
    )
    add(COMMITTEE, minxian, draft_committee, Status.draft, photo=False, document=False)
    draft_mediator = gen.mediator(weiyuan)
    draft_mediator["deeds"] = draft_mediator["deeds"].split("\n\n")[0]
    add(MEDIATOR, weiyuan, draft_mediator, Status.draft, document=False)
    return plans


# --- checks and columns ---------------------------------------------------------------


def columns(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every field as its column: fields of other kinds empty ("" or NULL)."""
    stored = {}
    for spec in fields.FIELDS:
        value = values.get(spec.key) if spec.applies_to(kind) else None
        stored[spec.key] = "" if value is None and spec.kind != "int" else value
    return stored


def check(kind: str, plan: Plan) -> None:
    """The demo passes the same checks as a clerk's submission (drafts: format only)."""
    cleaned, errors = fields.clean(kind, plan.values)
    if plan.status is not Status.draft:
        errors.update(fields.missing(kind, cleaned))
    if errors:
        raise AssertionError(f"demo nomination {plan.values.get('name')}: {errors}")


# --- times ----------------------------------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def nominating_window(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    opens, closes = campaign.nominating_opens_at, campaign.nominating_closes_at
    if opens is None or closes is None or _aware(closes) <= _aware(opens):
        closes = dt.datetime.now(CST) - dt.timedelta(days=40)
        opens = closes - dt.timedelta(days=20)
    return _aware(opens).astimezone(CST), _aware(closes).astimezone(CST)


def _office_hours(
    rng: random.Random, at: dt.datetime, lo: dt.datetime, hi: dt.datetime
) -> dt.datetime:
    """``at`` moved into office hours (09:00-18:00 Beijing time) and kept inside lo..hi."""
    local = at.astimezone(CST)
    if not 9 <= local.hour < 18:
        local = local.replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59))
    local = local.replace(second=rng.randint(0, 59), microsecond=0)
    return min(max(local, lo), hi)


def schedule(plans: list[Plan], opens: dt.datetime, closes: dt.datetime) -> None:
    """Plausible times inside the nominating window, each shortlisting at a distinct time."""
    rng = random.Random(SEED + 1)  # noqa: S311 - demo data, not secrets
    span = closes - opens
    used: set[dt.datetime] = set()
    for plan in plans:
        if plan.status is Status.draft:
            created = _office_hours(rng, closes - span * rng.uniform(0.05, 0.25), opens, closes)
            plan.times = {"created_at": created, "updated_at": created}
            continue
        submitted = _office_hours(
            rng, opens + span * rng.uniform(0.15, 0.7), opens + dt.timedelta(hours=2), closes
        )
        created = _office_hours(
            rng, submitted - dt.timedelta(days=rng.uniform(0.3, 4)), opens, submitted
        )
        earliest = submitted + dt.timedelta(minutes=30)
        for _ in range(1000):
            decided = _office_hours(
                rng, submitted + dt.timedelta(days=rng.uniform(0.5, 4)), earliest, closes
            )
            if decided not in used:
                break
        used.add(decided)
        plan.times = {
            "created_at": created,
            "submitted_at": submitted,
            "decided_at": decided,
            "updated_at": decided,
            "uploaded_at": created + (submitted - created) * rng.uniform(0.2, 0.9),
        }
        if plan.status is Status.shortlisted:
            plan.times["shortlisted_at"] = decided


# --- files ----------------------------------------------------------------------------


@functools.cache
def _font_path() -> str | None:
    for path in FONT_PATHS:
        if Path(path).is_file():
            return path
    return None


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | None:
    path = _font_path()
    if path is None:
        return None
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return None


def photo_png(caption: str, subtitle: str, colour: tuple[int, int, int]) -> bytes:
    """An 800×600 picture: the caption large in white, or a plain emblem without a CJK font.

    Drawn in shades (0 = the colour, 255 = white) and stored as a palette PNG: a third
    of the bytes of an RGB one, so encoding and decoding it stays cheap.
    """
    width, height = PHOTO_SIZE
    image = Image.new("L", PHOTO_SIZE, 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width - 330, -150, width + 150, 330), fill=28)
    draw.ellipse((-160, height - 250, 220, height + 130), fill=28)
    big = _font(220 if len(caption) > 1 else 260)
    small = _font(max(24, min(40, (width - 80) // max(1, len(subtitle)))))
    if big is not None and small is not None:
        draw.text((width / 2, height / 2 - 40), caption, font=big, fill=255, anchor="mm")
        draw.text((width / 2, height - 90), subtitle, font=small, fill=255, anchor="mm")
    else:
        cx, cy, r = width / 2, height / 2, 170
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=14)
        draw.polygon([(cx, cy - 100), (cx + 100, cy), (cx, cy + 100), (cx - 100, cy)], fill=255)
    picture = Image.frombytes("P", PHOTO_SIZE, image.tobytes())
    picture.putpalette([round(c + (255 - c) * i / 255) for i in range(256) for c in colour])
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _pdf_text(text: str) -> str:
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def document_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF with the lines in the standard Chinese font STSong-Light.

    No font is embedded: readers substitute their own Song typeface (UniGB-UCS2-H).
    """
    text = ["BT", "/F1 18 Tf", "24 TL", "72 760 Td", f"{_pdf_text(lines[0])} Tj", "/F1 12 Tf"]
    text += ["T*", *(f"T* {_pdf_text(line)} Tj" for line in lines[1:]), "ET"]
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light "
        b"/Encoding /UniGB-UCS2-H /DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
        b"/FontDescriptor 6 0 R /DW 1000 /W [1 95 500] >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def document_lines(plan: Plan, category_title: str, year: int) -> list[str]:
    """The text of a nomination's approval form (推荐审批表), drawn into its demo PDF."""
    values = plan.values
    lines = [
        f"{year}年度定西市“枫桥式”评选推荐审批表",
        f"推荐类别：{category_title}",
        f"推荐对象：{values['name']}",
        f"推荐单位：{plan.county}司法局",
        f"所在乡镇（街道）：{values['township']}",
    ]
    if plan.key == MEDIATOR:
        lines.append(f"所在调解组织：{values['committee']}（{values['position']}）")
    lines += [
        f"排查调处矛盾纠纷 {values['disputes_mediated']} 件，"
        f"调解成功 {values['disputes_resolved']} 件，成功率 {_rate(values)}",
        f"司法确认 {values['judicial_confirmations']} 件，随手调 {values['on_the_spot']} 件",
        "县区司法局意见：经研究，同意推荐。",
        "（演示数据，由系统自动生成）",
    ]
    return lines


def store_files(
    plan: Plan, directory: Path, colour: tuple[int, int, int], lines: list[str]
) -> dict[str, Any]:
    """Write a plan's photo and document (blocking: run it in a worker thread)."""
    stored: dict[str, Any] = {}
    try:
        if plan.photo:
            png = photo_png(plan.caption, plan.values["name"], colour)
            stored["photo"], stored["thumbnail"] = uploads.save_photo(png, directory)
        if plan.document:
            data = document_pdf(lines)
            stored["document"] = (uploads.save_pdf(data, directory), len(data))
    except BaseException:
        _remove_files(directory, stored)
        raise
    return stored


def _remove_files(directory: Path, stored: dict[str, Any]) -> None:
    names = [stored.get("photo", ""), stored.get("thumbnail", "")]
    if "document" in stored:
        names.append(stored["document"][0])
    uploads.remove(directory, *names)


# --- the entry point ------------------------------------------------------------------


async def _has_nominations(campaign: Campaign) -> bool:
    return await Nomination.exists().where(Nomination.campaign == campaign.id).run()


async def ensure_demo_nominations(campaign: Campaign, var_dir: Path) -> None:
    """Nominate, vet and shortlist the demo campaign's candidates (idempotent).

    Does nothing if the campaign has any nomination already. Photos and documents are
    written to ``uploads.upload_dir(var_dir)`` first; the rows go in one transaction.
    """
    if await _has_nominations(campaign):
        return
    storage = await storage_of(campaign, SHORTLISTED)
    year = campaign.year or 2023
    plans = build_plans(year, list(TOWNS))
    held: dict[tuple[str, str], set[int]] = {}
    for plan in plans:
        category = storage.categories[plan.key]
        check(category["kind"], plan)
        if plan.status in (Status.submitted, Status.returned, Status.shortlisted):
            assert plan.place is not None and 1 <= plan.place <= category["county_cap"], plan
            places = held.setdefault((plan.key, plan.county), set())
            assert plan.place not in places, plan
            places.add(plan.place)
        else:
            assert plan.place is None
    schedule(plans, *nominating_window(campaign))
    await store_plans(campaign, plans, storage, var_dir)


@dataclass
class Storage:
    """What storing a campaign's planned nominations looks up: its categories by key,
    the county bureaus by county, and each bureau's first clerk (the creator)."""

    categories: dict[str, dict[str, Any]]
    bureaus: dict[str, int]
    clerks: dict[int, int]


async def storage_of(campaign: Campaign, keys: Iterable[str]) -> Storage:
    """The lookups for ``store_plans``; raise if a category key or a county is missing."""
    categories = {
        row["key"]: row
        for row in await Category.select(
            Category.id, Category.key, Category.title, Category.kind, Category.county_cap
        )
        .where(Category.campaign == campaign.id)
        .run()
    }
    bureaus = {
        row["county"]: row["id"]
        for row in await Bureau.select(Bureau.id, Bureau.county)
        .where(Bureau.level == BureauLevel.county.value)
        .run()
    }
    missing = [k for k in keys if k not in categories] + [c for c in TOWNS if c not in bureaus]
    if missing:
        raise RuntimeError(
            f"the demo campaign {campaign.slug} lacks categories or bureaus: {missing}"
        )
    clerks: dict[int, int] = {}
    for row in (
        await Staff.select(Staff.id, Staff.bureau)
        .where(Staff.role == Role.county_clerk.value)
        .order_by(Staff.id)
        .run()
    ):
        clerks.setdefault(row["bureau"], row["id"])
    return Storage(categories, bureaus, clerks)


async def store_plans(
    campaign: Campaign, plans: list[Plan], storage: Storage, var_dir: Path, palette_offset: int = 0
) -> None:
    """Draw and store each plan's photo and PDF (in threads), then insert the rows in one
    transaction; on any failure, or if another process stored them first, the files go."""
    directory = uploads.upload_dir(var_dir)
    year = campaign.year or 2023
    results = await asyncio.gather(
        *(
            asyncio.to_thread(
                store_files,
                plan,
                directory,
                PALETTE[(index + palette_offset) % len(PALETTE)],
                document_lines(plan, storage.categories[plan.key]["title"], year),
            )
            for index, plan in enumerate(plans)
        ),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    for plan, stored in zip(plans, results, strict=True):
        if not isinstance(stored, BaseException):
            plan.stored = stored
    if failures:
        remove_files(directory, plans)
        raise failures[0]
    try:
        inserted = await insert_plans(
            campaign, plans, storage.categories, storage.bureaus, storage.clerks
        )
    except BaseException:
        remove_files(directory, plans)
        raise
    if not inserted:  # another process loaded the demo meanwhile
        remove_files(directory, plans)


def remove_files(directory: Path, plans: list[Plan]) -> None:
    """Delete the photos and PDFs stored for ``plans`` (after a failed insert)."""
    for plan in plans:
        _remove_files(directory, plan.stored)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None


async def insert_plans(
    campaign: Campaign,
    plans: list[Plan],
    categories: dict[str, dict[str, Any]],
    bureaus: dict[str, int],
    clerks: dict[int, int],
) -> bool:
    """Insert the planned nominations in one transaction; False if the campaign has some."""
    async with write_transaction():
        if await _has_nominations(campaign):
            return False
        rows = []
        for plan in plans:
            category, bureau = categories[plan.key], bureaus[plan.county]
            times = plan.times
            rows.append(
                Nomination(
                    campaign=campaign.id,
                    category=category["id"],
                    bureau=bureau,
                    status=plan.status.value,
                    place=plan.place,
                    **columns(category["kind"], plan.values),
                    photo=plan.stored.get("photo", ""),
                    thumbnail=plan.stored.get("thumbnail", ""),
                    decision_reason=plan.reason,
                    created_by=clerks.get(bureau),
                    created_at=_utc(times["created_at"]),
                    updated_at=_utc(times["updated_at"]),
                    submitted_at=_utc(times.get("submitted_at")),
                    decided_at=_utc(times.get("decided_at")),
                    shortlisted_at=_utc(times.get("shortlisted_at")),
                )
            )
        await Nomination.insert(*rows).run()
        documents, entries = [], []
        for plan, row in zip(plans, rows, strict=True):
            if "document" in plan.stored:
                stored_name, size = plan.stored["document"]
                documents.append(
                    Document(
                        nomination=row.id,
                        stored_name=stored_name,
                        filename=f"{plan.values['name']}推荐审批表.pdf",
                        size=size,
                        uploaded_at=_utc(plan.times["uploaded_at"]),
                    )
                )
            entries.append(_audit_entry(plan, row))
        if documents:
            await Document.insert(*documents).run()
        await AuditEntry.insert(*entries).run()
    return True


def _audit_entry(plan: Plan, row: Nomination) -> AuditEntry:
    if plan.status is Status.draft:
        action, before, after = "nomination.create", None, {"status": "draft"}
        at = plan.times["created_at"]
    else:
        action = f"nomination.{plan.status.value}"
        before = {"status": Status.submitted.value}
        after = {"status": plan.status.value}
        if plan.reason:
            after["reason"] = plan.reason
        at = plan.times["decided_at"]
    return AuditEntry(
        at=_utc(at),
        actor=ACTOR.staff_id,
        actor_name=ACTOR.name,
        actor_role=ACTOR.role,
        action=action,
        object_type=Nomination._meta.tablename,
        object_id=str(row.id),
        object_label=plan.values["name"][:200],
        before=before,
        after=after,
        network=ACTOR.network,
    )


# --- the expert review ----------------------------------------------------------------

# The demo rubric: the same four criteria (totalling 100) in every category, with
# guidance for what each criterion means there.
RUBRIC_POINTS = (("工作实绩", 40), ("创新做法", 20), ("群众满意度", 20), ("典型案例与示范作用", 20))
RUBRIC_GUIDANCE: dict[str, tuple[str, str, str, str]] = {
    JUDICIAL_OFFICE: (
        "司法所指导人民调解、排查化解矛盾纠纷、开展法治宣传等职责的履行成效；"
        "调解案件数量、成功率和司法确认情况。",
        "践行新时代“枫桥经验”的新机制、新方法，如诉调、警调、访调对接和“一站式”"
        "多元化解，是否可复制、可推广。",
        "辖区群众和基层组织对司法所工作的评价；有无因纠纷化解不当引发的投诉、"
        "越级上访或“民转刑”案件。",
        "典型案例是否真实、具体、有说服力；在全县区乃至全市的示范带动作用。",
    ),
    COMMITTEE: (
        "排查调处矛盾纠纷的数量、调解成功率、协议履行率和司法确认情况；"
        "组织、制度、场所等规范化建设。",
        "调解机制和方法的创新，与法院、公安、信访等部门的衔接联动，行业性专业性调解的特色做法。",
        "当事人和群众对调解工作的认可程度，矛盾纠纷就地化解、不上交的成效。",
        "典型案例的代表性和化解难度；经验做法在同类调解组织中的推广价值。",
    ),
    MEDIATOR: (
        "从事调解工作的年限，年度调解案件数量和成功率，“随手调”和司法确认情况。",
        "个人独到的调解方法和工作经验，运用新手段、新方式化解纠纷的情况。",
        "当事人和群众的口碑；热心调解、公道正派、廉洁自律的表现。",
        "亲自调处的典型案例是否有说服力；在传帮带、培养调解骨干方面的示范作用。",
    ),
}


def rubric_rows(key: str) -> list[dict[str, str]]:
    """A category's demo criteria as the criteria form would send them."""
    guidance = RUBRIC_GUIDANCE.get(key, RUBRIC_GUIDANCE[COMMITTEE])
    return [
        {"title": title, "guidance": text, "max_points": str(points)}
        for (title, points), text in zip(RUBRIC_POINTS, guidance, strict=True)
    ]


@dataclass(frozen=True)
class Style:
    """How a demo reviewer scores."""

    bias: float  # points added to a typical total (negative: a harsh reviewer)
    spread: float  # how far apart they put candidates (1: as far as the candidates differ)
    noise: float  # standard deviation of each score, as a share of the criterion's maximum
    pace: tuple[float, float]  # when in the reviewing window they score (shares of it)


HARSH_REVIEWER, LENIENT_REVIEWER = "reviewer-tongwei", "reviewer-weiyuan"
REVIEWERS: dict[str, Style] = {
    "reviewer-anding": Style(0.0, 1.0, 0.04, (0.05, 0.55)),
    HARSH_REVIEWER: Style(-12.0, 1.2, 0.04, (0.1, 0.7)),
    "reviewer-longxi": Style(-2.0, 0.9, 0.05, (0.4, 0.97)),  # scores at the last minute
    LENIENT_REVIEWER: Style(9.0, 0.75, 0.035, (0.02, 0.35)),
    "reviewer-lintao": Style(1.5, 1.1, 0.04, (0.15, 0.8)),
}
# Candidates' quality as a share of full marks: mean, standard deviation, limits.
QUALITY = (0.77, 0.06, 0.6, 0.92)
NAMED_BONUS = 0.06  # the units the city named stand out
IMPRESSION = 0.035  # a reviewer's own view of a candidate, on every criterion alike

STRENGTHS = {
    "工作实绩": (
        "矛盾纠纷排查化解成效明显，数据扎实",
        "调解成功率高，工作实绩突出",
        "调解工作量大、质量高",
    ),
    "创新做法": (
        "工作机制有创新，做法可复制可推广",
        "善于运用新方法化解纠纷，特色鲜明",
        "诉调、警调衔接做法有新意",
    ),
    "群众满意度": ("群众认可度高，口碑好", "群众满意度高，基层反映良好", "当事人评价高，公信力强"),
    "典型案例与示范作用": (
        "典型案例说服力强，示范带动作用明显",
        "案例选取典型，具有推广价值",
        "示范作用较好，可供同行借鉴",
    ),
}
WEAKNESSES = {
    "工作实绩": ("工作实绩的数据支撑还可更充分", "实绩材料略显单薄", "案件数量在同类对象中偏少"),
    "创新做法": (
        "创新做法提炼不够，特色不够鲜明",
        "创新举措还需进一步总结提升",
        "做法较常规，亮点不多",
    ),
    "群众满意度": ("群众满意度的佐证材料不足", "群众评价材料可再补充", "群众回访情况反映不够"),
    "典型案例与示范作用": (
        "典型案例的示范意义阐述不足",
        "案例代表性一般，示范作用有待加强",
        "案例叙述较简略",
    ),
}
VERDICTS = (  # (lowest total, phrases), best first
    (90, ("事迹突出，强烈推荐。", "综合表现优秀，推荐命名。", "各方面表现均衡出色。")),
    (80, ("综合表现良好，同意推荐。", "整体较好，符合“枫桥式”标准。", "总体较好，值得肯定。")),
    (70, ("基本符合评选条件。", "总体尚可，建议进一步提炼经验。", "中规中矩。")),
    (0, ("与其他对象相比差距较明显。", "材料较为一般，竞争力不足。", "总体偏弱，建议继续培育。")),
)


def reviewing_window(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    opens, closes = campaign.reviewing_opens_at, campaign.reviewing_closes_at
    if opens is None or closes is None or _aware(closes) <= _aware(opens):
        closes = dt.datetime.now(CST) - dt.timedelta(days=10)
        opens = closes - dt.timedelta(days=20)
    return _aware(opens).astimezone(CST), _aware(closes).astimezone(CST)


def _halves(halves: int) -> str:
    """A score given in half points as stored: 25 → "12.5", 24 → "12"."""
    return str(halves // 2) + (".5" if halves % 2 else "")


def review_comment(rng: random.Random, shares: dict[str, float], total: float) -> str:
    """A short remark: the candidate's strongest and weakest criterion, then a verdict."""
    best = max(shares, key=lambda title: shares[title])
    worst = min(shares, key=lambda title: shares[title])
    parts = []
    if total < 70:  # a weak candidate's best side is only relatively good
        parts.append(f"{best}方面相对较好")
    elif best in STRENGTHS:
        parts.append(rng.choice(STRENGTHS[best]))
    if worst in WEAKNESSES and worst != best and (total < 90 or rng.random() < 0.3):
        parts.append(rng.choice(WEAKNESSES[worst]))
    verdict = next(phrases for lowest, phrases in VERDICTS if total >= lowest)
    head = "；".join(parts)
    return (head + "。" if head else "") + rng.choice(verdict)


@dataclass
class Scoring:
    """One demo reviewer's scoring of one candidate, before it is stored."""

    nomination: int
    reviewer: int
    scores: dict[str, str]
    comment: str
    submitted_at: dt.datetime | None = None


def plan_scores(
    candidates: dict[int, tuple[int, bool]],
    assignments: dict[int, list[int]],
    styles: dict[int, Style],
    criteria: dict[int, list[tuple[int, str, int]]],
    window: tuple[dt.datetime, dt.datetime],
) -> list[Scoring]:
    """Plausible, deterministic scores for every assignment.

    ``candidates`` maps a nomination id to its category id and whether the city named
    it; ``assignments`` a nomination id to its reviewers' ids; ``styles`` a reviewer id
    to their style; ``criteria`` a category id to its criteria (id, title, maximum in
    half points). Each candidate has an underlying quality (and strengths per
    criterion) that every reviewer sees, shifted by the reviewer's bias and taste and
    blurred by their own impression and noise, so the panel broadly agrees.
    """
    rng = random.Random(SEED + 2)  # noqa: S311 - demo data, not secrets
    mean, sd, low, high = QUALITY
    depth = max((len(c) for c in criteria.values()), default=0)
    taste = {rid: [rng.gauss(0, 0.025) for _ in range(depth)] for rid in sorted(styles)}
    out: list[Scoring] = []
    for nid in sorted(assignments):
        category, named = candidates[nid]
        quality = min(high, max(low, rng.gauss(mean, sd))) + (NAMED_BONUS if named else 0)
        profile = [rng.gauss(0, 0.05) for _ in criteria[category]]
        for rid in assignments[nid]:
            style = styles[rid]
            impression = rng.gauss(0, IMPRESSION)  # how this reviewer took to the candidate
            scores, shares, total = {}, {}, 0
            for index, (cid, title, top) in enumerate(criteria[category]):
                share = (
                    mean
                    + style.spread * (quality + profile[index] - mean)
                    + style.bias / 100
                    + taste[rid][index]
                    + impression
                    + rng.gauss(0, style.noise)
                )
                halves = min(top, max(0, round(min(1.0, max(0.2, share)) * top)))
                scores[str(cid)] = _halves(halves)
                shares[title] = halves / top if top else 0.0
                total += halves
            comment = review_comment(rng, shares, total / 2)
            out.append(Scoring(nid, rid, scores, comment))
    opens, closes = window
    span, last = closes - opens, closes - dt.timedelta(minutes=1)
    for rid in sorted(styles):
        mine = [s for s in out if s.reviewer == rid]
        start, end = styles[rid].pace
        times = sorted(
            _office_hours(rng, opens + span * rng.uniform(start, end), opens, last) for _ in mine
        )
        for scoring, at in zip(mine, times, strict=True):
            scoring.submitted_at = at
    return out


async def _has_assignments(campaign: Campaign) -> bool:
    return await Assignment.exists().where(Assignment.nomination.campaign == campaign.id).run()


async def ensure_demo_review(campaign: Campaign) -> None:
    """The demo campaign's expert review, finished (idempotent).

    Does nothing if any of the campaign's candidates has been assigned already.
    Otherwise, in one transaction: the demo rubric for every category without
    criteria, the five demo reviewers on the panel, every shortlisted candidate
    assigned to every reviewer not of its bureau (``review_math.plan_assignments``),
    and submitted scores for all of them inside the reviewing window.
    """
    if await _has_assignments(campaign):
        return
    staff = {
        row["username"]: row
        for row in await Staff.select(Staff.id, Staff.username, Staff.bureau)
        .where(Staff.username.is_in(list(REVIEWERS)))
        .run()
    }
    missing = [name for name in REVIEWERS if name not in staff]
    if missing:
        raise RuntimeError(f"the demo reviewers are missing: {missing}")
    categories = (
        await Category.select(Category.id, Category.key)
        .where(Category.campaign == campaign.id)
        .order_by(Category.position)
        .order_by(Category.id)
        .run()
    )
    rubrics = {}
    for category in categories:
        cleaned, errors = review.parse_criteria(rubric_rows(category["key"]))
        if errors:
            raise AssertionError(f"demo rubric of {category['key']}: {errors}")
        rubrics[category["id"]] = cleaned
    window = reviewing_window(campaign)
    reviewers = {row["id"]: row["bureau"] for row in staff.values()}
    styles = {row["id"]: REVIEWERS[name] for name, row in staff.items()}
    named = {NAMED_OFFICE, NAMED_COMMITTEE, NAMED_MEDIATOR}

    async with write_transaction():
        if await _has_assignments(campaign):  # another process loaded the demo meanwhile
            return
        have = {
            row["category"]
            for row in await Criterion.select(Criterion.category)
            .where(Criterion.category.is_in([c["id"] for c in categories] or [-1]))
            .run()
        }
        new_criteria = [
            Criterion(category=cat_id, position=position, **criterion)
            for cat_id, cleaned in rubrics.items()
            if cat_id not in have
            for position, criterion in enumerate(cleaned)
        ]
        if new_criteria:
            await Criterion.insert(*new_criteria).run()
        criteria: dict[int, list[tuple[int, str, int]]] = {}
        for row in (
            await Criterion.select(
                Criterion.id, Criterion.category, Criterion.title, Criterion.max_points
            )
            .where(Criterion.category.is_in(list(rubrics) or [-1]))
            .order_by(Criterion.position)
            .order_by(Criterion.id)
            .run()
        ):
            top = int(Decimal(row["max_points"]) * 2)
            criteria.setdefault(row["category"], []).append((row["id"], row["title"], top))

        panel = await review.panel_ids(campaign.id)
        new_members = [
            PanelMember(campaign=campaign.id, reviewer=rid)
            for rid in sorted(reviewers)
            if rid not in panel
        ]
        if new_members:
            await PanelMember.insert(*new_members).run()

        nominations = (
            await Nomination.select(
                Nomination.id, Nomination.name, Nomination.category, Nomination.bureau
            )
            .where(
                (Nomination.campaign == campaign.id)
                & (Nomination.status == Status.shortlisted.value)
            )
            .run()
        )
        nominations = [n for n in nominations if n["category"] in criteria]
        plan = review_math.plan_assignments(
            {n["id"]: n["bureau"] for n in nominations}, reviewers, None
        )
        scorings = plan_scores(
            {n["id"]: (n["category"], n["name"] in named) for n in nominations},
            plan.assignments,
            styles,
            criteria,
            window,
        )
        assigned_at = _utc(window[0] - dt.timedelta(days=1))
        if scorings:
            await Assignment.insert(
                *[
                    Assignment(
                        nomination=s.nomination,
                        reviewer=s.reviewer,
                        status=AssignmentStatus.assigned.value,
                        scores=json.dumps(s.scores),
                        comment=s.comment,
                        submitted_at=_utc(s.submitted_at),
                        created_at=assigned_at,
                        updated_at=_utc(s.submitted_at),
                    )
                    for s in scorings
                ]
            ).run()
        campaign.reviewers_per_candidate, campaign.standardise_reviews = 0, False
        await (
            Campaign.update(
                {Campaign.reviewers_per_candidate: 0, Campaign.standardise_reviews: False}
            )
            .where(Campaign.id == campaign.id)
            .run()
        )
        await audit.record(
            ACTOR,
            "review.assign",
            campaign,
            after={
                "criteria": len(new_criteria),
                "panel": len(new_members),
                "new": len(scorings),
                "short": len(plan.short),
                "submitted": len(scorings),
            },
        )


async def _load_nominations(context: DemoContext) -> None:
    await ensure_demo_nominations(await ensure_demo_campaign(), context.var_dir)


async def _load_review(context: DemoContext) -> None:
    await ensure_demo_review(await ensure_demo_campaign())


# What `portal demo` runs of this app: the 2023 nominations, then their expert review.
STEPS = (
    DemoStep("nominations", _load_nominations),
    DemoStep("review", _load_review, after=("nominations",)),
)
