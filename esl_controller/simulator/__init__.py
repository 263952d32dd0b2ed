"""A FreeSWITCH stand-in that speaks the ESL wire protocol as FreeSWITCH 1.10 does."""
