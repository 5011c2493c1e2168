"""Units of work with I/O and what runs them: poll one feed (poll_feed), deliver the outbox
(deliver), parsing and compiling off the loop, housekeeping, scheduler, heartbeat, liveness.

Nothing is imported here: parse workers import bot.jobs.parse_workers and must start light.
"""
