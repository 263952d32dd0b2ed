"""The real call center server as a subprocess, for browser tests: ``callcenter serve``
in a temporary directory with its own SQLite database, optionally with the in-process
FreeSWITCH simulator (``--simulate``)."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.browser.esl_api import EslApi

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "freeswitch_conf"
SIMULATOR_LINE = re.compile(r"simulator: FreeSWITCH stand-in on 127\.0\.0\.1:(\d+)")
STANDALONE_LINE = re.compile(r"FreeSWITCH simulator: ESL on 127\.0\.0\.1:(\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def callcenter_command() -> list[str]:
    """The venv's ``callcenter`` script next to this Python (else ``python -m``)."""
    script = Path(sys.executable).with_name("callcenter")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "esl_controller.cli"]


class Process:
    """A child process whose output is collected line by line."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.args = args
        self.cwd = cwd
        self.env = env
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines:
                    found = pattern.search(line)
                    if found:
                        return found
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[:2]} exited:\n{self.output()}")
            time.sleep(0.05)
        raise TimeoutError(f"no line matching {pattern.pattern!r}:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        """Die at once, as a crashed process would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class CallCenterServer:
    """``callcenter serve`` on a free port. With ``esl_port`` it connects to a separate
    FreeSWITCH (e.g. a standalone simulator) instead of running ``--simulate``."""

    def __init__(
        self,
        workdir: Path,
        *,
        esl_port: int | None = None,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.extra_env = dict(extra_env or {})
        self.db_path = workdir / "cc.db"
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.esl_port = esl_port
        self.simulate = esl_port is None
        self.process: Process | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DB_URI"] = f"sqlite:///{self.db_path}"
        env.pop("SIP_WSS_URL", None)  # the simulator's phones: the page's "simulator" driver
        if self.esl_port is not None:
            env.update(ESL_HOST="127.0.0.1", ESL_PORT=str(self.esl_port), ESL_PASSWORD="ClueCon")
        env.update(self.extra_env)
        return env

    def start(self, *, wait_connected: bool = True) -> None:
        args = [*callcenter_command(), "serve", "--port", str(self.port)]
        if self.simulate:
            args += ["--simulate", "--conf", str(CONF), "--calls-per-minute", "0"]
        self.process = Process(args, self.workdir, self.env())
        self.process.start()
        if self.simulate:
            self.esl_port = int(self.process.wait_for_line(SIMULATOR_LINE).group(1))
        self.wait_healthy(connected=wait_connected)

    def wait_healthy(self, *, connected: bool = True, timeout: float = 30.0) -> None:
        """Until /health answers (200 once FreeSWITCH is connected, 503 before)."""
        deadline = time.monotonic() + timeout
        wanted = {200} if connected else {200, 503}
        status = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as reply:
                    status = reply.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = None
            if status in wanted:
                return
            if self.process and self.process.proc and self.process.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.process.output()}")
            time.sleep(0.1)
        raise TimeoutError(f"/health never answered {wanted} (last {status}):\n{self.output()}")

    @property
    def esl(self) -> EslApi:
        assert self.esl_port is not None
        return EslApi(self.esl_port)

    def output(self) -> str:
        return self.process.output() if self.process else ""

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def add_customer(self, *, name: str, phone: str, email: str | None = None,
                     company: str | None = None, notes: str | None = None,
                     vip: bool = False) -> int:  # fmt: skip
        with sqlite3.connect(self.db_path) as db:
            cursor = db.execute(
                "INSERT INTO customers (name, phone, email, company, notes, vip) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, phone, email, company, notes, vip),
            )
            return int(cursor.lastrowid or 0)

    def add_user(
        self,
        name: str,
        role: str,
        password: str,
        extension: str | None = None,
        sip_password: str | None = None,
    ) -> None:
        """``callcenter user add`` (for a server started without the demo users)."""
        args = [*callcenter_command(), "user", "add", name, "--role", role, "--password", password,
                "--display-name", name.capitalize()]  # fmt: skip
        if extension:
            args += ["--extension", extension]
        if sip_password:
            args += ["--sip-password", sip_password]
        subprocess.run(args, cwd=self.workdir, env=self.env(), check=True, capture_output=True,
                       timeout=60)  # fmt: skip


class StandaloneSimulator:
    """``callcenter simulate`` in its own process: FreeSWITCH that a test can take away
    (kill) and bring back on the same port."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.process: Process | None = None

    def start(self) -> None:
        args = [*callcenter_command(), "simulate", "--port", str(self.port), "--conf", str(CONF)]
        self.process = Process(args, self.workdir, dict(os.environ))
        self.process.start()
        self.process.wait_for_line(STANDALONE_LINE)

    @property
    def esl(self) -> EslApi:
        return EslApi(self.port)

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def output(self) -> str:
        return self.process.output() if self.process else ""
