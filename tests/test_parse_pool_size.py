"""How many parse worker processes a newsbot process starts (NEWSBOT_PARSE_WORKERS)."""

import os

from bot.jobs.parse_workers import pool_size


def test_parse_workers_setting_sets_the_pool_size() -> None:
    assert pool_size({"NEWSBOT_PARSE_WORKERS": "1"}) == 1
    assert pool_size({"NEWSBOT_PARSE_WORKERS": "3"}) == 3


def test_without_a_usable_setting_one_worker_per_core_up_to_two() -> None:
    default = max(1, min(2, os.cpu_count() or 1))
    assert pool_size({}) == default
    assert pool_size({"NEWSBOT_PARSE_WORKERS": "0"}) == default
    assert pool_size({"NEWSBOT_PARSE_WORKERS": "many"}) == default
    assert pool_size({"NEWSBOT_PARSE_WORKERS": "999"}) == 16
