"""The demo's texts and their generator: the real towns of the seven counties, names,
practices, cases and closings, and ``Builder``, which writes a nomination's fields from
them with one seeded ``random.Random`` (the same on every run).

Towns are the real towns of the seven counties; villages, communities, people, phone
numbers, cases and figures are invented (figures in the ranges of the city's 2023
report). The three units the city named in 2023 are real.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from nominations import fields

SEED = 20230615
CST = dt.timezone(dt.timedelta(hours=8))
CITY = "定西市"

JUDICIAL_OFFICE, COMMITTEE, MEDIATOR = "judicial-office", "mediation-committee", "mediator"
# The units the city named in its 2023 designation.
NAMED_OFFICE = "安定区中华路司法所"
NAMED_COMMITTEE = "安定区福台路街道人民调解委员会"
NAMED_MEDIATOR = "李志国"
NAMED_MEDIATOR_COMMITTEE = "安定区香泉镇香泉村人民调解委员会"
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


def success_rate(values: dict[str, Any]) -> str:
    """The success rate shown for a nomination's figures ("" without disputes)."""
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
        rate, mediated = success_rate(values), values["disputes_mediated"]
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
            "rate": success_rate(values),
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
