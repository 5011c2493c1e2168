"""The operator's HTTP server (``newsbot run``): /healthz and /readyz (health), /metrics
(metrics), the status page (status, with its read-only queries) on one aiohttp server (server)."""
