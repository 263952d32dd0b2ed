"""Demo and load traffic for the simulator: logged-in agents and Poisson callers.

* ``log_in_agents(n)`` registers the phones of the first ``n`` agents (creating
  directory users, agents and tiers when the configuration has fewer), puts every phone
  in auto-answer after a drawn delay and sets the agents Available / Waiting through the
  same mod_callcenter code ``callcenter_config`` runs, so a controller sees ordinary
  events.
* callers arrive per queue extension with exponential inter-arrival times (a Poisson
  process at ``calls_per_minute`` in total), wait with a drawn patience and hang up
  (abandon) if no agent answered by then, or talk for a drawn time and hang up.

A seed makes a run repeatable; the simulator's speed factor runs minutes in seconds.
API: ``sim_traffic start <calls_per_minute>``, ``sim_traffic stop``,
``sim_traffic talk <mean_seconds>`` (the mean talk time of callers placed from then on,
120 s unless set; a bench sets hours to hold thousands of calls up),
``sim_caller <extension> [number] [name]``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gevent

from esl_controller.simulator.channels.dialstring import DialLeg
from esl_controller.simulator.conf.directory import DirectoryUser
from esl_controller.simulator.mod_callcenter.state import Agent
from esl_controller.simulator.phones import Phone

if TYPE_CHECKING:
    from esl_controller.simulator.wire.simulator import Simulator

log = logging.getLogger(__name__)

FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hiro", "Iris", "José")
LAST_NAMES = ("Smith", "Okafor", "Müller", "Tanaka", "Silva", "Novak", "Haddad", "Kowalski")


@dataclass
class TrafficProfile:
    calls_per_minute: float = 6.0
    mean_patience: float = 90.0
    mean_talk: float = 120.0
    answer_delay: tuple[float, float] = (1.0, 4.0)
    # Callers who call again: (number, name) drawn for callers without a number of their
    # own (the demo seeds these as customers); empty: a random number every time.
    callers: tuple[tuple[str, str], ...] = ()


class Traffic:
    def __init__(self, sim: Simulator, seed: int | None = None) -> None:
        self.sim = sim
        self.rng = random.Random(seed)  # noqa: S311 - traffic shapes, not security
        self.profile = TrafficProfile()
        self.callers_started = 0
        # Agents this object signed in (name -> a queue of theirs): the simulated part of
        # the floor, signed in again after a switch restart.
        self.simulated_agents: dict[str, str] = {}
        self._arrivals: gevent.Greenlet | None = None

    # -- agents ----------------------------------------------------------------------

    def log_in_agents(self, count: int) -> int:
        """Register and log in ``count`` agents; returns how many are logged in."""
        module = self.sim.callcenter
        agents = [a for a in module.tables.agents.values() if a.contact]
        queues = sorted(module.tables.queues)
        extension = 2000
        while len(agents) < count and queues:
            extension += 1
            user = str(extension)
            if user in self.sim.phones.phones:
                continue
            agents.append(self._add_agent(user, queues[extension % len(queues)]))
        logged_in = 0
        for agent in agents[:count]:
            if self._log_in(agent.name):
                logged_in += 1
        return logged_in

    def _add_agent(self, user: str, queue: str) -> Agent:
        """A runtime agent ``<user>@default`` with a phone of its own (not in the
        directory: the simulated floor grows beyond the configuration)."""
        module = self.sim.callcenter
        domain = self.sim.global_vars.get("domain", "127.0.0.1")
        name = f"{user}@default"
        module.api(f"agent add {name} Callback")
        module.api(f"agent set contact {name} [leg_timeout=20]user/{user}@{domain}")
        module.api(f"agent set wrap_up_time {name} 10")
        module.api(f"tier add {queue} {name} 1 1")
        if user not in self.sim.phones.phones:
            port = 40000 + len(self.sim.phones.phones)
            self.sim.phones.phones[user] = Phone(DirectoryUser(user, domain), port)
        return module.tables.agents[name]

    def _log_in(self, name: str) -> bool:
        module = self.sim.callcenter
        agent = module.tables.agents.get(name)
        if agent is None or not agent.contact:
            return False
        user = agent.contact.rsplit("user/", 1)[-1].split("@")[0]
        phone = self.sim.phones.phones.get(user)
        if phone is None:
            return False
        phone.mode = "answer"
        phone.answer_after = self.rng.uniform(*self.profile.answer_delay)
        self.sim.phones.register(user)
        module.api(f"agent set status {agent.name} Available")
        module.api(f"agent set state {agent.name} Waiting")
        self.simulated_agents[name] = next(
            (t.queue for t in module.tables.tiers if t.agent == name), ""
        )
        return True

    def running_rate(self) -> float:
        """Callers per minute while traffic runs, else 0."""
        return self.profile.calls_per_minute if self._arrivals is not None else 0.0

    def after_restart(self, calls_per_minute: float) -> None:
        """The switch was restarted. Callers keep calling; the simulated agents (the
        rest of the floor, whose own software is not the product) sign in again once
        their phones are back, ``reregister_after`` seconds later. Agents missing from
        the reloaded configuration (added at runtime) are added again."""
        if calls_per_minute > 0:
            self.start(calls_per_minute)
        if not self.simulated_agents:
            return
        agents = dict(self.simulated_agents)
        self.simulated_agents.clear()
        restarts = self.sim.restarts

        def sign_in_again() -> None:
            if self.sim.restarts != restarts:
                return  # restarted again meanwhile; that restart signs them in
            module = self.sim.callcenter
            for name, queue in agents.items():
                if name not in module.tables.agents and queue in module.tables.queues:
                    self._add_agent(name.split("@")[0], queue)
                self._log_in(name)

        gevent.spawn_later(self.sim.reregister_after, sign_in_again)

    # -- callers ---------------------------------------------------------------------

    def queue_extensions(self) -> list[str]:
        """Dialplan extensions that run ``callcenter`` (5000, 5001, ...)."""
        found = []
        for extensions in self.sim.core.dialplan.contexts.values():
            for ext in extensions:
                apps = [a.application for c in ext.conditions for a in c.actions]
                if "callcenter" in apps:
                    for cond in ext.conditions:
                        if cond.header == "destination_number" and cond.expression:
                            found.append(cond.expression.strip("^$"))
        return found

    def start(self, calls_per_minute: float) -> None:
        self.stop()
        self.profile.calls_per_minute = calls_per_minute
        if calls_per_minute > 0:
            self._arrivals = gevent.spawn(self._arrive)

    def stop(self) -> None:
        if self._arrivals is not None:
            self._arrivals.kill(block=False)
            self._arrivals = None

    def _arrive(self) -> None:
        extensions = self.queue_extensions()
        if not extensions:
            log.warning("no dialplan extension runs callcenter: no callers")
            return
        rate = self.profile.calls_per_minute / 60.0
        clock = self.sim.clock
        next_at = clock()
        while True:
            # Arrivals follow an absolute schedule, so a busy hub delays a caller but
            # never loses one.
            next_at += self.rng.expovariate(rate)
            self.sim.core.sleep(next_at - clock())
            gevent.spawn(self.caller, self.rng.choice(extensions))

    def caller(
        self,
        extension: str,
        number: str | None = None,
        name: str | None = None,
        *,
        patient: bool = False,
    ) -> None:
        """One caller: dial the queue extension, wait, talk or abandon, hang up.
        A ``patient`` caller (``sim_caller``) waits until answered or cancelled."""
        core = self.sim.core
        self.callers_started += 1
        if number is None and self.profile.callers:
            number, name = self.rng.choice(self.profile.callers)
        number = number or f"555{self.rng.randrange(10**7):07d}"
        name = name or f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        variables = {"origination_caller_id_number": number, "origination_caller_id_name": name}
        a_leg, result = core.outbound.dial(DialLeg(f"loopback/{extension}/default"), variables)
        if result.get() is not True or a_leg is None or a_leg.gone:
            return
        core.start_app(a_leg, "park", "")
        member = core.other_leg(a_leg)
        if member is None:
            return
        patience = float("inf") if patient else self.rng.expovariate(1 / self.profile.mean_patience)
        waited = 0.0
        step = 1.0
        while not member.gone and member.partner is None and waited < patience:
            core.sleep(step)
            waited += step
        if member.gone:
            return
        if member.partner is None:
            core.engine.hangup(member, "NORMAL_CLEARING")  # gave up waiting: abandoned
            return
        core.sleep(self.rng.expovariate(1 / self.profile.mean_talk))
        if not member.gone:
            core.engine.hangup(member, "NORMAL_CLEARING")

    # -- sim_ commands ---------------------------------------------------------------

    def register_api(self) -> None:
        def sim_traffic(args: str) -> str:
            words = args.split()
            if words[:1] == ["stop"]:
                self.stop()
                return "+OK\n"
            if words[:1] == ["start"] and len(words) > 1:
                try:
                    self.start(float(words[1]))
                except ValueError:
                    return "-ERR calls per minute must be a number\n"
                return "+OK\n"
            if words[:1] == ["talk"] and len(words) > 1:
                try:
                    mean_talk = float(words[1])
                except ValueError:
                    mean_talk = 0.0
                if not mean_talk > 0 or mean_talk == float("inf"):
                    return "-ERR mean talk time must be a positive number of seconds\n"
                self.profile.mean_talk = mean_talk
                return "+OK\n"
            return "-ERR usage: sim_traffic start <calls_per_minute> | stop | talk <mean_seconds>\n"

        def sim_caller(args: str) -> str:
            words = args.split(maxsplit=2)
            if not words:
                return "-ERR usage: sim_caller <extension> [number] [name]\n"
            gevent.spawn(self.caller, words[0], *words[1:3], patient=True)
            return "+OK\n"

        def sim_agents(args: str) -> str:
            if not args.strip().isdigit():
                return "-ERR usage: sim_agents <count>\n"
            return f"+OK {self.log_in_agents(int(args.strip()))}\n"

        self.sim.api.register("sim_traffic", sim_traffic)
        self.sim.api.register("sim_caller", sim_caller)
        self.sim.api.register("sim_agents", sim_agents)
