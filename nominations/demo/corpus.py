"""The demo's texts: the real towns of the seven counties, surnames and given names,
practices, cases, quotes and closings (``builder`` writes nominations from them).

Towns are the real towns of the seven counties; villages, communities, people, phone
numbers, cases and figures are invented (figures in the ranges of the city's 2023
report). The three units the city named in 2023 are real.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
CITES = {
    "{court}": "entrusted_court",
    "{police}": "entrusted_police",
    "{conf}": "judicial_confirmations",
    "{spot}": "on_the_spot",
}
