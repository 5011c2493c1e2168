"""The status page: server-rendered HTML, no scripts. Pure: a StatusSnapshot in, a page out.

Everything shown comes from feeds, chat users and platforms (titles, errors, addresses), so every
value goes through ``html.escape``; the page allows no scripts at all (see SECURITY_HEADERS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from bot.web.health import Readiness
from bot.web.queries import AlertRow, DestinationRow, FeedStatus, StatusSnapshot

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:2em;width:100%}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0} .bad{background:#fde2e2} .warn{background:#fff4d6}
.ok{color:#17692b} .err{color:#a40000;font-weight:bold} small{color:#666}
"""


def when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    amount = (f"{span:.0f}s" if span < 120 else f"{span / 60:.0f} min" if span < 7200
              else f"{span / 3600:.1f} h" if span < 172800 else f"{span / 86400:.0f} days")
    rel = f"in {amount}" if seconds > 0 else f"{amount} ago"
    return f'<span title="{escape(value.isoformat(timespec="seconds"))}">{rel}</span>'


def cell(value: Any) -> str:
    return escape("" if value is None else str(value))


def table(title: str, headers: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]],
          empty: str) -> str:
    """``rows``: (css class, cells already escaped)."""
    body = "".join(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
                   for cls, cells in rows)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    inner = body or f'<tr><td colspan="{len(headers)}">{escape(empty)}</td></tr>'
    return f"<h2>{escape(title)}</h2><table><tr>{head}</tr>{inner}</table>"


def feed_row(f: FeedStatus, now: datetime) -> tuple[str, list[str]]:
    status = (f'<span class="err">failing ({f.error_count}x)</span>' if f.failing
              else '<span class="ok">ok</span>' if f.last_success_at else "not polled yet")
    name = f"{cell(f.title) or '<i>untitled</i>'}<br><small>{cell(f.url)}</small>"
    return ("bad" if f.failing else "", [
        name, cell(", ".join(f.tenants)), when(f.last_success_at, now), status,
        when(f.next_poll_at, now), cell(f.last_error if f.failing else "")])


def destination_row(d: DestinationRow, now: datetime) -> tuple[str, list[str]]:
    if not d.active:
        state, cls = f"stopped: {d.stopped_reason or ''}", "bad"
    elif d.waiting_reason:
        state, cls = d.waiting_reason, "warn"
    elif d.paused_until and d.paused_until > now:
        state, cls = f"rate limited until {d.paused_until.isoformat(timespec='seconds')}", "warn"
    else:
        state, cls = "active", ""
    return cls, [cell(d.tenant), cell(d.address), cell(state), cell(d.pending),
                 when(d.last_sent_at, now)]


def alert_row(a: AlertRow, now: datetime) -> tuple[str, list[str]]:
    cls = ("" if a.status in ("sent", "digested", "filtered")  # (filtered: a channel's choice)
           else "warn" if a.status in ("pending", "held") else "bad")
    return cls, [when(a.created_at, now), cell(a.destination), cell(a.title), cell(a.feed),
                 cell(a.status), cell(a.attempts), when(a.sent_at, now) if a.sent_at else "",
                 cell(a.last_error)]


def render_status(snap: StatusSnapshot, ready: Readiness, version: str) -> str:
    now = snap.now
    failing = sum(f.failing for f in snap.feeds)
    c = snap.counts
    summary = (f"{len(snap.feeds)} feed(s), {failing} failing; "
               f"{c.alerts.get('pending', 0)} alert(s) pending "
               f"(oldest {c.oldest_pending_age:.0f}s), {c.stopped} destination(s) stopped")
    readiness = ('<p class="ok">ready</p>' if ready.ready else
                 "<p class=\"err\">not ready: " + "; ".join(cell(r) for r in ready.reasons)
                 + "</p>")
    audit = ((cell(e.at.isoformat(timespec="seconds")), cell(e.tenant), cell(e.actor),
              cell(e.action), cell(e.target), cell(e.after)) for e in snap.audit)
    return "".join([
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>newsbot status</title><style>{STYLE}</style></head><body>",
        f"<h1>newsbot status</h1><p><small>newsbot {cell(version)}, "
        f"{cell(now.isoformat(timespec='seconds'))}</small></p>",
        readiness, f"<p>{cell(summary)}</p>",
        table("Feeds", ["Feed", "Tenants", "Last success", "Status", "Next poll", "Error"],
              (feed_row(f, now) for f in snap.feeds), "No feeds."),
        table("Destinations", ["Tenant", "Destination", "State", "Pending", "Last sent"],
              (destination_row(d, now) for d in snap.destinations), "No destinations."),
        table("Recent alerts", ["Queued", "Destination", "Title", "Feed", "Status", "Attempts",
                                "Sent", "Last error"],
              (alert_row(a, now) for a in snap.alerts), "No alerts yet."),
        table("Audit log", ["At", "Tenant", "Actor", "Action", "Target", "After"],
              (("", list(row)) for row in audit), "No admin changes yet."),
        "</body></html>"])
