"""``callcenter agent|queue|tier`` and ``callcenter import`` as an administrator runs them:
a real process, a real SQLite file, the simulator over TCP (or no FreeSWITCH at all)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from esl_controller.simulator.wire.simulator import Simulator
from esl_controller.store.engine import make_engine, session_scope
from esl_controller.store.models import Agent, Customer, Tier
from tests.helpers.fixture_replay import CONF
from tests.web.conftest import free_port


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


class Cli:
    def __init__(self, tmp: Path, port: int) -> None:
        self.db = f"sqlite:///{tmp / 'cc.db'}"
        self.env = dict(os.environ, DB_URI=self.db, ESL_HOST="127.0.0.1", ESL_PORT=str(port),
                        SIP_DOMAIN="127.0.0.1", ESL_CONNECT_TIMEOUT="2")  # fmt: skip
        self.cwd = tmp

    def __call__(self, *args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return gevent.get_hub().threadpool.spawn(
            subprocess.run, [sys.executable, "-m", "esl_controller.cli", *args], env=self.env,
            cwd=self.cwd, capture_output=True, text=True, timeout=60,
        ).get()  # fmt: skip

    def count(self, model: type) -> int:
        engine = make_engine(self.db)
        try:
            with session_scope(sessionmaker(engine)) as session:
                return int(session.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            engine.dispose()


def table(text: str) -> list[dict[str, str]]:
    lines = text.strip().splitlines()
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"), strict=True)) for line in lines[1:]]


def test_agent_queue_tier_commands_change_the_database_and_the_switch(
    sim: Simulator, tmp_path: Path
) -> None:
    cli = Cli(tmp_path, sim.port)
    done = cli("agent", "add", "desk7@default", "--contact", "[leg_timeout=15]user/1007@127.0.0.1",
               "--wrap-up-time", "30")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "FreeSWITCH: agent add desk7@default" in done.stdout
    assert "desk7@default" in sim.execute_api("callcenter_config agent list")
    assert sim.execute_api("callcenter_config agent get status desk7@default").strip() == (
        "Logged Out"
    )

    done = cli("tier", "add", "sales@default", "desk7@default", "--level", "2")
    assert done.returncode == 0, done.stderr
    assert "sales@default|desk7@default|Ready|2|1" in sim.execute_api("callcenter_config tier list")
    done = cli("tier", "set", "sales@default", "desk7@default", "--position", "6")
    assert "sales@default|desk7@default|Ready|2|6" in sim.execute_api("callcenter_config tier list")
    assert table(cli("tier", "list").stdout) == [
        {"queue": "sales@default", "agent": "desk7@default", "level": "2", "position": "6"}
    ]

    done = cli("agent", "set", "desk7@default", "--max-no-answer", "5")
    assert done.returncode == 0 and "agent set max_no_answer desk7@default 5" in done.stdout
    rows = table(cli("agent", "list").stdout)
    assert rows[0]["name"] == "desk7@default" and rows[0]["max_no_answer"] == "5"

    done = cli("tier", "del", "sales@default", "desk7@default")
    assert done.returncode == 0, done.stderr
    assert "desk7@default" not in sim.execute_api("callcenter_config tier list")
    done = cli("agent", "del", "desk7@default")
    assert done.returncode == 0, done.stderr
    assert "desk7@default" not in sim.execute_api("callcenter_config agent list")
    assert cli.count(Agent) == 0


def test_values_are_checked_before_anything_is_stored(sim: Simulator, tmp_path: Path) -> None:
    cli = Cli(tmp_path, sim.port)
    for args, message in (
        (("agent", "add", "bad name"), "agent is not a valid name"),
        (("agent", "add", "a@default", "--contact", "user/1000 &bridge"), "space"),
        (("agent", "add", "a@default", "--wrap-up-time", "²"), "whole number"),
        (("queue", "add", "q@default", "--strategy", "loudest-first"), "strategy must be one of"),
        (("queue", "add", "q@default", "--param", "moh-sound=${system(rm)}"), "moh-sound"),
        (("queue", "add", "q@default", "--param", "colour=blue"), "unknown queue setting"),
        (("tier", "add", "support@default", "x@default", "--level", "-1"), "level"),
        (("tier", "set", "support@default", "nobody@default", "--level", "2"), "no tier"),
        (("user", "add", "zed", "--role", "agent", "--extension", "1050", "--password",
          "zed-password", "--queue", "support@default:one"), "level"),
    ):  # fmt: skip
        done = cli(*args)
        assert done.returncode == 1, (args, done.stdout)
        assert message in done.stderr, (args, done.stderr)
    assert cli.count(Agent) == 0 and cli.count(Tier) == 0
    assert sim.execute_api("callcenter_config queue count").strip() == "2"


def test_without_freeswitch_the_change_is_kept_for_the_controller(tmp_path: Path) -> None:
    cli = Cli(tmp_path, free_port())  # nothing listens there
    done = cli("user", "add", "carol", "--role", "agent", "--extension", "1050", "--password",
               "carol-password", "--queue", "support@default:2")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "not reachable" in done.stdout and "next pass" in done.stdout
    rows = table(cli("tier", "list").stdout)
    assert rows == [{"queue": "support@default", "agent": "1050@default", "level": "2",
                     "position": "1"}]  # fmt: skip
    agent = table(cli("agent", "list").stdout)[0]
    assert (agent["user"], agent["contact"]) == ("carol", "user/1050@127.0.0.1")


GOOD_AGENTS = """agent,user,contact,type,wrap_up_time,queues
2001@default,,,callback,15,support@default:1:3;sales@default
2002@default,,[leg_timeout=20]user/2002@127.0.0.1,,,support@default
"""
BAD_AGENTS = """agent,user,wrap_up_time,queues
2001@default,,15,support@default
two words,,15,
2003@default,nobody,,
2004@default,,soon,
2005@default,,,support@default:x
2001@default,,,
"""
GOOD_CUSTOMERS = """name,phone,email,company,vip
Ada Lovelace,+44 20 7946 0000,ada@example.com,Analytical Engines,true
Grace Hopper,5551230001,,Navy,no
"""
BAD_CUSTOMERS = """name,phone,email
Ada Lovelace,5551230000,ada@example.com
,5551230001,
Bob,call me,
Eve,5551230002,not-an-address
"""


def test_import_good_files(sim: Simulator, tmp_path: Path) -> None:
    cli = Cli(tmp_path, sim.port)
    (tmp_path / "agents.csv").write_text(GOOD_AGENTS)
    done = cli("import", "agents.csv")
    assert done.returncode == 0, done.stderr
    assert "2 agents imported" in done.stdout
    tiers = sim.execute_api("callcenter_config tier list")
    assert "support@default|2001@default|Ready|1|3" in tiers
    assert "sales@default|2001@default|Ready|1|1" in tiers
    assert "support@default|2002@default|Ready|1|1" in tiers
    assert "[leg_timeout=20]user/2002@127.0.0.1" in sim.execute_api(
        "callcenter_config agent list 2002@default")  # fmt: skip

    (tmp_path / "customers.csv").write_text(GOOD_CUSTOMERS)
    done = cli("import", "customers.csv")
    assert done.returncode == 0 and "2 customers imported" in done.stdout, done.stderr
    done = cli("import", "customers.csv")  # again: updated, not doubled
    assert done.returncode == 0 and cli.count(Customer) == 2
    engine = make_engine(cli.db)
    with session_scope(sessionmaker(engine)) as session:
        ada = session.scalars(select(Customer).where(Customer.name == "Ada Lovelace")).one()
        assert (ada.phone, ada.vip, ada.company) == ("+442079460000", True, "Analytical Engines")
    engine.dispose()


def test_import_bad_files_reports_every_rejected_row_and_imports_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    cli = Cli(tmp_path, sim.port)
    (tmp_path / "agents.csv").write_text(BAD_AGENTS)
    done = cli("import", "agents.csv")
    assert done.returncode == 1
    assert "5 of 6 row(s) rejected; nothing imported" in done.stderr
    for line, why in ((3, "agent is not a valid name"), (4, "no user nobody"),
                      (5, "wrap-up-time must be a whole number"), (6, "level"),
                      (7, "also on line 2")):  # fmt: skip
        assert any(f"line {line}: " in x and why in x for x in done.stderr.splitlines()), (
            line, done.stderr)  # fmt: skip
    assert cli.count(Agent) == 0 and cli.count(Tier) == 0
    assert "2001@default" not in sim.execute_api("callcenter_config agent list")

    (tmp_path / "customers.csv").write_text(BAD_CUSTOMERS)
    done = cli("import", "customers.csv")
    assert done.returncode == 1
    assert "3 of 4 row(s) rejected" in done.stderr
    assert cli.count(Customer) == 0

    (tmp_path / "customers-2.csv").write_text("full name,phone\nAda,5551230000\n")
    done = cli("import", "customers-2.csv")
    assert done.returncode == 1 and "missing column(s) name" in done.stderr
    assert "unknown column(s) full name" in done.stderr


def test_agent_set_node_moves_it_between_two_switches(tmp_path: Path) -> None:
    """ESL_NODES: each command provisions every node with its own agents; `agent set
    --node fs2` deletes the agent (and its tiers) from the first switch and adds it with
    its tiers to the second; an agent on a call is not moved."""
    sims = [Simulator(port=0, conf_dir=CONF) for _ in range(2)]
    for simulator in sims:
        simulator.start()
    try:
        fs1, fs2 = sims
        cli = Cli(tmp_path, fs1.port)
        cli.env["ESL_NODES"] = f"fs1=127.0.0.1:{fs1.port},fs2=127.0.0.1:{fs2.port}"
        done = cli("agent", "add", "desk7@default", "--contact", "user/1007@127.0.0.1")
        assert done.returncode == 0, done.stderr
        assert cli("tier", "add", "sales@default", "desk7@default").returncode == 0
        assert "desk7@default" in fs1.execute_api("callcenter_config agent list")
        assert "desk7@default" not in fs2.execute_api("callcenter_config agent list")

        done = cli("agent", "set", "desk7@default", "--node", "fs9")
        assert done.returncode == 1 and "no node fs9 in ESL_NODES (fs1, fs2)" in done.stderr

        done = cli("agent", "set", "desk7@default", "--node", "fs2")
        assert done.returncode == 0, done.stderr
        assert "FreeSWITCH fs1: agent del desk7@default (moved to another node)" in done.stdout
        assert "desk7@default" not in fs1.execute_api("callcenter_config agent list")
        assert "desk7@default" not in fs1.execute_api("callcenter_config tier list")
        assert "desk7@default" in fs2.execute_api("callcenter_config agent list")
        assert "sales@default|desk7@default" in fs2.execute_api("callcenter_config tier list")
        assert table(cli("agent", "list").stdout)[0]["node"] == "fs2"

        # On a call on its switch (mod_callcenter's state): refused, nothing changed.
        fs2.execute_api("callcenter_config agent set state desk7@default 'In a queue call'")
        done = cli("agent", "set", "desk7@default", "--node", "")
        assert done.returncode == 1
        assert "desk7@default is on a call (In a queue call)" in done.stderr
        assert table(cli("agent", "list").stdout)[0]["node"] == "fs2"
        assert "desk7@default" in fs2.execute_api("callcenter_config agent list")
    finally:
        for simulator in sims:
            simulator.stop()
