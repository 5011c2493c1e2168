"""Units of work with I/O and what runs them: poll one feed (poll_feed), deliver the outbox
(deliver), parsing and compiling off the loop, housekeeping, scheduler, heartbeat, liveness."""

from bot.jobs.deliver import Deliverer
from bot.jobs.poll_feed import Poller

__all__ = ["Deliverer", "Poller"]
