"""Demo stories: a dozen published issues of the series, one county draft, one submission.

``ensure_demo_stories(campaign_id)`` writes typical mediation cases (典型案例) and
honourees' deeds (先进事迹) from the seven counties and the city, each about one or two
shortlisted candidates of the campaign, whose names, counties and committees fill the
texts. The parties of the cases and all figures are invented. The published ones get
consecutive series numbers in the order below, through the same numbering as the
city's publish button; their publication dates are spread over the weeks after the
campaign's vote. Idempotent: a story already there (same campaign and title) is kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nominations.candidates import shortlisted_in
from nominations.demo.corpus import NAMED_COMMITTEE, NAMED_MEDIATOR, NAMED_OFFICE
from nominations.tables import Nomination
from portal import audit
from portal.audit import Actor
from portal.db import write_transaction
from portal.tables import Bureau, BureauLevel, Campaign, CategoryKind, Role, Staff
from results.tables import Standing
from stories.publishing import publish_numbered
from stories.tables import Story, StoryCandidate, StoryKind, StoryStatus

OFFICE = CategoryKind.judicial_office.value
COMMITTEE = CategoryKind.mediation_committee.value
MEDIATOR = CategoryKind.mediator.value
CITY = ""  # the city bureau's own, city-wide stories
DAYS_BETWEEN = 6
REAL_NAMES = frozenset({NAMED_OFFICE, NAMED_COMMITTEE, NAMED_MEDIATOR})
GENERAL = "general"
# A trade (行业性专业性) committee's field, by the words of its name.
TRADE_FIELDS = {
    "道路交通": "traffic",
    "劳动争议": "labour",
    "医疗纠纷": "medical",
    "中药材": "herbs",
    "婚姻家庭": "family",
    "物业": "property",
}


def field_of(row: dict[str, Any]) -> str:
    """The field of a candidate's unit: a committee's (a mediator's committee's) trade,
    else GENERAL."""
    unit = row["committee"] if row["kind"] == MEDIATOR else row["name"]
    return next((f for word, f in TRADE_FIELDS.items() if word in (unit or "")), GENERAL)


@dataclass(frozen=True)
class DemoStory:
    kind: StoryKind
    county: str  # a county's name, or CITY
    about: tuple[str, ...]  # the candidate kinds the story is about, in order
    title: str
    body: str
    status: StoryStatus = StoryStatus.published
    # Words preferred in the first candidate's name or committee (a village's case goes
    # to a village committee rather than a township's).
    prefer: tuple[str, ...] = ()
    # The fields whose units may handle the case: GENERAL (a township, village or
    # community committee, a judicial office) and the trade committees' fields (a
    # traffic committee mediates traffic accidents, never a drainage ditch).
    fields: tuple[str, ...] = (GENERAL,)


PUBLISHED = (
    DemoStory(
        StoryKind.case,
        "安定区",
        (COMMITTEE,),
        "一条排水沟引出的邻里积怨——{name}“三步调解法”促和解",
        """\
村民张某与邻居李某两家房屋相连，李某翻修院落时把排水沟改到了两家院墙之间，\
雨季积水渗进张某家的老房墙根。两家为此争吵了大半年，还动过手，村干部几次上门都没谈拢。

接到村民反映后，{name}当天就组织调解员上门。调解员没有急着“断案”，而是先分头听两家把话说完，\
再请村里的老党员一起到现场查看积水痕迹，把事实摆在明处。

第二步是“讲法理”。调解员结合《民法典》关于相邻关系的规定，向两家说明：邻里之间排水应当\
相互提供便利，但不得损害对方的房屋安全。李某认识到改沟确有不妥，张某也承认自己争吵时说了过头话。

第三步是“算细账”。在调解员主持下，双方商定由李某出资将排水沟改为暗管接入村排水渠，\
张某负责清理自家墙根的渗水层，当场签订了调解协议。一周后调解员回访，暗管已经完工，两家重归于好。

**点评：** 相邻关系纠纷看似事小，处理不好容易积怨升级。调解员先听、再讲、后算账，\
把“情、理、法”融在一起，做到了小事不出村、矛盾不上交。""",
        prefer=("村人民调解委员会",),
    ),
    DemoStory(
        StoryKind.deeds,
        "渭源县",
        (MEDIATOR,),
        "{name}：扎根乡村的“和事佬”",
        """\
在{county}，提起{org}的调解员{name}，十里八乡的群众都叫{ta}“和事佬”。从事人民调解工作以来，\
{ta}走遍了辖区的每一条山路，调解各类矛盾纠纷数百件，没有一件因调解不当引发上访或民转刑案件。

{name}有个随身带的小本子，记着辖区每户人家的大事小情。哪家老人身体不好、哪家土地承包有争议、\
哪家外出务工人员工资没结清，{ta}都心里有数。“矛盾发现得早，化解起来就容易。”这是{ta}常说的一句话。

去年秋收时，两户村民因收割机碾压地埂发生争执，眼看就要动手。{name}赶到地头，\
一边拉开双方，一边请来农机手现场说明情况，最后由收割机主赔偿损失、双方各退一步，一场风波当天平息。

多年来，{name}坚持“随叫随到、一调到底”，把群众的事当成自己的事。{ta}说：“老百姓信得过我，\
我就得把每一件事办公道。”""",
    ),
    DemoStory(
        StoryKind.case,
        "陇西县",
        (COMMITTEE,),
        "中药材货款“结”变“解”——{name}调处一起购销合同纠纷",
        """\
陇西是全国有名的中药材集散地。某药材合作社向外地客商供应党参二十余吨，客商以部分货品\
含水量超标为由拒付尾款，双方僵持不下，合作社几十户社员的收入眼看没了着落。

{name}受理后，先请县药材产业协会的专家对留存样品进行检测，确认确有少量批次含水量偏高，\
但大部分货品符合合同约定的标准。事实查清了，双方的争议就小了一大半。

调解员随后组织双方面对面协商，逐条对照合同条款，引导客商认识到整单拒付缺乏依据，\
也请合作社正视部分货品的质量问题。经过两轮协商，双方同意对超标批次按质论价，其余货款七日内付清。

协议签订后，调解员协助双方申请了司法确认，让协议具有强制执行力。款项按期到账，社员们拿到了应得的收入。

**点评：** 涉企涉农纠纷专业性强，借助行业专家查明事实、以合同为依据分清责任，\
再辅以司法确认，既保护了农民利益，也维护了药材市场的诚信环境。""",
        prefer=("中药材", "镇人民调解委员会"),
        fields=("herbs", GENERAL),
    ),
    DemoStory(
        StoryKind.case,
        "通渭县",
        (MEDIATOR,),
        "农民工讨薪有了“快车道”——{name}调解一起欠薪纠纷",
        """\
春节前夕，十二名农民工来到{org}，反映在某工地务工半年，工程结束后包工头以\
“上家没结账”为由拖欠工资共计十余万元。农民工们急着回家过年，情绪十分激动。

调解员{name}一边安抚大家的情绪，一边逐人核对考勤记录和工资条，\
同时联系劳动监察部门和工程发包方，把欠薪的来龙去脉理清楚。

调解中，{name}向包工头讲明《保障农民工工资支付条例》的相关规定，也向发包方说明\
其依法应承担的先行清偿责任。经过一天的连续调解，发包方同意从工程款中直接代付工资。

第三天，十二名农民工全部拿到了工资。临行前，他们给调解员送来一面锦旗，上面写着“为民解忧、情暖人心”。""",
        prefer=("劳动",),
        fields=("labour", GENERAL),
    ),
    DemoStory(
        StoryKind.deeds,
        "渭源县",
        (OFFICE,),
        "{name}：把矛盾纠纷化解在“家门口”",
        """\
{name}立足山区乡镇人口分散、群众办事路远的实际，\
把人民调解工作的触角延伸到每个村组，形成了“村组排查、所站调处、部门联动”的工作格局。

司法所在各村设立调解联络点，选聘村里威望高、热心肠的群众担任信息员，\
每月开展一次矛盾纠纷集中排查。排查出的问题建立台账，明确责任人和化解时限，做到件件有着落。

对于涉及土地流转、婚姻家庭等复杂纠纷，司法所牵头派出所、法庭和乡镇相关部门联合调处，\
并推行“调解+司法确认”，让调解协议“一纸生效”。

近年来，辖区矛盾纠纷调解成功率保持在98%以上，群众满意度逐年提升，\
“有事找调解”已经成为当地群众的共识。""",
    ),
    DemoStory(
        StoryKind.case,
        "岷县",
        (COMMITTEE,),
        "当归地里的地界之争——{name}现场丈量定分止争",
        """\
岷县是“中国当归之乡”，当归种植是许多农户的主要收入来源。{town}两户村民的当归地相邻，\
因地界石在多年前的一场暴雨中被冲走，双方对地界各执一词，眼看当归就要采挖，纠纷一触即发。

{name}接到申请后，调出了第二轮土地承包时的台账和地块图，\
又请来当年参与分地的老村干部，与双方一起到地头现场丈量。

丈量结果显示，双方实际耕种面积都与承包合同基本相符，争议地块只有一条不足半米宽的地埂。\
调解员提出以地埂中线为界、重新埋设界桩的方案，双方都表示认可。

界桩当场埋好，双方在调解协议上签了字。采挖季节，两家还互相帮工，昔日的“冤家”又成了好邻居。""",
        prefer=("村人民调解委员会", "镇人民调解委员会"),
    ),
    DemoStory(
        StoryKind.case,
        CITY,
        (COMMITTEE, OFFICE),
        "一起交通事故损害赔偿纠纷的诉前化解",
        """\
一辆货车与一辆电动三轮车相撞，三轮车驾驶人受伤住院，双方对赔偿数额分歧较大，伤者家属准备起诉。\
法院在立案前征得双方同意，将案件委派给人民调解组织进行诉前调解。

承办此案的{name}调解员仔细研究了交警部门的事故认定书、伤者的医疗票据和伤残鉴定意见，\
按照法律规定逐项核算医疗费、误工费、护理费和伤残赔偿金，列出了清晰的赔偿清单。

调解中，保险公司对部分费用提出异议。调解员请{second}的工作人员一起释法说理，\
对有依据的费用逐项说明，对确实不合理的部分请伤者家属予以核减，双方很快接近了共识。

最终，双方就赔偿总额达成一致，保险公司当场承诺十个工作日内赔付到位，\
调解协议经法院司法确认生效。从委派到结案仅用了十二天，伤者家属省去了诉讼的时间和费用。

**点评：** 这是我市推进“诉调对接”的一个缩影。通过法院委派、调解组织专业调处、司法确认兜底，\
群众的纠纷解决得更快、成本更低。""",
        prefer=("交通",),
        fields=("traffic",),
    ),
    DemoStory(
        StoryKind.deeds,
        "漳县",
        (MEDIATOR,),
        "{name}：“板凳调解”调出乡村和谐",
        """\
一张小板凳、一个保温杯、一个笔记本，这是{org}调解员{name}走村入户的“三件宝”。\
群众有了矛盾，{ta}就搬着板凳坐到院子里，和大家拉家常、讲道理。

“板凳一放，大家就能平心静气地说话。”{name}说，很多纠纷起因都是一口气，\
只要让当事人把心里话说出来，事情就解决了一半。

有一次，一对兄弟因为父亲留下的老宅分割问题多年不来往。{name}先后六次上门，\
陪兄弟俩翻看老照片、回忆父母养育之恩，最终兄弟俩握手言和，按照调解方案分配了老宅。

这些年，{name}用“板凳调解”化解了大量家长里短的纠纷，被群众亲切地称为“板凳调解员”。""",
        fields=(GENERAL, "family"),
    ),
    DemoStory(
        StoryKind.case,
        "安定区",
        (MEDIATOR,),
        "老人赡养起争执，{name}以情释法促和解",
        """\
七十多岁的王大爷育有三个子女，老伴去世后，三个子女对赡养费用分担和轮流照顾的安排意见不一，\
老人一度无人照顾，无奈之下找到了{org}。

调解员{name}没有一上来就谈钱，而是先陪老人聊天，了解老人的生活需求，\
又分别走访三个子女，听取各自的难处。

在调解会上，{name}向子女们讲解《民法典》关于成年子女赡养义务的规定，\
也讲起老人当年含辛茹苦供三个孩子读书的往事，在场的人都红了眼眶。

最终，三个子女商定每月按比例分担赡养费，轮流接老人同住，节假日一起陪老人过。\
调解员每月回访一次，老人的生活有了着落，脸上也有了笑容。""",
        prefer=("婚姻家庭", "村"),
        fields=("family", GENERAL),
    ),
    DemoStory(
        StoryKind.deeds,
        "陇西县",
        (COMMITTEE,),
        "{name}：“党建+调解”激活基层治理末梢",
        """\
{name}坚持以党建引领人民调解工作，把党员骨干充实到调解员队伍中，\
推行“党员联户、网格排查、支部调处”的工作模式，让党员成为化解矛盾的“排头兵”。

调委会建立了“周排查、月研判”制度，每周由网格员入户排查，每月召开一次研判会，\
对可能激化的矛盾提前介入、分级处理，做到早发现、早化解。

针对群众反映集中的土地流转、婚姻家庭和邻里纠纷，调委会制作了通俗易懂的法律明白卡，\
在调解的同时开展普法宣传，引导群众依法理性表达诉求。

近年来，调委会调解的纠纷无一反弹，所在村连续多年保持“零上访、零刑事案件”。""",
        prefer=("村人民调解委员会",),
    ),
    DemoStory(
        StoryKind.case,
        "通渭县",
        (OFFICE,),
        "马铃薯收购合同纠纷的“诉调对接”化解",
        """\
定西是“中国马铃薯之乡”。某马铃薯收购商与三十多户种植户签订订单收购合同，\
收获季节因市场价格下跌，收购商以“品相不达标”为由压价收购，种植户们集体到乡政府反映。

{name}会同乡镇农业服务中心，对种植户的马铃薯随机抽样检验，\
结果显示大部分符合合同约定的规格标准。司法所把检验结果和合同条款一并摆到桌面上。

在司法所主持下，收购商认识到单方面压价违反合同约定，同意对达标马铃薯按合同价收购，\
对少量不达标的按质论价。种植户们也同意配合分拣，加快交货进度。

调解协议经法院司法确认后，收购款在半个月内全部结清。一场可能引发群体性事件的纠纷，\
在“家门口”得到了妥善化解。""",
    ),
    DemoStory(
        StoryKind.deeds,
        "临洮县",
        (MEDIATOR,),
        "{name}：群众身边的“贴心人”",
        """\
{name}是{org}的调解员。多年来，{ta}把调解工作当作一份责任，\
哪里有矛盾就往哪里去，被群众称为“贴心人”。

{name}注重学习，先后参加了市县组织的人民调解业务培训，\
把《民法典》中与群众生活密切相关的条文抄在本子上，调解时随手翻看、现学现用。

{ta}善于用群众听得懂的话讲法律，用身边的事讲道理。\
许多一度剑拔弩张的当事人，经过{ta}的调解，最后握手言和。

“只要群众需要，我就一直干下去。”朴实的话语，道出了一名基层调解员的初心。""",
    ),
)

UNPUBLISHED = (
    DemoStory(
        StoryKind.case,
        "岷县",
        (COMMITTEE,),
        "草场围栏引发的放牧纠纷调解纪实",
        """\
两个村的村民因草场围栏位置发生争执，一方认为围栏占了本村的草场，双方多次发生口角。

{name}接到反映后，及时联系乡镇自然资源所调取草原承包经营权证和界址图……

（待补充：调解过程、协议内容和回访情况）""",
        StoryStatus.draft,
    ),
    DemoStory(
        StoryKind.deeds,
        "漳县",
        (MEDIATOR,),
        "{name}：山区调解路上的“铁脚板”",
        """\
{org}地处山区，村组分散，很多地方车辆开不进去。调解员{name}坚持步行入户，\
一年下来要走上千里山路，群众都说{ta}有一双“铁脚板”。

{ta}把调解室“搬”到田间地头和农家炕头，群众有事不用跑腿，在家门口就能把矛盾说开、把问题解决。

今年以来，{name}参与调解各类纠纷数十件，全部成功化解，\
其中多件是群众积压多年的“老大难”问题。""",
        StoryStatus.submitted,
    ),
)


def _fields(row: dict[str, Any] | None, county: str) -> dict[str, str]:
    """What the texts say about the candidate a story is about."""
    if row is None:
        return {
            "name": f"{county or '定西市'}某调解组织",
            "org": "当地调委会",
            "town": "",
            "ta": "他",
        }
    org = row["committee"] if row["kind"] == MEDIATOR else row["township"]
    return {
        "name": row["name"],
        "org": org or row["county"],
        "town": row["township"] or "",
        "ta": "她" if row["gender"] == "female" else "他",
    }


def _pick(
    candidates: list[dict[str, Any]],
    used: set[int],
    kind: str,
    county: str,
    prefer: tuple[str, ...] = (),
    fields: tuple[str, ...] = (GENERAL,),
) -> dict[str, Any] | None:
    """An unused candidate of this kind: of this county, whose unit's field fits the
    case, with a preferred word in its name or committee, designated in a finished
    campaign, and not one of the real honourees the nomination demo names (their
    invented cases would read as fact) — each as far as the candidates allow, in that
    order. The story is then told of the county of the one picked."""
    pool = [row for row in candidates if row["kind"] == kind and row["id"] not in used]
    if not pool:
        return None

    def rank(row: dict[str, Any]) -> tuple[bool, bool, bool, bool, bool]:
        words = f"{row['name']}{row['committee'] or ''}"
        return (
            bool(county) and row["county"] != county,
            field_of(row) not in fields,
            bool(prefer) and not any(word in words for word in prefer),
            not row["designated"],  # a finished campaign's stories are about its honourees
            row["name"] in REAL_NAMES,
        )

    best = min(pool, key=rank)  # the first of the best, in id order
    used.add(best["id"])
    return best


async def _shortlisted(campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's shortlisted candidates, each marked whether it was designated."""
    designated = {
        row["candidate"]
        for row in await Standing.select(Standing.candidate)
        .where((Standing.campaign == campaign_id) & (Standing.designated == True))  # noqa: E712
        .run()
    }
    rows = (
        await Nomination.select(
            Nomination.id,
            Nomination.name,
            Nomination.committee,
            Nomination.township,
            Nomination.gender,
            Nomination.category.kind.as_alias("kind"),
            Nomination.bureau.short_name.as_alias("county"),
        )
        .where(shortlisted_in(campaign_id))
        .order_by(Nomination.id)
        .run()
    )
    return [{**row, "designated": row["id"] in designated} for row in rows]


async def _bureaus() -> dict[str, int]:
    rows = await Bureau.select(Bureau.id, Bureau.short_name.as_alias("county"), Bureau.level).run()
    found = {row["county"]: row["id"] for row in rows if row["level"] == BureauLevel.county.value}
    city = next((row["id"] for row in rows if row["level"] == BureauLevel.city.value), None)
    if city is not None:
        found[CITY] = city
    return found


async def _clerks() -> dict[int, int]:
    """A county clerk's staff id per bureau id (the author of the county's stories)."""
    rows = (
        await Staff.select(Staff.id, Staff.bureau)
        .where(Staff.role == Role.county_clerk.value)
        .order_by(Staff.id)
        .run()
    )
    clerks: dict[int, int] = {}
    for row in rows:
        clerks.setdefault(row["bureau"], row["id"])
    return clerks


def _first_day(campaign: Campaign) -> dt.datetime:
    """When the series starts: after the campaign's vote, and never in the future."""
    now = dt.datetime.now(dt.UTC)
    latest_start = now - dt.timedelta(days=DAYS_BETWEEN * (len(PUBLISHED) + 1))
    start = campaign.voting_closes_at or latest_start
    return min(start + dt.timedelta(days=3), latest_start).replace(microsecond=0)


async def ensure_demo_stories(campaign_id: int) -> None:
    """The demo series of the campaign (idempotent): a dozen published stories numbered
    in order, a county's draft and a county's submitted story."""
    campaign = await Campaign.objects().where(Campaign.id == campaign_id).first().run()
    if campaign is None:
        raise LookupError(f"no campaign with id {campaign_id}")
    bureaus = await _bureaus()
    clerks = await _clerks()
    candidates = await _shortlisted(campaign_id)
    used: set[int] = set()
    actor = Actor.command_line("演示数据")
    day = _first_day(campaign)
    for index, plan in enumerate((*PUBLISHED, *UNPUBLISHED)):
        first = _pick(candidates, used, plan.about[0], plan.county, plan.prefer, plan.fields)
        # A county's story is told by the county of its subject, should the county have
        # no candidate left that fits (a small campaign).
        story_county = first["county"] if plan.county and first else plan.county
        # The others from the first one's county: a city story is still about one place.
        county = story_county or (first["county"] if first else "")
        picked = [first, *(_pick(candidates, used, kind, county) for kind in plan.about[1:])]
        linked = [row for row in picked if row is not None]
        words = _fields(picked[0], story_county)
        if len(picked) > 1:
            words["second"] = _fields(picked[1], story_county)["name"]
        words["county"] = story_county or "定西市"
        title = plan.title.format(**words)
        exists = (
            await Story.exists()
            .where((Story.campaign == campaign_id) & (Story.title == title))
            .run()
        )
        if exists:
            continue
        bureau = bureaus.get(story_county) or bureaus[CITY]
        at = day + dt.timedelta(days=DAYS_BETWEEN * index)
        await _create(
            actor,
            plan,
            title,
            plan.body.format(**words),
            bureau,
            campaign_id,
            linked,
            clerks.get(bureau) if plan.county else None,
            at,
        )


async def _create(
    actor: Actor,
    plan: DemoStory,
    title: str,
    body: str,
    bureau: int,
    campaign_id: int,
    linked: list[dict[str, Any]],
    author: int | None,
    at: dt.datetime,
) -> None:
    by_county = plan.county != CITY
    # County stories reach the city as submissions; the city publishes them.
    status = StoryStatus.draft if plan.status is StoryStatus.draft else StoryStatus.submitted
    if not by_county and plan.status is StoryStatus.published:
        status = StoryStatus.draft
    story = Story(
        kind=plan.kind.value,
        title=title,
        body=body,
        bureau=bureau,
        campaign=campaign_id,
        status=status.value,
        by_county=by_county,
        created_by=author,
        created_at=at - dt.timedelta(days=2),
        updated_at=at - dt.timedelta(days=1),
        submitted_at=at - dt.timedelta(days=1) if status is StoryStatus.submitted else None,
    )
    async with write_transaction():
        await story.save().run()
        if linked:
            await StoryCandidate.insert(
                *[
                    StoryCandidate(story=story.id, candidate=row["id"], position=i)
                    for i, row in enumerate(linked)
                ]
            ).run()
        await audit.record(actor, "story.create", story, after={"status": status.value})
    if plan.status is not StoryStatus.published:
        return
    await publish_numbered(actor, story.id, status)
    await (
        Story.update({Story.published_at: at, Story.updated_at: at})
        .where(Story.id == story.id)
        .run()
    )
