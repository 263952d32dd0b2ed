"""Proxies a web worker holds in place of the controller's services.

Each has the interface of the service it stands for (``deps.agents.ready(agent)``,
``deps.calls.hold(agent)``, ``deps.wrap_up.owed_calls(agent)``...): a call becomes one
request to the active controller, which runs the real service and sends back its result
or its typed error. The controller only runs what :func:`exposed` lists: the public
operations of those services, never their lifecycle (start, stop, listeners).

A method whose argument is a function (``SupervisorService.send_message``'s delivery to
the pages) cannot cross processes: those run here, on a local instance of the service
that has no link to FreeSWITCH (they do not use it), with this worker's audit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from esl_controller.cluster.rpc import RpcClient
from esl_controller.errors import CallCenterError, InvalidArgument
from esl_controller.esl.commands.base import ApiCommand
from esl_controller.esl.console_policy import ConsolePolicy
from esl_controller.services.console import Completion, ConsoleResult, ConsoleService
from esl_controller.services.provisioning import Provisioner, ProvisioningStore, Report

# What never crosses: the parts' lifecycle and the floor's listener hooks.
LIFECYCLE = frozenset({"start", "stop", "problem", "submit", "handle", "on_changes", "backlog"})


class ControllerOnly(CallCenterError):
    """Something on a web worker tried to reach FreeSWITCH directly."""

    code = "controller_only"
    http_status = 500


def controller_only(command: ApiCommand) -> str:
    raise ControllerOnly(f"{command.name} runs on the controller, not on a web worker")


def exposed(cls: type) -> frozenset[str]:
    """The operations of a service class a web worker may ask the controller for: its
    own public methods (not inherited plumbing), minus the lifecycle."""
    names = set()
    for name, member in vars(cls).items():
        if name.startswith("_") or name in LIFECYCLE:
            continue
        if inspect.isfunction(member):
            names.add(name)
    return frozenset(names)


class RemoteService:
    """``target.method(...)`` on the active controller; ``local`` methods run here."""

    def __init__(self, rpc: RpcClient, target: str, methods: Iterable[str], *,
                 local: object = None, local_methods: Iterable[str] = ()) -> None:  # fmt: skip
        self._rpc = rpc
        self._target = target
        self._methods = frozenset(methods)
        self._local = local
        self._local_methods = frozenset(local_methods)
        # The services' ``api`` attribute: nothing on a web worker may use it.
        self.api: Callable[[ApiCommand], str] = controller_only

    def __getattr__(self, name: str) -> Any:
        if name in self._local_methods and self._local is not None:
            return getattr(self._local, name)
        if name not in self._methods:
            raise AttributeError(f"{self._target}.{name} is not available on a web worker")

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._rpc.call(self._target, name, *args, **kwargs)

        call.__name__ = name
        return call


class RemoteConsole(ConsoleService):
    """The ESL console's lines run on the controller (parsed and audited there); this
    worker's audit records only what never leaves it (``/log``, ``/event``...)."""

    def __init__(self, rpc: RpcClient, *, audit: Callable[..., None] | None) -> None:
        super().__init__(controller_only, audit=audit)
        self.rpc = rpc

    def run(self, user: str, line: object, *, limit: int | None = None) -> ConsoleResult:
        result: ConsoleResult = self.rpc.call("console", "run", user, line, limit=limit)
        return result

    def complete(self, text: str) -> Completion:
        result: Completion = self.rpc.call("console", "complete", text)
        return result


class RemoteProvisioner(Provisioner):
    """The admin API's provisioning: the database is read and written here (shared);
    the commands and the pass that bring FreeSWITCH in line run on the controller."""

    def __init__(self, rpc: RpcClient, store: ProvisioningStore) -> None:
        super().__init__(self._remote_api, store, interval=0)
        self.rpc = rpc

    def _remote_api(self, command: ApiCommand) -> str:
        # The line is parsed again on the controller (check_provisioning_line): only a
        # callcenter_config command its typed builders make identically is run.
        reply: str = self.rpc.call("provisioner", "api", command.line)
        return reply

    def start(self) -> None:  # the controller's provisioner runs the passes
        pass

    def stop(self) -> None:
        pass

    def sync(self, why: str = "change", *, changed: Iterable[str] = ()) -> Report:
        report: Report = self.rpc.call("provisioner", "sync", why, changed=list(changed))
        return report


def check_provisioning_line(line: object) -> ApiCommand:
    """On the controller: a command line a web worker's admin API sent, rebuilt by the
    console's parser into the typed builders; only ``callcenter_config`` commands that
    come out exactly as sent are run (a web worker's admin API makes nothing else)."""
    if not isinstance(line, str):
        raise InvalidArgument("a provisioning command is a line of text")
    command = ConsolePolicy().parse(line)
    if command.name != "callcenter_config" or command.line != line:
        raise InvalidArgument("only callcenter_config commands are provisioned remotely",
                              code="refused")  # fmt: skip
    return command
