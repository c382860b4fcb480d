"""The scraping guard counts distinct people over a sliding minute, each person once."""

from __future__ import annotations

import pytest

from hub.ratelimit import RateLimited, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 6000.0  # the start of a window

    def __call__(self) -> float:
        return self.now


def test_the_same_people_again_next_minute_are_not_counted_twice() -> None:
    clock = Clock()
    limiter = RateLimiter({}, {"venue": 10}, timer=clock)
    people = [f"person{i}" for i in range(8)]
    for person in people:
        limiter.admit_subject("venue-1", "venue", person)
    clock.now += 66  # 10 % into the next window: 90 % of last minute's people still count
    for person in people:  # the same eight regulars: still eight distinct people
        limiter.admit_subject("venue-1", "venue", person)
    limiter.admit_subject("venue-1", "venue", "newcomer")  # nine


def test_more_distinct_people_than_the_limit_are_refused_with_a_retry_hint() -> None:
    clock = Clock()
    limiter = RateLimiter({}, {"venue": 5}, timer=clock)
    for i in range(5):
        limiter.admit_subject("venue-1", "venue", f"person{i}")
    with pytest.raises(RateLimited) as refused:
        limiter.admit_subject("venue-1", "venue", "person5")
    assert refused.value.retry_after >= 1
    limiter.admit_subject("venue-1", "venue", "person0")  # someone already seen is fine
    limiter.admit_subject("venue-2", "venue", "person5")  # another caller has its own count


def test_last_minutes_people_fade_out_of_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter({}, {"venue": 5}, timer=clock)
    for i in range(5):
        limiter.admit_subject("venue-1", "venue", f"old{i}")
    clock.now += 60 + 54  # 90 % into the next window: 10 % of the five old ones remain
    for i in range(4):
        limiter.admit_subject("venue-1", "venue", f"new{i}")
    with pytest.raises(RateLimited):
        limiter.admit_subject("venue-1", "venue", "one-too-many")


def test_callers_idle_for_two_minutes_are_forgotten_and_the_active_keep_their_counts() -> None:
    clock = Clock()
    limiter = RateLimiter({"venue": 3}, {}, timer=clock)
    for i in range(1000):
        limiter.admit_request(f"venue-{i}", "venue")
    clock.now += 60
    for _ in range(3):
        limiter.admit_request("venue-busy", "venue")
    clock.now += 60
    limiter.admit_request("venue-late", "venue")
    assert len(limiter) == 2  # the thousand idle ones are gone; last minute's caller is not
    with pytest.raises(RateLimited):  # its three of the minute before still count in full
        limiter.admit_request("venue-busy", "venue")


def test_memory_is_bounded_however_many_callers_come_in_one_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hub.ratelimit.MAX_CALLERS", 50)
    clock = Clock()
    limiter = RateLimiter({"venue": 10}, {}, timer=clock)
    for i in range(500):
        limiter.admit_request(f"venue-{i}", "venue")
        assert len(limiter) <= 50
    for _ in range(9):  # the newest caller is remembered and limited: ten in all
        limiter.admit_request("venue-499", "venue")
    with pytest.raises(RateLimited):
        limiter.admit_request("venue-499", "venue")
