"""Several processes over Redis: web workers and controllers (``serve --role``).

* :mod:`.settings` — ``REDIS_URL``, ``REDIS_PREFIX``, ``CONTROLLER_ID``... and the key names.
* :mod:`.lease` — one active controller: ``SET NX PX`` with a fencing token, renewed by a
  compare-and-renew script, lost at once when it cannot be renewed.
* :mod:`.rpc` — a web worker's request to the active controller: a Redis list per lease
  term, a reply list per request, a timeout, typed errors.
* :mod:`.codec` — the JSON that crosses: views, results and errors.
* :mod:`.feed` — the controller's floor changes published in order (with the calls it
  has open, for the next controller) and a web worker's copy of the floor.

Nothing here knows Flask or Socket.IO; ``dashboard/cluster/`` wires these into the roles.
"""
