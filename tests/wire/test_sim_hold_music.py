"""Music on hold in the simulator, played from the shipped freeswitch_conf/ as a real
FreeSWITCH 1.10.12 plays it: the agent's leg is held through the product, the caller's
leg fires PLAYBACK_START for ``local_stream://moh`` and (with ``sndfile_debug on``) the
log names the shipped file; a missing folder gives no PLAYBACK_START and
mod_local_stream's "Unknown source" lines instead; an empty one plays silence."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import socket
from collections.abc import Iterator

import pytest

from esl_controller.esl.client import EslSettings
from esl_controller.esl.events import Event
from esl_controller.services.calls import CallService
from esl_controller.services.link import link_floor
from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import ReplayClient, event_of
from tests.wire.conftest import wait_until

SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "freeswitch_conf"
AGENT = "1000@default"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Floor:
    """The shipped configuration on a simulator, the product's link, and a raw ESL
    connection that watches playback events and the log like fs_cli would."""

    def __init__(self, conf: pathlib.Path) -> None:
        port = free_port()
        self.sim = Simulator(port=port, conf_dir=conf)
        self.sim.start()
        self.client, self.floor = link_floor(EslSettings(port=port, backoff_max=0.5))
        self.floor.start()
        self.client.start()
        assert wait_until(lambda: self.floor.resyncs == 1)
        self.calls = CallService(self.client.api, self.floor)
        self.watch = ReplayClient(port)
        self.watch.send("auth ClueCon\n\n")
        self.watch.send("event plain PLAYBACK_START PLAYBACK_STOP CHANNEL_HOLD\n\n")
        self.watch.send("log 7\n\n")
        assert self.watch.wait(lambda: len(self.watch.got.replies) >= 3)

    def events(self, name: str) -> list[Event]:
        found = [event_of(f) for f in self.watch.got.events
                 if f.content_type == "text/event-plain"]  # fmt: skip
        return [e for e in found if e.name == name]

    def log_lines(self) -> list[str]:
        return [f.text for f in self.watch.got.events if f.content_type == "log/data"]

    def answered_queue_call(self) -> str:
        sim = self.sim
        sim.execute_api("sim_phone 1000 register")
        sim.execute_api("sim_phone 1000 answer 0.1")
        sim.execute_api(f"callcenter_config agent set status {AGENT} Available")
        sim.execute_api(f"callcenter_config agent set state {AGENT} Waiting")
        sim.execute_api("sim_caller 5000 5551230000 Caller")
        assert wait_until(lambda: any(c.agent == AGENT and c.answered_at
                                      for c in self.floor.snapshot().calls.values()))  # fmt: skip
        call = self.calls.current_call(AGENT)
        return call.uuid

    def close(self) -> None:
        self.watch.close()
        self.client.stop()
        self.floor.stop()
        self.sim.stop()


@pytest.fixture
def conf_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "conf"
    shutil.copytree(SHIPPED, target)
    return target


@contextlib.contextmanager
def run(conf: pathlib.Path) -> Iterator[Floor]:
    floor = Floor(conf)
    try:
        yield floor
    finally:
        floor.close()


def test_holding_a_call_plays_the_shipped_file_to_the_caller() -> None:
    with run(SHIPPED) as f:
        member = f.answered_queue_call()
        assert f.sim.execute_api("sndfile_debug on") == "Sndfile Debug: on\n"
        f.calls.hold(AGENT)
        assert f.watch.wait(lambda: f.events("PLAYBACK_START"))
        (start,) = f.events("PLAYBACK_START")
        # The caller's leg (the agent's partner) plays the music: vars.xml's hold_music.
        held = f.events("CHANNEL_HOLD")[0]
        assert start.get("Unique-ID") == held.get("Other-Leg-Unique-ID") == member
        assert start.get("Playback-File-Type") == "local_stream"
        assert start.get("Playback-File-Path") == "local_stream://moh"
        shipped = SHIPPED.resolve() / "sounds" / "moh" / "callcenter-hold.wav"
        assert f.watch.wait(lambda: any(
            f"Opening File [{shipped}] rate [8000hz] channels: [1]" in line
            for line in f.log_lines()))  # fmt: skip
        # local_stream show names the folder the stream plays.
        assert f"location: {shipped.parent}\n" in f.sim.execute_api("local_stream show moh")
        f.calls.unhold(AGENT)
        assert f.watch.wait(lambda: f.events("PLAYBACK_STOP"))
        (stop,) = f.events("PLAYBACK_STOP")
        assert stop.get("Unique-ID") == start.get("Unique-ID")
        assert stop.get("Playback-Status") == "break"
        assert not any("Unknown source" in line for line in f.log_lines())
        # Held again, then the agent hangs up: the caller's music stops with the bridge
        # (PLAYBACK_STOP "break", as a real 1.10.12 does).
        f.calls.hold(AGENT)
        assert f.watch.wait(lambda: len(f.events("PLAYBACK_START")) == 2)
        f.calls.drop(AGENT)
        assert f.watch.wait(lambda: len(f.events("PLAYBACK_STOP")) == 2)
        assert f.events("PLAYBACK_STOP")[1].get("Playback-Status") == "break"


def test_a_missing_music_folder_plays_nothing_and_says_unknown_source(
    conf_copy: pathlib.Path,
) -> None:
    shutil.rmtree(conf_copy / "sounds" / "moh")
    with run(conf_copy) as f:
        f.answered_queue_call()
        f.calls.hold(AGENT)
        assert f.watch.wait(lambda: any("Unknown source default" in line
                                        for line in f.log_lines()))  # fmt: skip
        lines = f.log_lines()
        assert any("[WARNING] mod_local_stream.c:875 Unknown source moh, trying 'default'"
                   in line for line in lines)  # fmt: skip
        assert any("[ERR] mod_local_stream.c:883 Unknown source default" in line
                   for line in lines)  # fmt: skip
        assert f.events("CHANNEL_HOLD")
        assert f.events("PLAYBACK_START") == []  # no music: the page must not claim any
        assert f.sim.execute_api("local_stream show moh").startswith("-ERR Cannot locate")


def test_an_empty_music_folder_runs_a_silent_stream(conf_copy: pathlib.Path) -> None:
    (conf_copy / "sounds" / "moh" / "callcenter-hold.wav").unlink()
    with run(conf_copy) as f:
        f.answered_queue_call()
        f.sim.execute_api("sndfile_debug on")
        f.calls.hold(AGENT)
        # mod_local_stream keeps the stream (nothing in the log): the playback starts,
        # the caller hears silence, and no file is ever opened.
        assert f.watch.wait(lambda: f.events("PLAYBACK_START"))
        assert not any("Opening File" in line or "Unknown source" in line
                       for line in f.log_lines())  # fmt: skip
