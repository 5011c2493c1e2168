"""Network helpers shared by the fetcher and the sinks (I/O lives beside them, not in pure steps).

``retry_after``: the one reader of "how long should we wait" answers (Retry-After and friends).
"""
