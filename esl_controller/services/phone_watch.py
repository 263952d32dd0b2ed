"""Registration drives agent state: an Available agent whose phone goes offline (SIP
unregister or registration expiry, e.g. the browser tab closed or the network dropped) is
paused at once with the reason "Phone offline", so mod_callcenter stops ringing a phone
that cannot answer.

When the phone registers again within ``resume_window`` seconds of that pause (a page
reload: the WebSocket closes, the new page registers ~2 s later), the agent is put back
as they were (Available, or Available (On Demand)) and told so in a notice, but only if
the watch's pause is still the agent's latest choice (no Ready, pause or sign-out since,
by the agent or a supervisor), the agent is still signed in and the switch still has them
On Break (:meth:`AgentService.resume`, under the agent's lock). Later than the window, or
with a window of 0, the agent goes Ready again by hand.

"Offline" means no registration of the user is left. With ``multiple-registrations`` (the
shipped webrtc profile sets ``contact``) a desk phone and the browser are registered side
by side, and one of them un-REGISTERing leaves the other ringing. So a sofia::unregister /
sofia::expire does not decide by itself: the floor asks (a ``phone_check`` change) and
this service answers from its own greenlet with ``sofia_contact */user@domain`` (every
profile; bounded by ``check_timeout``), handing the floor the fact "n registrations
remain" (:class:`RegistrationsLeft`). Contacts the switch already reported gone are not
counted: mod_sofia fires sofia::expire *before* it deletes the expired rows. When the
switch cannot be asked, the event stands (offline), as it did before the question; the
same question after a resync leaves the phone as it was.

Every drop to offline is also told to whoever listens (``dropped``): the agent's page,
whose browser softphone may still believe it is registered. Without
``multiple-registrations`` FreeSWITCH removes *every* registration of a user when one of
its devices un-REGISTERs (a desk phone going away takes the browser's binding with it),
and a registration the switch forgot (restart, ``sofia profile ... flush_inbound_reg``)
is only noticed by the phone at its next refresh; the page re-registers at once instead.

A phone whose WebSocket closed (the agent closed its last browser tab: a page sends no
un-REGISTER as it closes) is told differently: sofia::unregister with reason
``socket-disconnection``, a call-id and no contact, fired *before* mod_sofia deletes the
registration row through the profile's queued SQL (on 1.10.12 ``sofia_contact`` still
listed it 50 ms after the close, and no longer at 100 ms). Asked at once, the switch would
count the departing registration and keep the agent Available with no phone. So the floor
marks such a question ``disconnect`` and the watch asks it later, from a timer greenlet of
its own (never holding up the other questions): after ``settle[0]`` seconds, and, if
registrations still seem to remain, once more at ``settle[1]``. An answer that arrives
after a newer registration event (the page reloaded and registered again) is ignored by
the floor, as every late answer is.

The reconcile loop catches the same condition later if an event was missed; this reacts
to the event itself. It listens to the floor's change records through a queue (the
floor's greenlet only enqueues) and talks to FreeSWITCH from its own greenlet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent
import gevent.pool

from esl_controller.domain.model import AgentView, Change, PhoneCheck, RegistrationsLeft
from esl_controller.errors import CallCenterError, EslTimeout
from esl_controller.esl import replies
from esl_controller.esl.commands import channels as ch
from esl_controller.services.agents import AgentService
from esl_controller.services.worker import QueueWorker

log = logging.getLogger(__name__)
PHONE_OFFLINE = "Phone offline"
TAKING_CALLS = ("Available", "Available (On Demand)")
# How long to wait for sofia_contact (a query of mod_sofia's registration table; it
# answers in milliseconds unless the switch is in trouble).
CHECK_TIMEOUT = 3.0
# When to ask about a registration whose WebSocket closed, in seconds after the event:
# mod_sofia deletes the row a few tens of milliseconds later; the second question is for
# a switch whose SQL queue is slow (it is asked only if registrations still seem left).
SETTLE = (0.5, 2.0)
# How long after its "Phone offline" pause a phone registering again puts the agent back
# (seconds; 0: never, the agent goes Ready by hand).
RESUME_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class Offline:
    """An agent taking calls (``status``) whose phone went offline: to be paused."""

    agent: str
    status: str


@dataclass(frozen=True, slots=True)
class Back:
    """An agent's phone is online again (``at``: monotonic time the floor said so)."""

    agent: str
    at: float


@dataclass(frozen=True, slots=True)
class Paused:
    """A pause of the watch's own: the status it interrupted and the pause's sequence."""

    status: str
    seq: int
    at: float


class PhoneWatch(QueueWorker[Offline | Back | PhoneCheck]):
    def __init__(
        self,
        agents: AgentService,
        *,
        check_timeout: float = CHECK_TIMEOUT,
        settle: tuple[float, ...] = SETTLE,
        resume_window: float = RESUME_WINDOW,
    ) -> None:
        super().__init__()
        self.agents = agents
        self.api = agents.api
        self.floor = agents.floor
        self.check_timeout = check_timeout
        self.settle = settle
        self._later = gevent.pool.Group()  # questions asked after a socket closed
        self.online: dict[str, bool | None] = {}
        self.paused: list[str] = []
        self.resumed: list[str] = []  # put back after their phone came back in time
        self.kept_paused: list[str] = []  # phone back, but too late or a newer choice
        self.resume_window = resume_window
        self._pauses: dict[str, Paused] = {}  # the worker's own (read and written there)
        self.checked = 0  # questions answered (handed back to the floor)
        # Called with the agent's name when FreeSWITCH reports its phone gone (from the
        # floor's greenlet: a listener must only enqueue).
        self.dropped: list[Callable[[str], None]] = []

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            view = change.view
            if change.kind == "phone_check" and isinstance(view, PhoneCheck):
                self.submit(view)
                continue
            if change.kind != "agent" or not isinstance(view, AgentView):
                continue
            was = self.online.get(view.name)
            self.online[view.name] = view.phone_online
            if view.phone_online is False and was is not False:
                # None before: the registration predates this process, the drop is news.
                for listener in self.dropped:
                    try:
                        listener(view.name)
                    except Exception:  # one bad listener must not stop the floor's
                        log.exception("phone drop listener failed for %s", view.name)
            if was is True and view.phone_online is False and view.status in TAKING_CALLS:
                self.submit(Offline(view.name, view.status))
            if was is False and view.phone_online is True and self.resume_window > 0:
                # Decided in the worker, after any pause submitted before (in order).
                self.submit(Back(view.name, time.monotonic()))

    def stop(self) -> None:
        super().stop()
        self._later.kill(block=False)

    def handle(self, item: Offline | Back | PhoneCheck) -> None:
        if isinstance(item, PhoneCheck):
            if item.cause == "disconnect" and self.settle:
                self._later.spawn(self._ask_later, item)
                return
            self._answer(self.check(item))
            return
        if isinstance(item, Back):
            self._resume(item)
            return
        agent = item.agent
        try:
            seq = self.agents.not_ready(agent, PHONE_OFFLINE, by="phone watch")
        except CallCenterError as exc:
            log.warning("could not pause %s after its phone went offline: %s", agent, exc)
            return
        self.paused.append(agent)
        if self.resume_window > 0:
            self._pauses[agent] = Paused(item.status, seq, time.monotonic())
        log.info("paused %s: its phone went offline while %s", agent, item.status)

    def _resume(self, back: Back) -> None:
        """The phone of an agent the watch paused is back: the agent's previous status
        again if within the window and nothing newer was chosen (see the docstring)."""
        paused = self._pauses.pop(back.agent, None)
        if paused is None:
            return
        late = back.at - paused.at
        if late > self.resume_window:
            log.info("%s: phone back %.1fs after its pause (window %gs): stays paused",
                     back.agent, late, self.resume_window)  # fmt: skip
            self.kept_paused.append(back.agent)
            return
        try:
            done = self.agents.resume(back.agent, paused.status, paused.seq, by="phone watch")
        except CallCenterError as exc:
            log.warning("could not put %s back %s after its phone came back: %s",
                        back.agent, paused.status, exc)  # fmt: skip
            self.kept_paused.append(back.agent)
            return
        if not done:
            log.info("%s: phone back, but a newer choice was made since its pause: left as is",
                     back.agent)  # fmt: skip
            self.kept_paused.append(back.agent)
            return
        self.resumed.append(back.agent)
        log.info("put %s back %s: its phone registered again %.1fs after the pause",
                 back.agent, paused.status, late)  # fmt: skip
        self.floor.notice(back.agent, f"Your phone is back: you are {paused.status} again.")

    def _answer(self, answer: RegistrationsLeft) -> None:
        self.floor.registrations_left(answer)
        self.checked += 1

    def _ask_later(self, check: PhoneCheck) -> None:
        """The socket-disconnection form: the row is still there for a moment, so ask
        after ``settle[0]`` and, while registrations still seem to remain, at each later
        mark. Only the last answer goes to the floor (it takes one per question)."""
        waited = 0.0
        answer = RegistrationsLeft(check.user, check.seq, None)
        for mark in self.settle:
            gevent.sleep(max(0.0, mark - waited))
            waited = mark
            answer = self.check(check)
            if not answer.remaining:  # none left, or the switch could not say
                break
        self._answer(answer)

    def check(self, check: PhoneCheck) -> RegistrationsLeft:
        """Ask the switch how many registrations of ``check.user`` remain."""
        try:
            command = ch.sofia_contact_anywhere(check.user, check.domain)
            late = EslTimeout(f"no reply to sofia_contact within {self.check_timeout:g}s")
            with gevent.Timeout(self.check_timeout, late):
                contacts = replies.sofia_contacts(self.api(command))
        except CallCenterError as exc:
            log.warning("could not ask FreeSWITCH whether %s (agent %s) is still registered "
                        "after its %s: %s", check.user, check.agent, check.cause, exc)  # fmt: skip
            return RegistrationsLeft(check.user, check.seq, None)
        gone = {replies.contact_address(contact) for contact in check.gone} - {""}
        left = [c for c in contacts if replies.contact_address(c) not in gone]
        if left and check.cause != "resync":
            log.info("%s of %s (agent %s) went; %d registration(s) remain: still online",
                     check.cause, check.user, check.agent, len(left))  # fmt: skip
        return RegistrationsLeft(check.user, check.seq, len(left))
