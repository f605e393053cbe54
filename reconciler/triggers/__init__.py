"""Triggers: everything that asks for a reconcile, each feeding the daemon's one work queue
through a `Submit` callable — a local repository watcher (watchfiles), a remote repository
mirror fetched on an interval and on webhooks (GitPython + APScheduler), and the periodic
full resync."""
