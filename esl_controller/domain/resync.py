"""Resync: FreeSWITCH's lists turned into the same typed events live traffic produces.

After every (re)connect the service reads ``callcenter_config`` (agents, members per
queue) and feeds what it read through :meth:`Floor.apply` as synthetic events — so a
resync and a live event can never disagree about how an agent or a call is modelled.
Rows are dicts keyed by FreeSWITCH's column names (json API or pipe tables alike).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from esl_controller.esl import typed_events as ev

Row = Mapping[str, str]


def _num(value: str | None) -> float | None:
    number = ev.to_int(value)
    return float(number) if number else None


def agent_events(rows: Iterable[Row]) -> list[object]:
    out: list[object] = []
    for row in rows:
        name = row.get("name", "")
        if not name:
            continue
        since = ev.Meta(None, _num(row.get("last_status_change")))
        if row.get("contact"):
            out.append(ev.AgentContactChanged(since, name, row["contact"]))
        out.append(ev.AgentStatusChanged(since, name, row.get("status", "Logged Out")))
        out.append(ev.AgentStateChanged(since, name, row.get("state", "Waiting")))
        out.append(ev.AgentSettingsRead(since, name, ev.to_int(row.get("wrap_up_time")) or 0,
                                        _num(row.get("last_bridge_end"))))  # fmt: skip
    return out


def member_events(rows: Iterable[Row]) -> list[object]:
    out: list[object] = []
    for row in rows:
        state = row.get("state", "")
        if state not in ("Waiting", "Trying", "Answered"):
            continue  # Abandoned rows are history, kept only for resume
        member = ev.MemberInfo(
            queue=row.get("queue", ""),
            member_uuid=row.get("uuid", ""),
            session_uuid=row.get("session_uuid", ""),
            cid_name=row.get("cid_name", ""),
            cid_number=row.get("cid_number", ""),
        )
        joined = _num(row.get("joined_epoch"))
        out.append(ev.MemberQueueStart(ev.Meta(None, joined), member, False))
        if state == "Answered" and row.get("serving_agent"):
            bridged = _num(row.get("bridge_epoch"))
            out.append(
                ev.BridgeAgentStart(
                    ev.Meta(None, bridged),
                    member,
                    row["serving_agent"],
                    None,
                    None,
                    bridged,
                    joined,
                )  # fmt: skip
            )
    return out
