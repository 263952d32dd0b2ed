"""Fault suite: the product under restarts, dropped links, hostile frames and outages."""
