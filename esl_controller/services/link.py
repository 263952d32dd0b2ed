"""The controller's link to FreeSWITCH and the floor it feeds, wired together: the ESL
client delivers events to the floor service, and every (re)connect triggers its resync
over the same client's command connection."""

from __future__ import annotations

from esl_controller.esl.client import EslClient, EslSettings
from esl_controller.esl.events import Event
from esl_controller.services.floor_service import FloorService


def link_floor(
    settings: EslSettings, *, service_level_seconds: float = 20.0
) -> tuple[EslClient, FloorService]:
    """An (unstarted) ESL client and the floor service it feeds; start both to run."""
    floor: FloorService | None = None

    def on_event(event: Event) -> None:
        assert floor is not None
        floor.on_event(event)

    def on_connected() -> None:
        assert floor is not None
        floor.on_connected()

    client = EslClient(settings, on_event=on_event, on_connected=on_connected)
    floor = FloorService(client.api, service_level_seconds=service_level_seconds)
    return client, floor
