"""Reading a FreeSWITCH configuration directory the way FreeSWITCH does (what the
simulator needs of it): ``vars.xml`` pre-processor variables and the callcenter module's
configuration."""
