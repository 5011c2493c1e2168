"""Units of work with I/O (polling, delivering, housekeeping) and what keeps them honest."""
