"""The split roles of ``callcenter serve --role web|controller`` (README "Several
processes"), built from the same parts as the embedded process:

* :mod:`.remote` — what a web worker holds instead of the services: proxies that run each
  call on the active controller (:mod:`esl_controller.cluster.rpc`), with the services'
  own interfaces, so the REST views, pages and Socket.IO handlers are unchanged.
* :mod:`.web` — a web worker: its :class:`~dashboard.deps.Dependencies` (proxies, the
  floor's copy, the database services), the Socket.IO publisher that greets its own
  clients, sign-outs shared through Redis, ``/health``.
* :mod:`.controller` — a controller: the lease, and while it holds it the ESL link, the
  floor, the recorder and the dashboard's parts (as ``serve`` wires them), the request
  server, the floor feed and the Socket.IO emitter; ``/health`` on its own port.
"""
