"""The phase machine of a campaign: the order, the voting window, and the moves.

The order and the rules every campaign shares are the kernel's. The apps add their own,
each from its plugin, at import: a *guard* names what stops a move into a phase
(nominations: no undecided nominations before the review), an *entry step* makes a move
that needs more than the phase column (results: the notice period, the designation).
After any change to a campaign, the *change hooks* run (voting forgets the rules it
caches), so that no caller has to remember them.

The voting window is one predicate for the whole portal: the voting service accepts a
vote, the public pages say "投票进行中", the ledger is published and the tally may run
all by the same rule, so that no page promises a vote the service would refuse, and the
ledger appears exactly when votes stop.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable

from portal import audit, messages
from portal.audit import Actor
from portal.db import VOTES_LOCK, advisory_lock, write_transaction
from portal.errors import Conflict, NotFound, Refused
from portal.tables import PHASE_ORDER, Bureau, BureauLevel, Campaign, Category, Phase

# Phases a campaign may be moved back from: before voting starts nothing public
# has been recorded, so a step back (e.g. to reopen nominations) is safe.
REVERSIBLE_PHASES = frozenset({Phase.nominating, Phase.vetting, Phase.reviewing})

NOT_STARTED = "not_started"
OPEN = "open"
ENDED = "ended"

_VOTING = PHASE_ORDER.index(Phase.voting)
_AFTER_VOTING = frozenset(phase.value for phase in PHASE_ORDER[_VOTING + 1 :])

# What stops a move into a phase, as sentences for the city admin (empty: go).
Guard = Callable[[Campaign], Awaitable[list[str]]]
# Makes the move into its phase itself (re-checking inside its own transaction).
EntryStep = Callable[[Actor, str, Phase], Awaitable[None]]
# Told the slug of a campaign that has just changed (its phase, window or categories).
ChangeHook = Callable[[str], object]


class PhaseRefused(Conflict):
    """A phase move that makes no sense; the message says why (zh-CN)."""

    code = "phase_refused"


class PhaseRegistry:
    """What the apps add to the phase machine: guards, entry steps and change hooks."""

    def __init__(self) -> None:
        self._guards: dict[Phase, list[Guard]] = defaultdict(list)
        self._entries: dict[Phase, EntryStep] = {}
        self._hooks: list[Callable[[], ChangeHook | None]] = []

    def guard(self, phase: Phase, check: Guard) -> None:
        """Refuse a move into ``phase`` while ``check`` names a blocker."""
        if check not in self._guards[phase]:
            self._guards[phase].append(check)

    def entry(self, phase: Phase, step: EntryStep) -> None:
        """Let ``step`` make the move into ``phase`` (after the guards passed)."""
        self._entries[phase] = step

    def on_change(self, hook: ChangeHook) -> None:
        """Call ``hook(slug)`` after a campaign changed. A bound method is held weakly,
        so that a hook never keeps a finished application's services alive."""
        ref: Callable[[], ChangeHook | None]
        if hasattr(hook, "__self__"):
            ref = weakref.WeakMethod(hook)  # type: ignore[arg-type]
        else:

            def ref() -> ChangeHook:
                return hook

        self._hooks.append(ref)

    def changed(self, slug: str) -> None:
        """Run the change hooks for the campaign ``slug`` (after its change committed)."""
        live = []
        for ref in self._hooks:
            hook = ref()
            if hook is not None:
                hook(slug)
                live.append(ref)
        self._hooks = live

    async def blockers(self, campaign: Campaign, goal: Phase) -> list[str]:
        found: list[str] = []
        for check in self._guards[goal]:
            found += await check(campaign)
        return found

    def entry_step(self, goal: Phase) -> EntryStep | None:
        return self._entries.get(goal)


PHASES = PhaseRegistry()
# A move's messages are mailed once it has committed.
PHASES.on_change(messages.wake)


# --- the voting window -------------------------------------------------------------------


def window_status(
    phase: str, opens: dt.datetime | None, closes: dt.datetime | None, now: dt.datetime
) -> str:
    """Where ``now`` falls for a campaign in ``phase`` with this voting window:
    ``"not_started"``, ``"open"`` or ``"ended"``.

    Votes are taken only in the voting phase, from ``opens`` (if set) until ``closes``
    (if set, exclusive). Voting has ended once the campaign has moved past the voting
    phase, or once ``closes`` has passed within it.
    """
    if phase == Phase.voting.value:
        if closes is not None and now >= closes:
            return ENDED
        if opens is not None and now < opens:
            return NOT_STARTED
        return OPEN
    return ENDED if phase in _AFTER_VOTING else NOT_STARTED


def campaign_window(campaign: Campaign, now: dt.datetime) -> str:
    """``window_status`` of a campaign's phase and voting window."""
    return window_status(campaign.phase, campaign.voting_opens_at, campaign.voting_closes_at, now)


def voting_has_closed(campaign: Campaign, now: dt.datetime) -> bool:
    """Whether the campaign's voting is over, so that its ledger is public and it may be
    tallied: the campaign has moved on to tallying (or later), or its window has ended."""
    return campaign_window(campaign, now) == ENDED


def has_reached(campaign: Campaign, phase: Phase) -> bool:
    """Whether the campaign is in ``phase`` or past it."""
    return PHASE_ORDER.index(Phase(campaign.phase)) >= PHASE_ORDER.index(phase)


# --- moves -------------------------------------------------------------------------------


def next_phase(phase: str) -> Phase | None:
    index = PHASE_ORDER.index(Phase(phase))
    return PHASE_ORDER[index + 1] if index + 1 < len(PHASE_ORDER) else None


def previous_phase(phase: str) -> Phase | None:
    current = Phase(phase)
    if current not in REVERSIBLE_PHASES:
        return None
    return PHASE_ORDER[PHASE_ORDER.index(current) - 1]


async def check_phase_move(campaign: Campaign, target: str) -> Phase:
    """Return the target phase if the move makes sense, else raise ``PhaseRefused``."""
    try:
        goal = Phase(target)
    except ValueError:
        raise PhaseRefused(
            f"未知阶段「{target}」；可选：{', '.join(p.value for p in Phase)}。"
        ) from None
    current = Phase(campaign.phase)
    if goal is current:
        raise PhaseRefused(f"活动已处于「{goal.label}」阶段。")
    if current is Phase.published:
        raise PhaseRefused("活动已正式命名，不能再变更阶段。")
    step = PHASE_ORDER.index(goal) - PHASE_ORDER.index(current)
    if step < 0:
        if current not in REVERSIBLE_PHASES or step != -1:
            raise PhaseRefused(
                f"「{current.label}」阶段不能退回到「{goal.label}」："
                "只能在网络投票开始前退回上一阶段。"
            )
        return goal
    if step > 1:
        nxt = PHASE_ORDER[PHASE_ORDER.index(current) + 1]
        raise PhaseRefused(f"阶段须依次推进：下一阶段是「{nxt.label}」。")
    if (
        current is Phase.draft
        and not await Category.exists().where(Category.campaign == campaign.id).run()
    ):
        raise PhaseRefused("请先设置至少一个评选类别。")
    if goal is Phase.voting and not (campaign.voting_opens_at and campaign.voting_closes_at):
        raise PhaseRefused("请先设置网络投票的开始和结束时间。")
    blockers = await PHASES.blockers(campaign, goal)
    if blockers:
        raise PhaseRefused("；".join(blockers))
    return goal


async def _campaign(slug: str) -> Campaign:
    campaign = await Campaign.objects().where(Campaign.slug == slug).first().run()
    if campaign is None:
        raise NotFound("找不到该评选活动。")
    return campaign


async def move_phase(actor: Actor, slug: str, target: str) -> Campaign:
    """Move a campaign to another phase, as the city bureau would (audited).

    A phase with an entry step (the notice, the designation: they set dates) is entered
    by its step after the same checks; any other move only changes the phase.
    """
    try:
        goal = Phase(target)
    except ValueError:
        goal = None
    step = PHASES.entry_step(goal) if goal else None
    if step is not None:
        await check_phase_move(await _campaign(slug), target)
        try:
            await step(actor, slug, goal)  # type: ignore[arg-type]
        except Refused as exc:
            raise PhaseRefused(exc.message) from None
    else:
        async with write_transaction():
            campaign = await _campaign(slug)
            goal = await check_phase_move(campaign, target)
            await enter(actor, campaign, goal, dt.datetime.now(dt.UTC))
    PHASES.changed(slug)
    return await _campaign(slug)


async def enter(
    actor: Actor, campaign: Campaign, phase: Phase, now: dt.datetime, **details: object
) -> None:
    """Save ``campaign`` in ``phase`` (with ``details``, columns of the campaign too, e.g.
    ``notice_days``) and audit the move, inside the caller's write transaction."""
    before = campaign.phase
    # No vote is recorded in the campaign after this move commits (see voting.ledger).
    await advisory_lock(VOTES_LOCK, campaign.id)
    campaign.phase = phase.value
    campaign.updated_at = now
    columns = [Campaign.phase, Campaign.updated_at]
    if phase is Phase.published:
        campaign.finished_at = now
        columns.append(Campaign.finished_at)
    columns += [getattr(Campaign, name) for name in details if hasattr(Campaign, name)]
    await campaign.save(columns).run()
    await audit.record(
        actor,
        "campaign.phase",
        campaign,
        before={"phase": before},
        after={"phase": phase.value, **details},
    )
    await _tell_staff(campaign, Phase(before), phase, now)


async def _tell_staff(campaign: Campaign, before: Phase, phase: Phase, now: dt.datetime) -> None:
    """Message the staff of the organiser and of its nominating bureaus that the campaign
    changed phase (in the move's transaction, dated with it; mailed after it commits)."""
    # The nominating bureaus as portal.campaigns.nominating_bureaus names them (that
    # module imports this one): the organiser's direct subordinates, else the counties.
    where = (
        Bureau.parent == campaign.organiser
        if campaign.organiser is not None
        else Bureau.level == BureauLevel.county.value
    )
    bureau_ids = [row["id"] for row in await Bureau.select(Bureau.id).where(where).run()]
    if campaign.organiser is not None:
        bureau_ids.append(campaign.organiser)
    verb = "退回" if PHASE_ORDER.index(phase) < PHASE_ORDER.index(before) else "进入"
    await messages.notify_bureaus(
        bureau_ids,
        f"{campaign.title}：{verb}「{phase.label}」阶段",
        f"评选活动「{campaign.title}」已由「{before.label}」{verb}「{phase.label}」阶段。",
        f"/campaigns/{campaign.slug}",
        at=now,
    )
