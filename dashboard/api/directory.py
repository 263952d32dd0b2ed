"""Customer records and the people an agent can transfer to."""

from __future__ import annotations

from dashboard.api import schemas as s
from dashboard.api.call import customer_out
from dashboard.api.context import deps
from dashboard.api.registry import Api
from dashboard.db import off_hub
from esl_controller.errors import NotFound
from esl_controller.services.users import UserRecord

MAX_ID = 2**31 - 1


def register(api: Api) -> None:
    @api.endpoint("GET", "/customer/<int:customer_id>", summary="One customer record",
                  tag="customer", response=s.CustomerOut, errors=(404,))  # fmt: skip
    def customer(user: UserRecord, customer_id: int) -> s.CustomerOut:
        if customer_id > MAX_ID:  # no such row, and SQLite cannot even compare it
            raise NotFound(f"no customer {customer_id}")
        found = customer_out(off_hub(lambda: deps().customers.get(customer_id)))
        if found is None:
            raise NotFound(f"no customer {customer_id}")
        return found

    @api.endpoint("GET", "/customer/lookup", summary="The customer record for a phone "
                  "number (customers table, then the CRM); null when unknown", tag="customer",
                  query=s.LookupQuery, response=s.LookupOut)  # fmt: skip
    def customer_lookup(user: UserRecord, query: s.LookupQuery) -> s.LookupOut:
        record = deps().customers.lookup(query.number)  # CRM in its own threads
        return s.LookupOut(customer=customer_out(record))

    @api.endpoint("GET", "/transfer-targets", summary="Agents an agent can transfer to, "
                  "with their live status", tag="call", response=s.TargetsOut)  # fmt: skip
    def transfer_targets(user: UserRecord) -> s.TargetsOut:
        agents = deps().floor.snapshot().agents
        items = []
        for extension, name, agent in off_hub(deps().users.reachable):
            if extension == user.extension:
                continue
            view = agents.get(agent or "")
            items.append(s.TransferTarget(extension=extension, name=name, agent=agent,
                                          status=view.status if view else None,
                                          state=view.state if view else None))  # fmt: skip
        return s.TargetsOut(items=items)
