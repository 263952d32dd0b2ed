"""Run Kamailio in the foreground as a loopback SIP-over-WebSocket registrar + proxy.

Test helper: writes a config (from ``kamailio.cfg.tmpl``) with digest authentication by HA1
(htable + ``pv_auth_check``) into a temporary directory and runs
``kamailio -f CFG -DD -E -P PIDFILE`` bound to ``127.0.0.1:<port>`` only. ``rpc()`` runs
``kamcmd`` against its control socket (e.g. ``ul.rm location 1000`` drops a registration).
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "kamailio.cfg.tmpl"


def ha1(user: str, realm: str, password: str) -> str:
    """HA1 = md5(user:realm:password), what SIP.js takes as ``authorizationHa1``."""
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_kamailio() -> str | None:
    if shutil.which("kamailio"):
        return shutil.which("kamailio")
    return "/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else None


def find_kamcmd() -> str | None:
    found = shutil.which("kamcmd")
    return found or ("/usr/sbin/kamcmd" if os.path.exists("/usr/sbin/kamcmd") else None)


def find_module_dir() -> str | None:
    """Directory holding websocket.so (package ``kamailio-websocket-modules`` on Debian)."""
    candidates = [os.environ.get("KAMAILIO_MODULE_DIR", "")]
    candidates += sorted(glob.glob("/usr/lib/*/kamailio/modules"))
    for prefix in ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64"):
        candidates.append(f"{prefix}/kamailio/modules")
    for directory in candidates:
        if directory and os.path.exists(os.path.join(directory, "websocket.so")):
            return directory
    return None


class Kamailio:
    """One Kamailio process; ``start()`` may be called again after ``stop()`` (same port)."""

    def __init__(self, workdir: Path, users: dict[str, str], realm: str = "127.0.0.1",
                 port: int | None = None) -> None:  # fmt: skip
        binary = find_kamailio()
        module_dir = find_module_dir()
        if binary is None or module_dir is None:
            raise RuntimeError("kamailio or its websocket module is not installed")
        self.binary = binary
        self.realm = realm
        self.port = port or free_port()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cfg = workdir / "kamailio.cfg"
        self.pidfile = workdir / "kamailio.pid"
        self.logfile = workdir / "kamailio.log"
        # A unix socket path must stay under ~100 bytes: a short directory of its own.
        ctl_dir = tempfile.mkdtemp(prefix="kamctl-")
        weakref.finalize(self, shutil.rmtree, ctl_dir, True)
        self.ctl_socket = os.path.join(ctl_dir, "ctl")
        entries = "\n".join(f'    $sht(ha1=>{user}) = "{value}";' for user, value in users.items())
        text = TEMPLATE.read_text()
        for key, value in {
            "@@WS_PORT@@": str(self.port),
            "@@MODULE_DIR@@": module_dir.rstrip("/") + "/",
            "@@AUTH_SECRET@@": secrets.token_hex(16),
            "@@REALM@@": realm,
            "@@HA1_ENTRIES@@": entries,
            "@@CTL_SOCKET@@": self.ctl_socket,
        }.items():
            text = text.replace(key, value)
        self.cfg.write_text(text)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def check_config(self) -> None:
        out = subprocess.run([self.binary, "-f", str(self.cfg), "-c"], capture_output=True,
                             text=True, timeout=30, check=False)  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"kamailio config check failed:\n{out.stdout}\n{out.stderr}")

    def start(self, timeout: float = 15.0) -> None:
        self._log = open(self.logfile, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [self.binary, "-f", str(self.cfg), "-DD", "-E", "-P", str(self.pidfile),
             "-Y", str(self.workdir), "-w", str(self.workdir)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"kamailio exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kamailio did not listen on 127.0.0.1:{self.port}:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the main process (it stops its children) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def rpc(self, *command: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """One ``kamcmd`` command on this Kamailio's control socket (not checked: a failed
        lookup is an answer too)."""
        kamcmd = find_kamcmd()
        if kamcmd is None:
            raise RuntimeError("kamcmd is not installed (package kamailio)")
        args = [kamcmd, "-s", f"unix:{self.ctl_socket}", *command]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)

    def contacts(self, user: str) -> list[str]:
        """The contacts the registrar holds for ``user`` (``ul.lookup location``)."""
        out = self.rpc("ul.lookup", "location", f"s:{user}")  # s: keeps "1000" a string
        return [line.split(":", 1)[1].strip().strip('"') for line in out.stdout.splitlines()
                if line.strip().startswith("Address:")]  # fmt: skip

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no kamailio log)"
