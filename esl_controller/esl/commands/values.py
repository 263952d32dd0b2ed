"""The exact value sets FreeSWITCH accepts (mod_callcenter and the hangup cause table)."""

from __future__ import annotations

AGENT_STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")
AGENT_STATES = ("Waiting", "Receiving", "In a queue call", "Idle", "Reserved")
TIER_STATES = ("No Answer", "Ready", "Offering", "Active Inbound", "Standby")
AGENT_TYPES = ("Callback", "uuid-standby")
AGENT_SET_NUMBER_KEYS = (
    "max_no_answer",
    "wrap_up_time",
    "reject_delay_time",
    "busy_delay_time",
    "no_answer_delay_time",
    "ready_time",
)

# switch_channel.c CAUSE_CHART: the names FreeSWITCH knows.
HANGUP_CAUSES = frozenset(
    [
        "NONE",
        "UNALLOCATED_NUMBER",
        "NO_ROUTE_TRANSIT_NET",
        "NO_ROUTE_DESTINATION",
        "CHANNEL_UNACCEPTABLE",
        "CALL_AWARDED_DELIVERED",
        "NORMAL_CLEARING",
        "USER_BUSY",
        "NO_USER_RESPONSE",
        "NO_ANSWER",
        "SUBSCRIBER_ABSENT",
        "CALL_REJECTED",
        "NUMBER_CHANGED",
        "REDIRECTION_TO_NEW_DESTINATION",
        "EXCHANGE_ROUTING_ERROR",
        "DESTINATION_OUT_OF_ORDER",
        "INVALID_NUMBER_FORMAT",
        "FACILITY_REJECTED",
        "RESPONSE_TO_STATUS_ENQUIRY",
        "NORMAL_UNSPECIFIED",
        "NORMAL_CIRCUIT_CONGESTION",
        "NETWORK_OUT_OF_ORDER",
        "NORMAL_TEMPORARY_FAILURE",
        "SWITCH_CONGESTION",
        "ACCESS_INFO_DISCARDED",
        "REQUESTED_CHAN_UNAVAIL",
        "PRE_EMPTED",
        "FACILITY_NOT_SUBSCRIBED",
        "OUTGOING_CALL_BARRED",
        "INCOMING_CALL_BARRED",
        "BEARERCAPABILITY_NOTAUTH",
        "BEARERCAPABILITY_NOTAVAIL",
        "SERVICE_UNAVAILABLE",
        "BEARERCAPABILITY_NOTIMPL",
        "CHAN_NOT_IMPLEMENTED",
        "FACILITY_NOT_IMPLEMENTED",
        "SERVICE_NOT_IMPLEMENTED",
        "INVALID_CALL_REFERENCE",
        "INCOMPATIBLE_DESTINATION",
        "INVALID_MSG_UNSPECIFIED",
        "MANDATORY_IE_MISSING",
        "MESSAGE_TYPE_NONEXIST",
        "WRONG_MESSAGE",
        "IE_NONEXIST",
        "INVALID_IE_CONTENTS",
        "WRONG_CALL_STATE",
        "RECOVERY_ON_TIMER_EXPIRE",
        "MANDATORY_IE_LENGTH_ERROR",
        "PROTOCOL_ERROR",
        "INTERWORKING",
        "ORIGINATOR_CANCEL",
        "CRASH",
        "SYSTEM_SHUTDOWN",
        "LOSE_RACE",
        "MANAGER_REQUEST",
        "BLIND_TRANSFER",
        "ATTENDED_TRANSFER",
        "ALLOTTED_TIMEOUT",
        "USER_CHALLENGE",
        "MEDIA_TIMEOUT",
        "PICKED_OFF",
        "USER_NOT_REGISTERED",
        "PROGRESS_TIMEOUT",
        "INVALID_GATEWAY",
        "GATEWAY_DOWN",
        "INVALID_URL",
        "INVALID_PROFILE",
        "NO_PICKUP",
        "SRTP_READ_ERROR",
        "BOWOUT",
        "DUPLICATE_ID",
    ]
)


def canonical(value: str, allowed: tuple[str, ...]) -> str | None:
    """FreeSWITCH matches these case-insensitively; we emit its own spelling."""
    for item in allowed:
        if item.lower() == value.strip().lower():
            return item
    return None
