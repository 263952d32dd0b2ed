"""Contact-center controller for FreeSWITCH: ESL transport, domain model, services, simulator."""

__version__ = "0.1.0"
