"""A source route shared by every request: single flight, batching across requests, answers
cached per subject, failures never cached, stale answers served within their bound."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from connectors.errors import SourceRejected, SourceUnavailable
from connectors.records import DocumentRef
from connectors.resilience import (
    BreakerConfig,
    Bulkhead,
    CircuitBreaker,
    Deadline,
    Guard,
    RetryBudget,
    RetryPolicy,
)
from hub.upstream import Answer, AnswerCache, UpstreamRoute


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """Answers each document with its number, counting calls; can fail or be held."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.error: Exception | None = None
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self, docs: list[DocumentRef], timeout: float) -> Mapping[DocumentRef, str]:
        self.calls.append([d.number for d in docs])
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return {doc: f"record of {doc.number}" for doc in docs}


def guard() -> Guard:
    return Guard(
        "provincial",
        CircuitBreaker("provincial", BreakerConfig(window=100, min_calls=100)),
        Bulkhead("provincial", 8, 8),
        RetryBudget(),
        RetryPolicy(max_attempts=1),
    )


def doc(n: int) -> tuple[str, DocumentRef]:
    return f"key{n}", DocumentRef("RESIDENT_ID", f"N{n}")


def route(
    source: FakeSource,
    clock: Clock,
    *,
    fresh: float = 30,
    stale: float = 600,
    window: float = 0.005,
    max_batch: int = 50,
) -> UpstreamRoute[str]:
    cache: AnswerCache[str] = AnswerCache(fresh, stale, timer=clock)
    return UpstreamRoute(
        "health_records", source.fetch, guard(), cache, window_s=window, max_batch=max_batch
    )


async def test_a_hundred_concurrent_lookups_of_one_person_make_one_call() -> None:
    source, clock = FakeSource(), Clock()
    shared = route(source, clock)
    key, ref = doc(1)
    answers = await asyncio.gather(*(shared.get(key, ref, Deadline.after(2)) for _ in range(100)))
    assert source.calls == [["N1"]]
    assert all(a.value == "record of N1" for a in answers)  # type: ignore[union-attr]


async def test_lookups_from_different_requests_within_the_window_share_one_batch() -> None:
    source, clock = FakeSource(), Clock()
    shared = route(source, clock, window=0.01)
    await asyncio.gather(*(shared.get(*doc(n), Deadline.after(2)) for n in range(30)))
    assert len(source.calls) == 1 and sorted(source.calls[0]) == sorted(f"N{n}" for n in range(30))


async def test_a_batch_never_exceeds_the_sources_limit() -> None:
    source, clock = FakeSource(), Clock()
    shared = route(source, clock, window=0.05, max_batch=10)
    await asyncio.gather(*(shared.get(*doc(n), Deadline.after(2)) for n in range(25)))
    assert [len(c) for c in source.calls] == [10, 10, 5]


async def test_a_fresh_answer_is_reused_and_never_served_for_another_person() -> None:
    source, clock = FakeSource(), Clock()
    shared = route(source, clock)
    one, other = doc(1), doc(2)
    await shared.get(*one, Deadline.after(2))
    again = await shared.get(*one, Deadline.after(2))
    second = await shared.get(*other, Deadline.after(2))
    assert len(source.calls) == 2
    assert again.value == "record of N1"  # type: ignore[union-attr]
    assert second.value == "record of N2"  # type: ignore[union-attr]


async def test_one_waiter_giving_up_does_not_fail_the_others() -> None:
    source, clock = FakeSource(), Clock()
    source.release.clear()
    shared = route(source, clock)
    key, ref = doc(1)
    impatient = asyncio.create_task(shared.get(key, ref, Deadline.after(2)))
    patient = asyncio.create_task(shared.get(key, ref, Deadline.after(2)))
    await asyncio.sleep(0.02)
    impatient.cancel()
    source.release.set()
    result = await patient
    assert result.value == "record of N1"  # type: ignore[union-attr]
    assert impatient.cancelled() and len(source.calls) == 1


async def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    source, clock = FakeSource(), Clock()
    source.error = SourceUnavailable("provincial", "HTTP 503")
    shared = route(source, clock, stale=0)
    key, ref = doc(1)
    answers = await asyncio.gather(*(shared.get(key, ref, Deadline.after(2)) for _ in range(5)))
    assert all(isinstance(a, SourceUnavailable) for a in answers)
    assert len(source.calls) == 1
    source.error = None
    fixed = await shared.get(key, ref, Deadline.after(2))
    assert fixed.value == "record of N1" and len(source.calls) == 2  # type: ignore[union-attr]


async def test_when_the_source_fails_an_answer_within_the_staleness_bound_is_served_as_stale() -> (
    None
):
    source, clock = FakeSource(), Clock()
    shared = route(source, clock, fresh=30, stale=600)
    key, ref = doc(1)
    await shared.get(key, ref, Deadline.after(2))
    clock.now += 120  # past freshness, within the bound
    source.error = SourceUnavailable("provincial", "HTTP 503")
    answer = await shared.get(key, ref, Deadline.after(2))
    assert answer.value == "record of N1" and answer.stale_age == pytest.approx(120)  # type: ignore[union-attr]
    clock.now += 600  # past the bound: missing, not stale
    past = await shared.get(key, ref, Deadline.after(2))
    assert isinstance(past, SourceUnavailable)


async def test_a_rejection_is_not_hidden_by_a_stale_answer_of_another_kind() -> None:
    source, clock = FakeSource(), Clock()
    source.error = SourceRejected("provincial", "bad signature", code="40101")
    shared = route(source, clock)
    key, ref = doc(1)
    answer = await shared.get(key, ref, Deadline.after(2))
    assert isinstance(answer, SourceRejected)


async def test_a_waiter_past_its_deadline_gets_an_error_while_the_call_goes_on_for_others() -> None:
    source, clock = FakeSource(), Clock()
    source.release.clear()
    shared = route(source, clock, stale=0)
    key, ref = doc(1)
    patient = asyncio.create_task(shared.get(key, ref, Deadline.after(5)))
    hurried = await shared.get(key, ref, Deadline.after(0.05))
    assert isinstance(hurried, SourceUnavailable) and "deadline" in str(hurried)
    source.release.set()
    assert (await patient).value == "record of N1"  # type: ignore[union-attr]
    assert len(source.calls) == 1


async def test_an_idle_route_sends_at_once_and_a_busy_one_gathers_for_its_window() -> None:
    source, clock = FakeSource(), Clock()
    source.release.clear()
    shared = route(source, clock, window=3600, max_batch=2)  # a window nobody would wait out
    first = asyncio.create_task(shared.get(*doc(1), Deadline.after(5)))
    await asyncio.sleep(0.02)
    assert source.calls == [["N1"]], "idle: sent without waiting for the window"
    later = [asyncio.create_task(shared.get(*doc(n), Deadline.after(5))) for n in (2, 3)]
    await asyncio.sleep(0.02)
    # busy: the next two gathered into one call (sent when the batch was full), not one each
    assert [sorted(call) for call in source.calls] == [["N1"], ["N2", "N3"]]
    source.release.set()
    await asyncio.gather(first, *later)


def test_the_answer_cache_keeps_the_most_recent_people_within_its_bound_and_age() -> None:
    clock = Clock()
    cache: AnswerCache[str] = AnswerCache(30, 600, maxsize=3, timer=clock)
    for n in range(5):
        cache.put(f"key{n}", f"answer {n}")
        clock.now += 1
    assert len(cache) == 3 and cache.fresh("key0") is None and cache.fresh("key1") is None
    cache.put("key2", "answer 2 again")  # asked again: now the most recent
    cache.put("key5", "answer 5")
    assert cache.fresh("key3") is None and cache.fresh("key2") == "answer 2 again"
    clock.now += 60
    assert cache.fresh("key5") is None and cache.stale("key5") is not None  # past fresh: stale
    clock.now += 600
    cache.put("key6", "answer 6")  # the next put drops what is past the staleness bound
    assert cache.stale("key5") is None and len(cache) == 1


def test_a_forgotten_answer_is_neither_fresh_nor_stale_and_can_be_put_again() -> None:
    clock = Clock()
    cache: AnswerCache[str] = AnswerCache(30, 600, timer=clock)
    cache.put("key1", "answer before the judgement")
    cache.put("key2", "someone else's answer")
    cache.forget("key1")
    assert cache.fresh("key1") is None and cache.stale("key1") is None
    assert cache.fresh("key2") == "someone else's answer" and len(cache) == 1
    cache.put("key1", "answer after the judgement")
    clock.now += 60
    assert cache.stale("key1") == Answer("answer after the judgement", stale_age=60)
