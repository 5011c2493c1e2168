"""Units of work with I/O (polling, delivering, housekeeping) and the tasks that run beside
them (lease heartbeat, loop-lag ticker)."""
