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
