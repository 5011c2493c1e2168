"""Units of work and the tasks that run beside them (wave-2 home of poll, deliver, scheduler)."""
