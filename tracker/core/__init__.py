"""Infrastructure every feature relies on: the database, time, the audit
mechanism, mail transport, the scheduler, site settings and the signals through
which features plug themselves in. It imports no feature."""
