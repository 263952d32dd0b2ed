"""Members and offers: the ``callcenter`` application and mod_callcenter's queue manager.

A caller running ``callcenter <queue>`` becomes a member (member-queue-start,
members-count). The queue manager looks at waiting members every few hundred ms, picks
eligible agents by the queue's strategy and offers: agent state Receiving,
agent-offering, then an originate to the agent's contact with mod_callcenter's
``cc_*`` variables. Then one of:

* the agent answers: bridge-agent-start, state ``In a queue call`` and members-count
  (in an order and with a count that depend on the agent's endpoint, see ``_connect``),
  the bridge; when it ends bridge-agent-end and member-queue-end (both with
  ``CC-Hangup-Cause: SUCCESS``, the originate result — quirk 11), state Waiting (wrap-up
  is only the ``last_bridge_end + wrap_up_time`` gate, there is no wrap-up state);
* the caller leaves while the agent rings: member-queue-end Cancel/BREAK_OUT first, then
  the agent leg is cancelled and bridge-agent-fail says ORIGINATOR_CANCEL (quirk 12);
* the agent does not answer: for a no-answer cause agent-max-no-answer and the status
  change come *before* bridge-agent-fail, and the state goes back to Waiting (quirk 13);
  busy, reject and unregistered causes only delay the agent.

Eligibility (``get_queue_agents`` SQL in mod_callcenter.c): status Available or
Available (On Demand), tier Ready or No Answer, state Waiting, wrap-up over, ready_time
passed, no tracked external call when the queue skips those.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent
from gevent.event import Event as GeventEvent

from esl_controller.simulator.channels.bridge import bridge
from esl_controller.simulator.channels.channel import Channel
from esl_controller.simulator.channels.dialstring import parse_dial_string
from esl_controller.simulator.mod_callcenter.state import Agent, Member, Tier
from esl_controller.simulator.sim_event import SimEvent

if TYPE_CHECKING:
    from esl_controller.simulator.channels.core import CallCore
    from esl_controller.simulator.mod_callcenter.module import CallCenterModule

CC_FILE = "mod_callcenter.c"
NO_DELAY_CAUSES = ("ORIGINATOR_CANCEL", "LOSE_RACE")
BUSY_CAUSES = ("USER_BUSY", "NORMAL_CIRCUIT_CONGESTION")


@dataclass
class Waiting:
    """A member's live side: its channel and the offers ringing for it."""

    member: Member
    channel: Channel
    done: GeventEvent = field(default_factory=GeventEvent)
    ringing: dict[str, Channel] = field(default_factory=dict)
    offered: set[str] = field(default_factory=set)
    bridged: bool = False
    last_added: int = 0


# Strategies whose order is not a plain sort of the pool: each member's list is ordered
# on its own (round-robin wraps after the last agent offered among that member's
# candidates; random shuffles them).
UNRANKED_STRATEGIES = ("round-robin", "random")


@dataclass
class _QueueView:
    """A queue as the queue manager sees it during one poll."""

    pool: list[tuple[Tier, Agent]]
    tiers: list[Tier]
    strategy: str
    ranked: list[Agent] | None  # the pool in strategy order (None: order per member)
    levels: list[int]  # each ranked agent's tier level
    tier_levels: list[int] = field(default_factory=list)  # the queue's levels, sorted
    start: int = 0  # ranked agents before this one are no longer Waiting

    def pick(self, offered: set[str], allowed: int, first: bool) -> list[Agent]:
        """The ranked agents a member may be offered: tier level allowed, not offered to
        this member yet, still Waiting (an offer made earlier in the poll reserved it)."""
        assert self.ranked is not None
        ranked, levels = self.ranked, self.levels
        # An agent reserved during this poll stays reserved until the poll is over.
        while self.start < len(ranked) and ranked[self.start].state != "Waiting":
            self.start += 1
        out = []
        for index in range(self.start, len(ranked)):
            agent = ranked[index]
            if levels[index] <= allowed and agent.name not in offered and agent.state == "Waiting":
                out.append(agent)
                if first:
                    break
        return out


class QueueManager:
    def __init__(self, module: CallCenterModule, core: CallCore, poll: float = 0.2) -> None:
        self.module = module
        self.core = core
        self.poll = poll
        self.waiting: dict[str, Waiting] = {}  # by member session uuid
        self.agent_seen: dict[str, int] = {}  # queue -> last time an agent was available
        self._rng = random.Random()  # noqa: S311 - the "random" strategy, not security
        self._loop: gevent.Greenlet | None = None
        core.applications["callcenter"] = self.callcenter_app
        core.applications["callcenter_track"] = self.callcenter_track
        core.dtmf_listeners.append(self.dtmf)
        core.engine.on_hangup.append(self._member_hung_up)

    def start(self) -> None:
        if self._loop is None:
            self._loop = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
            self._loop = None

    # -- events ----------------------------------------------------------------------

    def _fire(self, func: str, line: int, headers: list[tuple[str, str]],
              channel: Channel | None = None) -> None:  # fmt: skip
        channel_headers = channel.headers("CUSTOM") if channel is not None else []
        self.module.fire(
            SimEvent(
                "CUSTOM",
                channel_headers + headers,
                subclass="callcenter::info",
                calling=(CC_FILE, func, line),
            )  # fmt: skip
        )

    def _count(self, queue: str) -> None:
        members = self.module.tables.members
        count = sum(1 for m in members if m.queue == queue and m.state in ("Waiting", "Trying"))
        self._fire("cc_queue_count", 878, [
            ("CC-Queue", queue), ("CC-Action", "members-count"), ("CC-Count", str(count)),
            ("CC-Selection", "Single-Queue"),
        ])  # fmt: skip

    @staticmethod
    def _member_ids(m: Member) -> list[tuple[str, str]]:
        return [("CC-Member-UUID", m.uuid), ("CC-Member-Session-UUID", m.session_uuid)]

    @staticmethod
    def _member_cid(m: Member) -> list[tuple[str, str]]:
        return [("CC-Member-CID-Name", m.cid_name), ("CC-Member-CID-Number", m.cid_number)]

    # -- the member side -------------------------------------------------------------

    def callcenter_app(self, core: CallCore, channel: Channel, data: str) -> None:
        name = data.strip().split()[0] if data.strip() else ""
        if name not in self.module.tables.queues and not self.module.load_queue(name):
            return
        if not channel.answered:
            core.answer(channel)
        now = self.module.now()
        member, resumed = self._resume(name, channel, now), True
        if member is None:
            resumed = False
            member = Member(
                queue=name, uuid=str(uuidlib.uuid4()), session_uuid=channel.uuid,
                cid_number=channel.profile.caller_id_number,
                cid_name=channel.profile.caller_id_name, system_epoch=now, joined_epoch=now,
            )  # fmt: skip
            self.module.tables.members.append(member)
        channel.set_var("cc_side", "member")
        channel.set_var("cc_member_uuid", member.uuid)
        channel.set_var("cc_queue_joined_epoch", str(member.joined_epoch))
        channel.set_var("cc_queue", name)
        entry = Waiting(member, channel)
        self.waiting[channel.uuid] = entry
        action = "member-queue-resume" if resumed else "member-queue-start"
        self._fire("callcenter_function", 3113, [("CC-Queue", name),
                   ("CC-Action", action), *self._member_ids(member),
                   *self._member_cid(member)], channel)  # fmt: skip
        self._count(name)
        entry.done.wait()

    def _resume(self, queue: str, channel: Channel, now: int) -> Member | None:
        """abandoned-resume-allowed: the same caller id coming back within
        discard-abandoned-after takes its old place (and its member uuid) again."""
        loaded = self.module.tables.queues[queue]
        if not loaded.config.flag("abandoned-resume-allowed"):
            return None
        for member in self.module.tables.members:
            if (member.queue == queue and member.state == "Abandoned"
                    and member.cid_number == channel.profile.caller_id_number):  # fmt: skip
                member.state = "Waiting"
                member.session_uuid = channel.uuid
                member.rejoined_epoch = now
                member.abandoned_epoch = 0
                return member
        return None

    def callcenter_track(self, core: CallCore, channel: Channel, data: str) -> None:
        """``callcenter_track <agent>``: while this (non-queue) leg is up the agent counts
        an external call, and queues that skip such agents leave them alone."""
        agent = self.module.tables.agents.get(data.strip())
        if agent is None:
            return
        agent.external_calls_count += 1
        channel.set_var("cc_tracked_agent", agent.name)

        def release() -> None:
            core.engine.wait_hangup(channel)
            agent.external_calls_count = max(0, agent.external_calls_count - 1)

        gevent.spawn(release)

    def dtmf(self, channel: Channel, digits: str) -> None:
        """A caller pressing one of ``cc_exit_keys`` leaves the queue (EXIT_WITH_KEY)."""
        entry = self.waiting.get(channel.uuid)
        keys = channel.variables.get("cc_exit_keys", "")
        if entry is None or entry.bridged or not keys:
            return
        for digit in digits:
            if digit in keys:
                channel.set_var("cc_exit_key", digit)
                self.cancel(entry, "EXIT_WITH_KEY")
                return

    def _member_hung_up(self, channel: Channel) -> None:
        """The caller left: if no agent had answered, the member is abandoned."""
        entry = self.waiting.get(channel.uuid)
        if entry is not None and not entry.bridged:
            self.cancel(entry, "BREAK_OUT")

    def cancel(self, entry: Waiting, reason: str) -> None:
        """The member leaves unanswered: member-queue-end Cancel with ``reason``
        (BREAK_OUT when the caller hung up or was transferred, TIMEOUT, NO_AGENT_TIMEOUT,
        EXIT_WITH_KEY), members-count, ringing offers cancelled. The caller's dialplan
        goes on after ``callcenter`` unless the caller is gone."""
        self.waiting.pop(entry.channel.uuid, None)
        member = entry.member
        now = self.module.now()
        member.state = "Abandoned"
        member.abandoned_epoch = now
        queue = self.module.tables.queues.get(member.queue)
        if queue is not None:
            queue.calls_abandoned += 1
        entry.channel.set_var("cc_cause", "cancel")
        entry.channel.set_var("cc_cancel_reason", reason)
        entry.channel.set_var("cc_queue_canceled_epoch", str(now))
        self._fire("callcenter_function", 3274, [
            ("CC-Queue", member.queue), ("CC-Action", "member-queue-end"),
            ("CC-Member-Leaving-Time", str(now)),
            ("CC-Member-Joined-Time", str(member.joined_epoch)),
            ("CC-Cause", "Cancel"), ("CC-Cancel-Reason", reason),
            *self._member_ids(member), *self._member_cid(member),
        ], entry.channel)  # fmt: skip
        self._count(member.queue)
        for leg in list(entry.ringing.values()):
            gevent.spawn(self.core.engine.hangup, leg, "ORIGINATOR_CANCEL")
        entry.done.set()
        gevent.spawn_later(self._discard_after(member.queue), self._discard, member)

    def _discard_after(self, queue: str) -> float:
        loaded = self.module.tables.queues.get(queue)
        return float(loaded.config.number("discard-abandoned-after")) if loaded else 60.0

    def _discard(self, member: Member) -> None:
        members = self.module.tables.members
        if member in members and member.state == "Abandoned":
            members.remove(member)

    # -- the queue manager -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            # mod_callcenter's queue manager wakes a few times a second of *real* time;
            # at high speed factors that is still often enough, and cheaper.
            gevent.sleep(max(self.poll / self.core.speed, 0.05))
            try:
                self.tick()
            except Exception:  # pragma: no cover - keep the manager alive, like FS's thread
                import logging

                logging.getLogger(__name__).exception("queue manager tick failed")

    def tick(self) -> None:
        now = self.module.now()
        self._note_available_agents(now)
        # One view per queue and poll: its pool, tiers and ranking are shared by every
        # waiting member (10,000 agents and thousands of callers stay linear).
        views: dict[str, _QueueView] = {}
        for entry in sorted(self.waiting.values(), key=lambda e: e.member.joined_epoch):
            member = entry.member
            if entry.channel.gone or member.state not in ("Waiting", "Trying"):
                continue
            config = self.module.tables.queues[member.queue].config
            if self._timed_out(entry, now):
                continue
            view = views.get(member.queue)
            if view is None:
                view = views[member.queue] = self._view(member.queue, now)
            if not view.pool:
                continue
            strategy = config.text("strategy")
            if member.state == "Trying":
                if strategy == "ring-progressively" and not entry.bridged:
                    delay = config.number("ring-progressively-delay") or 10
                    if now - entry.last_added >= delay:
                        self._offer_to(entry, self.eligible(entry, view=view, first=True), now)
                continue
            agents = self.eligible(entry, view=view, first=strategy != "ring-all")
            if not agents:
                continue
            chosen = agents if strategy == "ring-all" else agents[:1]
            member.state = "Trying"
            self._offer_to(entry, chosen, now)

    def _offer_to(self, entry: Waiting, agents: list[Agent], now: int) -> None:
        entry.last_added = now
        for agent in agents:
            agent.state = "Receiving"  # reserved before the greenlet runs
            gevent.spawn(self.offer, entry, agent)

    def _note_available_agents(self, now: int) -> None:
        tables = self.module.tables
        for tier in tables.tiers:
            agent = tables.agents.get(tier.agent)
            if agent is not None and agent.status in ("Available", "Available (On Demand)"):
                self.agent_seen[tier.queue] = now

    def _timed_out(self, entry: Waiting, now: int) -> bool:
        """max-wait-time (TIMEOUT) and max-wait-time-with-no-agent (NO_AGENT_TIMEOUT)."""
        member = entry.member
        config = self.module.tables.queues[member.queue].config
        waited = now - member.joined_epoch
        limit = config.number("max-wait-time")
        if limit > 0 and waited >= limit:
            self.cancel(entry, "TIMEOUT")
            return True
        no_agent = config.number("max-wait-time-with-no-agent")
        reached = config.number("max-wait-time-with-no-agent-time-reached")
        if no_agent > 0 and waited >= reached:
            seen = self.agent_seen.get(member.queue, member.joined_epoch)
            if now - max(seen, member.joined_epoch) >= no_agent:
                self.cancel(entry, "NO_AGENT_TIMEOUT")
                return True
        return False

    def pool(
        self, queue_name: str, now: int, tiers: list[Tier] | None = None
    ) -> list[tuple[Tier, Agent]]:
        """The queue's agents that could take a call now, whoever the caller is
        (computed once per queue and poll, not once per waiting caller)."""
        tables = self.module.tables
        skip_tracked = tables.queues[queue_name].config.flag("skip-agents-with-external-calls")
        out = []
        for tier in tiers if tiers is not None else tables.tiers_ordered(queue_name):
            if tier.state not in ("Ready", "No Answer"):
                continue
            agent = tables.agents.get(tier.agent)
            if agent is None or agent.status not in ("Available", "Available (On Demand)"):
                continue
            if agent.state != "Waiting" or agent.ready_time > now:
                continue
            if agent.last_bridge_end and agent.last_bridge_end + agent.wrap_up_time > now:
                continue
            if skip_tracked and agent.external_calls_count > 0:
                continue
            out.append((tier, agent))
        return out

    def _view(self, queue_name: str, now: int) -> _QueueView:
        config = self.module.tables.queues[queue_name].config
        tiers = self.module.tables.tiers_ordered(queue_name)
        pool = self.pool(queue_name, now, tiers)
        strategy = config.text("strategy")
        if strategy in UNRANKED_STRATEGIES:
            return _QueueView(pool, tiers, strategy, None, [])
        # Sorting the whole pool once and filtering each member's view of it gives the
        # order sorting each member's filtered list would (the sort is stable).
        ranked = self._order(strategy, [(t.level, t.position, a) for t, a in pool])
        level_of = {a.name: t.level for t, a in pool}
        return _QueueView(pool, tiers, strategy, ranked, [level_of[a.name] for a in ranked])

    def eligible(
        self,
        entry: Waiting,
        pool: list[tuple[Tier, Agent]] | None = None,
        *,
        view: _QueueView | None = None,
        first: bool = False,
    ) -> list[Agent]:
        """The agents ``entry`` may be offered to now, in the queue's strategy order
        (only the first one with ``first``)."""
        tables = self.module.tables
        queue = tables.queues[entry.member.queue]
        now = self.module.now()
        if view is None:
            tiers = tables.tiers_ordered(entry.member.queue)
            if pool is None:
                pool = self.pool(entry.member.queue, now, tiers)
            view = _QueueView(pool, tiers, queue.config.text("strategy"), None, [])
        if not view.tier_levels:
            view.tier_levels = sorted({t.level for t in view.tiers})
        allowed = self._allowed_level(entry, view.tiers, now, view.tier_levels)
        if view.ranked is not None:
            return view.pick(entry.offered, allowed, first)
        found = [
            (tier.level, tier.position, agent)
            for tier, agent in view.pool
            if tier.level <= allowed and agent.name not in entry.offered
            and agent.state == "Waiting"
        ]  # fmt: skip
        return self._order(view.strategy, found)

    def _allowed_level(
        self, entry: Waiting, tiers: list[Tier], now: int, levels: list[int] | None = None
    ) -> int:
        """Tier rules: with ``tier-rules-apply`` the next level opens once the member has
        waited ``tier-rule-wait-second`` (times the level with
        ``tier-rule-wait-multiply-level``); with ``tier-rule-no-agent-no-wait`` a level
        with nobody available does not hold the next one back."""
        config = self.module.tables.queues[entry.member.queue].config
        if not config.flag("tier-rules-apply"):
            return 10**9
        if levels is None:
            levels = sorted({t.level for t in tiers})
        if not levels:
            return 10**9
        wait = config.number("tier-rule-wait-second")
        multiply = config.flag("tier-rule-wait-multiply-level")
        no_agent_no_wait = config.flag("tier-rule-no-agent-no-wait")
        waited = now - entry.member.joined_epoch
        allowed = levels[0]
        for index, level in enumerate(levels[1:], start=1):
            needed = wait * (level if multiply else index)
            previous_has_agents = any(
                self.module.tables.agents.get(t.agent) is not None
                and self.module.tables.agents[t.agent].status.startswith("Available")
                for t in tiers if t.level == levels[index - 1]
            )  # fmt: skip
            if waited >= needed or (no_agent_no_wait and not previous_has_agents):
                allowed = level
            else:
                break
        return allowed

    def _order(self, strategy: str, found: list[tuple[int, int, Agent]]) -> list[Agent]:
        if strategy == "longest-idle-agent":
            found.sort(key=lambda f: (f[0], f[2].last_bridge_end, f[1]))
        elif strategy == "agent-with-least-talk-time":
            found.sort(key=lambda f: (f[0], f[2].talk_time, f[1]))
        elif strategy == "agent-with-fewest-calls":
            found.sort(key=lambda f: (f[0], f[2].calls_answered, f[1]))
        elif strategy == "sequentially-by-agent-order":
            found.sort(key=lambda f: (f[0], f[1], f[2].last_offered_call))
        elif strategy == "round-robin":
            # Continue after the agent offered most recently, wrapping around.
            found.sort(key=lambda f: (f[0], f[1]))
            if found:
                last = max(range(len(found)), key=lambda i: found[i][2].last_offered_call)
                if found[last][2].last_offered_call:
                    found = found[last + 1 :] + found[: last + 1]
        elif strategy == "random":
            self._rng.shuffle(found)
        else:  # top-down, ring-all, ring-progressively: level then position
            found.sort(key=lambda f: (f[0], f[1]))
        return [f[2] for f in found]

    # -- one offer -------------------------------------------------------------------

    def offer(self, entry: Waiting, agent: Agent) -> None:
        module, member = self.module, entry.member
        called = module.now()
        agent.last_offered_call = called
        entry.offered.add(agent.name)
        module.set_state(agent, "Receiving")
        self._fire("outbound_agent_thread_run", 1717, [
            ("CC-Queue", member.queue), ("CC-Action", "agent-offering"), ("CC-Agent", agent.name),
            ("CC-Agent-Type", agent.type), ("CC-Agent-System", "single_box"),
            *self._member_ids(member), *self._member_cid(member),
        ])  # fmt: skip
        contact_vars, legs = parse_dial_string(agent.contact or "error/INVALID_GATEWAY")
        variables = {
            **contact_vars,
            "cc_queue": member.queue, "cc_queue_joined_epoch": str(member.joined_epoch),
            "cc_member_uuid": member.uuid, "cc_member_session_uuid": member.session_uuid,
            "cc_member_pre_answer_uuid": member.uuid, "cc_agent": agent.name,
            "cc_agent_type": agent.type, "cc_side": "agent", "loopback_bowout": "false",
            "loopback_bowout_on_execute": "false", "ignore_early_media": "true",
            "origination_caller_id_name": member.cid_name,
            "origination_caller_id_number": member.cid_number,
        }  # fmt: skip
        leg, result = self.core.outbound.dial(
            legs[0], variables, on_created=lambda ch: entry.ringing.__setitem__(agent.name, ch)
        ) if legs else (None, None)  # fmt: skip
        outcome = result.get() if result is not None else "INVALID_GATEWAY"
        entry.ringing.pop(agent.name, None)
        if outcome is True and leg is not None and not leg.gone and not entry.bridged:
            if entry.channel.gone or entry.member.state == "Abandoned":
                self.core.engine.hangup(leg, "ORIGINATOR_CANCEL")
                outcome = "ORIGINATOR_CANCEL"
            else:
                self._connect(entry, agent, leg, called)
                return
        if outcome is True:
            outcome = "LOSE_RACE"
            if leg is not None and not leg.gone:
                self.core.engine.hangup(leg, "LOSE_RACE")
        self._failed(entry, agent, str(outcome), called)

    def _failed(self, entry: Waiting, agent: Agent, cause: str, called: int) -> None:
        module, member = self.module, entry.member
        now = module.now()
        if cause in BUSY_CAUSES:
            agent.ready_time = now + agent.busy_delay_time
        elif cause == "CALL_REJECTED":
            agent.ready_time = now + agent.reject_delay_time
        elif cause == "USER_NOT_REGISTERED":
            agent.ready_time = now + 5
        elif cause not in NO_DELAY_CAUSES:
            agent.no_answer_count += 1
            agent.ready_time = now + agent.no_answer_delay_time
            tier = module.tables.tier(member.queue, agent.name)
            if tier is not None:
                tier.state = "No Answer"
            if agent.max_no_answer > 0 and agent.no_answer_count >= agent.max_no_answer:
                queue = module.tables.queues.get(member.queue)
                status = queue.config.text("agent-no-answer-status") if queue else "On Break"
                self._fire("outbound_agent_thread_run", 2176, [
                    ("CC-Agent", agent.name), ("CC-Action", "agent-max-no-answer"),
                    ("CC-Agent-No-Answer-Count", str(agent.no_answer_count)),
                    ("CC-Agent-No-Answer-Status", status), *self._member_ids(member),
                ])  # fmt: skip
                module.set_status(agent, status)
        self._fire("outbound_agent_thread_run", 2200, [
            ("CC-Queue", member.queue), ("CC-Action", "bridge-agent-fail"),
            ("CC-Hangup-Cause", cause), ("CC-Agent", agent.name), ("CC-Agent-System", "single_box"),
            ("CC-Agent-Called-Time", str(called)), ("CC-Agent-Aborted-Time", str(now)),
            *self._member_ids(member), *self._member_cid(member),
            ("CC-Member-Joined-Time", str(member.joined_epoch)),
        ])  # fmt: skip
        module.set_state(agent, "Waiting")
        if member.state == "Trying" and not entry.ringing and not entry.bridged:
            member.state = "Waiting"
            entry.offered.discard(agent.name)

    def _connect(self, entry: Waiting, agent: Agent, leg: Channel, called: int) -> None:
        module, member, core = self.module, entry.member, self.core
        entry.bridged = True
        # A loopback contact whose far side is already bridged (agent7000's null
        # channel): the agent *is* that far channel; the loopback pair bows out right
        # after bridge-agent-start (README quirk 14).
        loopback_a = leg if leg.variables.get("loopback_leg") == "A" else None
        if loopback_a is not None:
            b_leg = core.other_leg(loopback_a)
            if b_leg is not None and b_leg.partner is not None:
                leg = b_leg.partner
        for other in list(entry.ringing.values()):  # ring-all: the others lose the race
            gevent.spawn(core.engine.hangup, other, "LOSE_RACE")
        answered = module.now()
        # members-count after bridge-agent-start (README quirk 15). It is fired by the
        # member's own thread (callcenter_function) once it leaves its hold-music loop,
        # counting the queue's Waiting and Trying members; the agent's thread meanwhile
        # writes the agent's uuid, the tier (Active Inbound) and the agent state (In a
        # queue call) through the global database lock, and the member becomes Answered
        # on the way. Which thread gets there first depends on how the agent was
        # reached, and FreeSWITCH 1.10.12 showed both, each time the same way:
        # * a phone that rang (user/..., sofia): the bridge breaks the member's hold
        #   music at once, so the member's count comes right after bridge-agent-start,
        #   before "In a queue call", with the member still counted (CC-Count 1 for a
        #   lone caller; sip_agent_hold_transfer.jsonl);
        # * a loopback agent: the agent's thread first waits for the loopback's far
        #   channel to be bridged and bridges the member to that channel only after the
        #   loopback bows out, so the count follows "In a queue call" and the member
        #   is no longer counted (CC-Count 0; call_answered_plain.jsonl).
        counted_until_count = loopback_a is None
        if not counted_until_count:
            member.state = "Answered"
        member.bridge_epoch = answered
        member.serving_agent = agent.name
        member.serving_system = "single_box"
        agent.last_bridge_start = answered
        agent.calls_answered += 1
        agent.no_answer_count = 0
        for key, value in (("cc_side", "agent"), ("cc_queue", member.queue),
                           ("cc_agent", agent.name), ("cc_agent_type", agent.type),
                           ("cc_member_uuid", member.uuid),
                           ("cc_member_session_uuid", member.session_uuid)):  # fmt: skip
            leg.set_var(key, value)
        timing = [("CC-Agent-Called-Time", str(called)), ("CC-Agent-Answered-Time", str(answered))]
        self._fire("outbound_agent_thread_run", 1934, [
            ("CC-Queue", member.queue), ("CC-Action", "bridge-agent-start"),
            ("CC-Agent", agent.name),
            ("CC-Agent-System", "single_box"), ("CC-Agent-UUID", leg.uuid), *timing,
            ("CC-Member-Joined-Time", str(member.joined_epoch)), *self._member_ids(member),
            *self._member_cid(member),
        ], leg)  # fmt: skip
        on_demand = agent.status == "Available (On Demand)"
        if counted_until_count:
            self._count(member.queue)
            member.state = "Answered"
            module.set_state(agent, "In a queue call")
        else:
            module.set_state(agent, "In a queue call")
            self._count(member.queue)
        member_channel = entry.channel
        if loopback_a is not None and leg is not loopback_a:
            core.bow_out(loopback_a)
        member_channel.set_var("cc_agent_uuid", leg.uuid)
        member_channel.set_var("cc_agent_bridged", "true")
        member_channel.set_var("cc_agent", agent.name)
        member_channel.set_var("cc_queue_answered_epoch", str(answered))
        member_channel.set_var("cc_cause", "answered")
        leg.set_var("cc_agent_bridged", "true")
        bridge(core, member_channel, leg)
        ended = module.now()
        agent.last_bridge_end = ended
        agent.talk_time += ended - answered
        self._fire("outbound_agent_thread_run", 2062, [
            ("CC-Queue", member.queue), ("CC-Action", "bridge-agent-end"),
            ("CC-Hangup-Cause", "SUCCESS"), ("CC-Agent", agent.name),
            ("CC-Agent-System", "single_box"), ("CC-Agent-UUID", leg.uuid),
            ("CC-Agent-Bridged", "true"), *timing,
            ("CC-Member-Joined-Time", str(member.joined_epoch)),
            ("CC-Bridge-Terminated-Time", str(ended)), *self._member_ids(member),
            *self._member_cid(member),
        ], leg)  # fmt: skip
        member_channel.set_var("cc_queue_terminated_epoch", str(ended))
        self._fire("outbound_agent_thread_run", 2098, [
            ("CC-Queue", member.queue), ("CC-Action", "member-queue-end"),
            ("CC-Hangup-Cause", "SUCCESS"), ("CC-Cause", "Terminated"), ("CC-Agent", agent.name),
            ("CC-Agent-System", "single_box"), ("CC-Agent-UUID", leg.uuid), *timing,
            ("CC-Member-Leaving-Time", str(ended)),
            ("CC-Member-Joined-Time", str(member.joined_epoch)), *self._member_ids(member),
            *self._member_cid(member),
        ], member_channel)  # fmt: skip
        queue = module.tables.queues.get(member.queue)
        if queue is not None:
            queue.calls_answered += 1
        # Available (On Demand) agents are parked in Idle after a call (reference §2.6).
        module.set_state(agent, "Idle" if on_demand else "Waiting")
        if member in module.tables.members:
            module.tables.members.remove(member)
        self.waiting.pop(member.session_uuid, None)
        entry.done.set()
