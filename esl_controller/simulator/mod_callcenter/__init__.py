"""The simulator's mod_callcenter."""
