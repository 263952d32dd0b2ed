"""The simulated switch core: channels, endpoints, originate, dialplan, applications."""
