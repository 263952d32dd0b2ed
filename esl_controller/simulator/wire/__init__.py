"""The simulator's mod_event_socket: TCP server, sessions, event bus, serializers."""
