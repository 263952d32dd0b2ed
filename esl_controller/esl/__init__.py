"""ESL transport: frame parsing, events, connections, reconnect, command builders, replies."""
