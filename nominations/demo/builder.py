"""The demo's text generator: ``Builder`` writes a nomination's fields (names, places,
figures, deeds, contacts) from the corpus, every choice from one seeded
``random.Random``, so the demo is the same on every run.
"""

from __future__ import annotations

import random
from typing import Any

from nominations import fields
from nominations.demo.corpus import (
    CITES,
    CITY,
    COMMITTEE,
    FEMALE_GIVEN,
    HERBS,
    JUDICIAL_OFFICE,
    MALE_GIVEN,
    MEDIATOR_CLOSINGS,
    MEDIATOR_PRACTICES,
    NAMED_MEDIATOR,
    NICKNAMES,
    OFFICE_PRACTICES,
    PHONE_PREFIXES,
    QUOTES,
    SEED,
    SURNAMES,
    TOWNS,
    TRADE_PRACTICES,
    TRADE_ROADS,
    TRADES,
    UNIT_CLOSINGS,
    UNIT_PRACTICES,
    VILLAGE_PRACTICES,
    Town,
)


class _Gen:
    """The demo's deterministic generator: every choice comes from one seeded Random."""

    def __init__(self, year: int, city: str = CITY, seed: int = SEED) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        self.year = year
        self.city = city  # where the addresses are
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
        """A year's record in the proportions of the city report (46 % on the spot, 3 %
        confirmed; entrusted cases mostly from courts), a model's success rate at or above
        the city's 99.8 % (at most 0.2 % unresolved)."""
        rng = self.rng
        mediated = rng.randint(low, high)
        # The draw is the one the generator always made (every later value stays as it
        # was); scaled so that a model unit or mediator sits above the city's own rate.
        unresolved = rng.randint(0, int(mediated * 0.025))
        resolved = mediated - round(unresolved * 0.08)
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
            # A designee's year had no escalation to a criminal case and no mass incident
            # (the demo's recommendation conditions, see portal.demo.DEMO_CONDITIONS).
            "criminal_escalations": 0,
            "mass_incidents": 0,
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


def _applies(template: str, values: dict[str, Any]) -> bool:
    return all(values[key] for marker, key in CITES.items() if marker in template)


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
            address = f"{self.city}{county}{town.road}{rng.randint(2, 240)}号"
        else:
            address = f"{self.city}{county}{town.name}" + rng.choice(
                ("人民政府院内", "政府大院综合楼二楼", "综治中心一楼")
            )
        values = {
            "name": name,
            "township": town.name,
            "unit_type": "township",
            "address": address,
            **self.figures(180, 900, (0.05, 0.14)),
            # From the name, not the generator: the other figures stay as they were.
            "staff_count": 3 + sum(map(ord, name)) % 4,
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
            address = f"{self.city}{county}{rng.choice(TRADE_ROADS)}{rng.randint(2, 160)}号"
            place, figures = seat.name, self.figures(100, 480, (0.12, 0.3), topic)
        elif unit_type == "township":
            name, short = f"{county}{town.name}人民调解委员会", f"{town.name}调委会"
            address = f"{self.city}{county}{town.name}" + rng.choice(
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
            address = f"{self.city}{county}{town.name}{spot.removesuffix('村')}{suffix}"
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
