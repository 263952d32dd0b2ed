"""The ``callcenter`` command line as a user runs it: the terminal console against the
simulator, its allowlist, and a clear message for a wrong password."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import gevent
import pytest

from esl_controller.simulator.wire.simulator import Simulator
from tests.helpers.fixture_replay import CONF


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(port=0, password="s3cret", conf_dir=CONF)
    simulator.start()
    yield simulator
    simulator.stop()


def run_cli(sim: Simulator, *args: str, password: str = "s3cret") -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, ESL_HOST="127.0.0.1", ESL_PORT=str(sim.port), ESL_PASSWORD=password)
    # The simulator runs in this process's gevent hub: run the CLI in a thread pool so the
    # hub keeps serving it while we wait.
    pool = gevent.get_hub().threadpool
    return pool.spawn(
        subprocess.run,
        [sys.executable, "-m", "esl_controller.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).get()


def test_console_runs_one_command(sim: Simulator) -> None:
    done = run_cli(sim, "console", "-x", "callcenter_config queue count")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2\n"


def test_console_refuses_what_the_allowlist_refuses(sim: Simulator) -> None:
    done = run_cli(sim, "console", "-x", "system reboot")
    assert done.returncode == 1
    assert "not allowed" in done.stderr


def test_console_says_clearly_when_the_password_is_wrong(sim: Simulator) -> None:
    done = run_cli(sim, "console", "-x", "status", password="nope")
    assert done.returncode == 1
    assert "ESL_PASSWORD" in done.stderr


def test_db_upgrade_creates_the_schema(sim: Simulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    os.environ["DB_URI"] = f"sqlite:///{tmp_path / 'cc.db'}"
    try:
        done = run_cli(sim, "db", "upgrade")
    finally:
        del os.environ["DB_URI"]
    assert done.returncode == 0, done.stderr
    assert "schema up to date" in done.stdout
    assert (tmp_path / "cc.db").stat().st_size > 0


def test_serve_simulate_with_a_taken_demo_extension_and_the_console_beside_it(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """`make run` after someone created a user on extension 1000: alice is skipped with
    a message instead of a traceback, the other demo users are printed, and a console in
    the same folder reaches the in-process simulator, sim_ commands included."""
    import signal
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESL_")}
    env["DB_URI"] = f"sqlite:///{tmp_path / 'cc.db'}"
    env["PYTHONUNBUFFERED"] = "1"  # the prints and the log lines in the order they happen
    pool = gevent.get_hub().threadpool

    def cli(*args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return pool.spawn(
            subprocess.run, [sys.executable, "-m", "esl_controller.cli", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        ).get()  # fmt: skip

    made = cli("user", "add", "carol", "--role", "agent", "--extension", "1000",
               "--password", "carol-pass-1")  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = tmp_path / "serve.out"
    with out.open("w") as sink:
        serve = subprocess.Popen(
            [sys.executable, "-m", "esl_controller.cli", "serve", "--simulate",
             "--port", str(web_port)],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "dashboard:" not in out.read_text() and serve.poll() is None:
            assert time.monotonic() < deadline, out.read_text()
            gevent.sleep(0.1)
        gevent.sleep(0.3)  # the demo lines follow the dashboard line
        text = out.read_text()
        assert serve.poll() is None, text
        assert "Traceback" not in text
        assert "demo user alice skipped: agent 1000@default belongs to user carol" in text
        demo_lines = [line.split()[2] for line in text.splitlines() if line.startswith("  demo ")]
        assert demo_lines == ["bob", "sue", "eve"]
        assert (tmp_path / "instance" / "simulator.port").is_file()

        phones = cli("console", "-x", "sim_phones")
        assert phones.returncode == 0, phones.stderr
        assert phones.stdout.startswith("user|registration|mode\n")
        # Carol's agent is a person's: the simulated floor leaves it Logged Out.
        status = cli("console", "-x", "callcenter_config agent get status 1000@default")
        assert status.stdout.strip() == "Logged Out"
        restart = cli("console", "-x", "sim_restart 0.2")
        assert restart.returncode == 0, restart.stderr
        assert restart.stdout.startswith("+OK restarting")
        deadline = time.monotonic() + 30
        while True:  # the dashboard's link comes back by itself
            again = cli("console", "-x", "status")
            if again.returncode == 0 and again.stdout.startswith("UP "):
                break
            assert time.monotonic() < deadline, again.stderr
            gevent.sleep(0.2)
        # Against the simulator only: a console given ESL_PORT does not offer sim_.
        env["ESL_PORT"] = (tmp_path / "instance" / "simulator.port").read_text().strip()
        refused = cli("console", "-x", "sim_phones")
        assert refused.returncode == 1
        assert "not allowed" in refused.stderr
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
    assert not (tmp_path / "instance" / "simulator.port").exists()


def test_demo_users_skip_what_is_taken_and_are_idempotent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import sessionmaker

    from esl_controller.entrypoints.demo import ensure_demo_users, product_agent_extensions
    from esl_controller.services.users import UserService
    from esl_controller.store.engine import make_engine
    from esl_controller.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    engine = make_engine(url)
    users = UserService(sessionmaker(engine))
    # Someone's own users: "bob" by name, and extension 1090 (sue's) as a supervisor.
    users.add("bob", "supervisor", "bobs-own-password")
    users.add("zoe", "supervisor", "zoe-password-1", extension="1090")
    said: list[str] = []
    present = ensure_demo_users(users, "127.0.0.1", said.append)
    assert [u[0] for u in present] == ["alice", "eve"]
    assert said == [
        "demo user bob skipped: a user named bob already exists",
        "demo user sue skipped: extension 1090 belongs to another user",
    ]
    assert users.authenticate("bob", "bobs-own-password") is not None  # untouched
    # The next start finds the demo users it made (by their demo passwords) and skips the
    # same two again.
    again: list[str] = []
    assert [u[0] for u in ensure_demo_users(users, "127.0.0.1", again.append)] == ["alice", "eve"]
    assert again == said
    assert product_agent_extensions(users) == ["1000"]
    engine.dispose()
