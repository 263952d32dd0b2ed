"""A user's phone is online while any of its registrations remains: reading
``sofia_contact``'s answer, the question the floor asks when a registration goes, and how
the answer (or its absence) moves the agent's phone state."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gevent
import pytest

from esl_controller.domain.floor import Floor
from esl_controller.domain.model import AgentView, Change, PhoneCheck, RegistrationsLeft
from esl_controller.errors import CommandFailed, InvalidArgument
from esl_controller.esl import replies
from esl_controller.esl import typed_events as ev
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.events import parse_event
from esl_controller.esl.typed_events import typed_event
from esl_controller.services.phone_watch import PhoneWatch

# What mod_sofia answers (contact_callback: ``sofia/<profile>/sip:<contact>`` per
# registration, joined by commas; error/user_not_registered when none).
DESK = "sofia/internal/sip:1000@192.0.2.10:5060"
BROWSER = "sofia/webrtc/sip:k3j2h1@192.0.2.20:51234;transport=ws;fs_nat=yes"
AGENT, USER = "agent1000", "1000"

# -- sofia_contact's reply ---------------------------------------------------------------


def test_registered_contacts_are_listed() -> None:
    assert replies.sofia_contacts(DESK) == [DESK]
    assert replies.sofia_contacts(f"{DESK},{BROWSER}\n") == [DESK, BROWSER]
    # A comma inside one contact's parameters does not make a second registration.
    odd = "sofia/internal/sip:1000@192.0.2.10:5060;x=a,b"
    assert replies.sofia_contacts(f"{odd},{BROWSER}") == [odd, BROWSER]


def test_not_registered_is_no_contact() -> None:
    # Byte for byte what FreeSWITCH 1.10 answered for a user with no registration.
    assert replies.sofia_contacts("error/user_not_registered") == []


@pytest.mark.parametrize(
    "garbage",
    ["", "\n", "-ERR sofia_contact Command not found!\n", "+OK", "error/something_else",
     "hello, world", "-USAGE: sofia_contact [profile/]<user>@<domain>"],
)  # fmt: skip
def test_anything_else_is_an_error_not_a_count(garbage: str) -> None:
    with pytest.raises(CommandFailed):
        replies.sofia_contacts(garbage)


def test_an_event_contact_and_its_dial_string_have_one_address() -> None:
    event = '"Desk" <sip:1000@192.0.2.10:5060;transport=udp>'
    assert replies.contact_address(event) == replies.contact_address(DESK) == "1000@192.0.2.10:5060"
    nat = "<sip:k3j2h1@192.0.2.20:51234;transport=ws;fs_nat=yes;fs_path=<sip:x@10.0.0.1:5066>>"
    assert replies.contact_address(nat) == replies.contact_address(BROWSER)
    assert replies.contact_address('"sip:fake@example.com" <sip:1000@h:1>') == "1000@h:1"
    assert replies.contact_address("no uri here") == ""


def test_the_question_asks_every_profile_and_is_validated() -> None:
    assert ch.sofia_contact_anywhere("1000", "example.com").line == (
        "sofia_contact */1000@example.com"
    )
    for user, domain in [("1000 api reload", "x"), ("1000", "a/b"), ("1000@x", "y"),
                         ("1000~ua", "x"), ("*", "x"), ("", "x")]:  # fmt: skip
        with pytest.raises(InvalidArgument):
            ch.sofia_contact_anywhere(user, domain)


# -- the floor's question and the answer -------------------------------------------------


def registration(kind: str, contact: str, *, host: str = "127.0.0.1", realm: str = "127.0.0.1",
                 expires: int | None = None) -> ev.PhoneRegistration:  # fmt: skip
    return ev.PhoneRegistration(
        ev.Meta(None, 1.0), kind, "internal", USER, realm, contact, "",
        (120 if kind == "register" else 0) if expires is None else expires,
        "127.0.0.1", 5060, "test", host,
    )  # fmt: skip


def floor_with_phone() -> Floor:
    floor = Floor()
    floor.apply(ev.AgentContactChanged(ev.Meta(None, 1.0), AGENT, "user/1000@127.0.0.1"))
    floor.apply(registration("register", "<sip:1000@127.0.0.1:40000>"))
    floor.apply(registration("register", "<sip:1000@127.0.0.1:50000>"))
    assert floor.agents[AGENT].phone_online is True
    return floor


def agent_changes(changes: list[Change]) -> list[AgentView]:
    return [c.view for c in changes if isinstance(c.view, AgentView)]


def one_check(changes: list[Change]) -> PhoneCheck:
    (check,) = [c.view for c in changes if c.kind == "phone_check"]
    assert isinstance(check, PhoneCheck)
    return check


def test_a_registration_gone_is_a_question_and_the_answer_decides() -> None:
    floor = floor_with_phone()
    changes = floor.apply(registration("unregister", "<sip:1000@127.0.0.1:40000>"))
    assert agent_changes(changes) == []  # still online while the switch is asked
    check = one_check(changes)
    assert (check.agent, check.user, check.domain, check.cause) == (AGENT, USER, "127.0.0.1",
                                                                    "unregister")  # fmt: skip
    assert check.gone == ("<sip:1000@127.0.0.1:40000>",)
    assert floor.apply(RegistrationsLeft(USER, check.seq, 1)) == []  # the browser remains
    assert floor.agents[AGENT].phone_online is True
    check = one_check(floor.apply(registration("expire", "<sip:1000@127.0.0.1:50000>")))
    assert check.cause == "expire" and len(check.gone) == 2
    (view,) = agent_changes(floor.apply(RegistrationsLeft(USER, check.seq, 0)))
    assert view.phone_online is False


def test_an_answer_older_than_the_last_registration_event_is_ignored() -> None:
    floor = floor_with_phone()
    check = one_check(floor.apply(registration("unregister", "<sip:1000@127.0.0.1:40000>")))
    floor.apply(registration("register", "<sip:1000@127.0.0.1:40000>"))  # back at once
    assert floor.apply(RegistrationsLeft(USER, check.seq, 0)) == []
    assert floor.agents[AGENT].phone_online is True


def test_no_answer_after_a_drop_means_offline_as_the_event_said() -> None:
    floor = floor_with_phone()
    check = one_check(floor.apply(registration("unregister", "<sip:1000@127.0.0.1:40000>")))
    (view,) = agent_changes(floor.apply(RegistrationsLeft(USER, check.seq, None)))
    assert view.phone_online is False


def test_a_resync_asks_again_about_known_phones_and_no_answer_changes_nothing() -> None:
    floor = floor_with_phone()
    check = one_check(floor.reconcile([], [], None, 2.0))
    assert check.cause == "resync" and check.user == USER
    assert floor.apply(RegistrationsLeft(USER, check.seq, None)) == []
    assert floor.agents[AGENT].phone_online is True
    # A drop missed while the connection was down shows in the resync's answer.
    check = one_check(floor.reconcile([], [], None, 3.0))
    (view,) = agent_changes(floor.apply(RegistrationsLeft(USER, check.seq, 0)))
    assert view.phone_online is False
    # A phone the floor never heard of is not asked about.
    fresh = Floor()
    fresh.apply(ev.AgentContactChanged(ev.Meta(None, 1.0), AGENT, "user/1000@127.0.0.1"))
    assert [c for c in fresh.reconcile([], [], None, 2.0) if c.kind == "phone_check"] == []


def test_the_question_names_the_registration_host_not_an_unknown_realm() -> None:
    floor = floor_with_phone()
    # An un-REGISTER that was not challenged: mod_sofia says realm "unknown".
    changes = floor.apply(registration("unregister", "<sip:1000@127.0.0.1:40000>",
                                       host="pbx.example.com", realm="unknown"))  # fmt: skip
    assert one_check(changes).domain == "pbx.example.com"


def test_without_a_host_to_ask_about_the_event_stands() -> None:
    floor = Floor()
    floor.apply(ev.AgentContactChanged(ev.Meta(None, 1.0), AGENT, "user/1000@127.0.0.1"))
    changes = floor.apply(registration("unregister", "<sip:1000@h:1>", host="", realm=""))
    (view,) = agent_changes(changes)
    assert view.phone_online is False


# -- the watch asking the switch ---------------------------------------------------------


def watch_answering(reply: Any) -> PhoneWatch:
    def api(command: Any) -> str:
        assert command.line == "sofia_contact */1000@127.0.0.1"
        return reply() if callable(reply) else str(reply)

    agents = SimpleNamespace(api=api, floor=None)
    return PhoneWatch(agents, check_timeout=0.2)  # type: ignore[arg-type]


def check(*gone: str) -> PhoneCheck:
    return PhoneCheck(AGENT, USER, "127.0.0.1", 7, gone, "expire")


def test_the_watch_counts_what_the_switch_lists() -> None:
    answer = watch_answering(f"{DESK},{BROWSER}").check(check())
    assert answer == RegistrationsLeft(USER, 7, 2)
    assert watch_answering("error/user_not_registered").check(check()).remaining == 0


def test_a_contact_already_reported_gone_is_not_counted() -> None:
    # sofia::expire fires before mod_sofia deletes the row: sofia_contact may still list it.
    expired = '"" <sip:1000@192.0.2.10:5060>'
    assert watch_answering(DESK).check(check(expired)).remaining == 0
    assert watch_answering(f"{DESK},{BROWSER}").check(check(expired)).remaining == 1


def test_no_usable_answer_is_none() -> None:
    assert watch_answering("-ERR sofia_contact Command not found!").check(check()).remaining is None
    assert watch_answering("garbage").check(check()).remaining is None

    def never() -> str:
        gevent.sleep(30)
        return DESK

    assert watch_answering(never).check(check()).remaining is None  # bounded by the timeout
    bad_user = PhoneCheck(AGENT, "1000 x", "127.0.0.1", 7, (), "unregister")
    assert watch_answering(DESK).check(bad_user).remaining is None


# -- a WebSocket phone whose socket closed (no un-REGISTER) ------------------------------

# mod_sofia's socket-disconnection form of sofia::unregister (sofia.c, nua_i_media_error):
# from-user, from-host, call-id, rpid and reason; no contact, username, realm or expires.
SOCKET_CLOSED = (
    "Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aunregister\n"
    "profile-name: webrtc\nfrom-user: 1000\nfrom-host: 127.0.0.1\n"
    "call-id: k3j2h1a9s8d7f6\nrpid: unknown\nreason: socket-disconnection\n\n"
)


def socket_closed() -> ev.PhoneRegistration:
    view = typed_event(parse_event("text/event-plain", SOCKET_CLOSED.encode()))
    assert isinstance(view, ev.PhoneRegistration)
    return view


def test_the_socket_disconnection_event_is_read() -> None:
    e = socket_closed()
    assert (e.kind, e.user, e.host, e.profile) == ("unregister", USER, "127.0.0.1", "webrtc")
    assert (e.call_id, e.reason) == ("k3j2h1a9s8d7f6", "socket-disconnection")
    assert (e.contact, e.online) == ("", False)


def test_a_socket_that_closed_is_asked_about_as_a_disconnect() -> None:
    floor = floor_with_phone()
    changes = floor.apply(socket_closed())
    assert agent_changes(changes) == []
    check = one_check(changes)
    assert (check.cause, check.gone) == ("disconnect", ())
    (view,) = agent_changes(floor.apply(RegistrationsLeft(USER, check.seq, 0)))
    assert view.phone_online is False
    # An explicit un-REGISTER names its contact and is asked about at once, as before.
    check = one_check(floor.apply(registration("unregister", "<sip:1000@127.0.0.1:40000>")))
    assert check.cause == "unregister"


class Switch:
    """sofia_contact's answers, one per question, the last one repeated."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked = 0

    def __call__(self, command: Any) -> str:
        assert command.line == "sofia_contact */1000@127.0.0.1"
        self.asked += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Answers:
    def __init__(self) -> None:
        self.got: list[RegistrationsLeft] = []

    def registrations_left(self, answer: RegistrationsLeft) -> None:
        self.got.append(answer)


def watch_over(switch: Switch, settle: tuple[float, ...]) -> tuple[PhoneWatch, Answers]:
    answers = Answers()
    agents = SimpleNamespace(api=switch, floor=answers)
    watch = PhoneWatch(agents, check_timeout=0.5, settle=settle)  # type: ignore[arg-type]
    watch.start()
    return watch, answers


def disconnect_check() -> PhoneCheck:
    return PhoneCheck(AGENT, USER, "127.0.0.1", 9, (), "disconnect")


def wait_for(predicate: Any) -> bool:
    for _ in range(500):
        if predicate():
            return True
        gevent.sleep(0.01)
    return bool(predicate())


def test_after_a_socket_closed_the_switch_is_asked_later_and_answered_once() -> None:
    switch = Switch("error/user_not_registered")
    watch, answers = watch_over(switch, (0.05, 0.1))
    watch.submit(disconnect_check())
    assert wait_for(lambda: answers.got)
    assert answers.got == [RegistrationsLeft(USER, 9, 0)]
    assert (switch.asked, watch.checked) == (1, 1)  # nothing left: no second question
    watch.stop()


def test_a_registration_still_listed_is_asked_about_once_more() -> None:
    # A slow switch: the departing registration is still listed at the first question.
    switch = Switch(BROWSER, "error/user_not_registered")
    watch, answers = watch_over(switch, (0.0, 0.05))
    watch.submit(disconnect_check())
    assert wait_for(lambda: answers.got)
    assert answers.got == [RegistrationsLeft(USER, 9, 0)] and switch.asked == 2
    watch.stop()


def test_another_device_that_stays_is_counted_after_both_questions() -> None:
    switch = Switch(DESK)  # the desk phone stays registered
    watch, answers = watch_over(switch, (0.01, 0.03))
    watch.submit(disconnect_check())
    assert wait_for(lambda: answers.got)
    assert answers.got == [RegistrationsLeft(USER, 9, 1)] and switch.asked == 2
    # Other questions are not held up meanwhile: an explicit un-REGISTER is answered at once.
    watch.submit(disconnect_check())
    watch.submit(check())
    assert wait_for(lambda: len(answers.got) == 2)
    assert answers.got[1].seq == 7
    assert wait_for(lambda: len(answers.got) == 3)
    watch.stop()
