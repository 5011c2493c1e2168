"""The one Retry-After reader: seconds, HTTP dates, Discord's JSON and reset headers, clamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from bot.net.retry_after import parse_retry_after, retry_after

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("-3", 0.0), ("0", 0.0),
    ("Wed, 01 May 2024 09:05:00 GMT", 300.0),
    ("Wed, 01 May 2024 08:00:00 GMT", 0.0),  # in the past
    ("soon", None), ("", None), (None, None), ("nan", None), ("inf", None),
])
def test_delta_seconds_and_http_dates(value, seconds) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_an_http_date_is_measured_against_the_servers_date_header() -> None:
    assert parse_retry_after("Wed, 01 May 2024 10:00:30 GMT",
                             "Wed, 01 May 2024 10:00:00 GMT", now=NOW) == 30.0


def test_discords_json_retry_after_wins_over_the_headers() -> None:
    headers = {"Retry-After": "3", "X-RateLimit-Reset-After": "9"}
    assert retry_after(headers, {"retry_after": 0.75, "global": False}) == 0.75
    assert retry_after(headers, {"message": "no number"}) == 3.0
    assert retry_after({"X-RateLimit-Reset-After": "2.25"}) == 2.25


def test_header_names_are_matched_whatever_their_case() -> None:
    assert retry_after({"retry-after": "4"}) == 4.0
    assert retry_after(CIMultiDict({"RETRY-AFTER": "5"})) == 5.0


def test_nothing_readable_gives_the_default_and_everything_is_clamped() -> None:
    assert retry_after({}, None) is None
    assert retry_after(None, "not json", default=30.0) == 30.0
    assert retry_after({"Retry-After": "soon"}, default=1.0) == 1.0
    assert retry_after({"Retry-After": "999999"}) == 3600.0
    assert retry_after({"Retry-After": "999999"}, maximum=86400) == 86400.0
    assert retry_after({}, {"retry_after": -5}) == 0.0
