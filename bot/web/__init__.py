"""The operator's HTTP server: /healthz, /readyz, /metrics and the status page (``newsbot run``)."""
