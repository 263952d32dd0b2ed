"""What each ``callcenter`` subcommand runs (imported only after gevent patched)."""
