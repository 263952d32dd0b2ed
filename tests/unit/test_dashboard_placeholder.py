"""The interim dashboard: health status codes and the live floor as JSON and HTML."""

from __future__ import annotations

from dashboard import create_app
from esl_controller.domain.floor import Floor
from esl_controller.esl.client import Health
from esl_controller.esl.typed_events import AgentStatusChanged, Meta


def test_health_is_503_until_freeswitch_is_connected() -> None:
    down = create_app(lambda: Health(state="reconnecting")).test_client()
    assert down.get("/health").status_code == 503
    up = create_app(lambda: Health(state="connected", connected=True)).test_client()
    reply = up.get("/health")
    assert reply.status_code == 200 and reply.get_json()["freeswitch"]["state"] == "connected"


def test_floor_json_and_page_escape_what_freeswitch_sent() -> None:
    floor = Floor()
    floor.add_queue("support@default")
    floor.apply(AgentStatusChanged(Meta(1, 100.0), "<script>x</script>@default", "Available"))
    app = create_app(lambda: Health(state="connected", connected=True), floor.snapshot)
    client = app.test_client()
    data = client.get("/call-center/api/floor").get_json()
    assert data["agents"][0]["status"] == "Available"
    assert data["queues"][0]["name"] == "support@default"
    page = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;" in page and "<script>x" not in page
