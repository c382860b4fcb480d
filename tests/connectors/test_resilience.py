"""Deadlines, circuit breaker, bulkhead, retry policy and budget, composed by Guard.

Time is a fake clock wherever it matters; counts and states are asserted, never durations.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

import pytest

from connectors.errors import (
    SourceContractError,
    SourceError,
    SourceRejected,
    SourceUnavailable,
)
from connectors.resilience import (
    BreakerConfig,
    BreakerState,
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpen,
    Deadline,
    Guard,
    RetryBudget,
    RetryPolicy,
)

SOURCE = "provincial"
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records each requested sleep and moves the fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


class Source:
    """A fake source: raises the scripted errors in turn, then answers; counts invocations.

    With a clock, each call takes `latency_s` of it (at most its timeout).
    """

    def __init__(
        self, *errors: SourceError, latency_s: float = 0.0, clock: FakeClock | None = None
    ):
        self.errors = list(errors)
        self.latency_s = latency_s
        self.clock = clock
        self.calls = 0
        self.timeouts: list[float] = []

    async def __call__(self, seconds_left: float) -> str:
        self.calls += 1
        self.timeouts.append(seconds_left)
        await asyncio.sleep(0)
        if self.clock is not None:
            # like a real connector, it gives up when its timeout runs out
            self.clock.advance(min(self.latency_s, seconds_left))
            if self.latency_s > seconds_left:
                raise SourceUnavailable(SOURCE, "timed out")
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


class Failing(Source):
    """A source in full outage: every call raises SourceUnavailable."""

    async def __call__(self, seconds_left: float) -> str:
        self.calls += 1
        await asyncio.sleep(0)
        raise SourceUnavailable(SOURCE, "HTTP 503")


class Blocked:
    """A source that hangs until released; counts invocations."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self, seconds_left: float) -> str:
        self.calls += 1
        await self.release.wait()
        return "answer"


def unavailable(retry_after: float | None = None) -> SourceUnavailable:
    return SourceUnavailable(SOURCE, "HTTP 503", retry_after=retry_after)


def make_guard(
    clock: FakeClock,
    *,
    config: BreakerConfig | None = None,
    policy: RetryPolicy | None = None,
    bulkhead: Bulkhead | None = None,
    budget: RetryBudget | None = None,
    on_change: Callable[[str, BreakerState, BreakerState], None] | None = None,
) -> tuple[Guard, FakeSleep]:
    sleep = FakeSleep(clock)
    guard = Guard(
        SOURCE,
        CircuitBreaker(SOURCE, config or BreakerConfig(), clock=clock, on_change=on_change),
        bulkhead or Bulkhead(SOURCE, max_concurrent=500, max_queue=500),
        budget or RetryBudget(clock=clock),
        policy or RetryPolicy(rng=random.Random(7)),
        clock,
        sleep=sleep,
    )
    return guard, sleep


def open_breaker(
    clock: FakeClock, on_change: Callable[[str, BreakerState, BreakerState], None] | None = None
) -> CircuitBreaker:
    breaker = CircuitBreaker(SOURCE, BreakerConfig(), clock=clock, on_change=on_change)
    for _ in range(10):
        breaker.acquire().failure()
    assert breaker.state is OPEN
    return breaker


async def settle(coroutines: Sequence[Awaitable[str]]) -> list[str | BaseException]:
    return list(await asyncio.gather(*coroutines, return_exceptions=True))


# --- deadline -----------------------------------------------------------------------------------


def test_a_deadline_counts_down_and_never_goes_negative() -> None:
    clock = FakeClock()
    deadline = Deadline.after(2.0, clock=clock)
    clock.advance(0.5)
    assert deadline.remaining() == pytest.approx(1.5)
    assert not deadline.expired
    clock.advance(5.0)
    assert deadline.remaining() == 0.0
    assert deadline.expired


# --- circuit breaker ----------------------------------------------------------------------------


def test_the_breaker_stays_closed_until_min_calls_even_when_all_fail() -> None:
    breaker = CircuitBreaker(SOURCE, BreakerConfig(min_calls=10), clock=FakeClock())
    for _ in range(9):
        breaker.acquire().failure()
    assert breaker.state is CLOSED
    breaker.acquire().failure()
    assert breaker.state is OPEN


@pytest.mark.parametrize(
    ("successes", "failures", "expected"),
    [(6, 4, CLOSED), (5, 5, OPEN), (15, 5, CLOSED), (10, 10, OPEN)],
    ids=[
        "four failures in ten stay below half and keep it closed",
        "five failures in ten reach half and open it",
        "five failures in twenty stay below half",
        "ten failures in twenty reach half",
    ],
)
def test_the_breaker_opens_at_the_failure_rate(
    successes: int, failures: int, expected: BreakerState
) -> None:
    breaker = CircuitBreaker(SOURCE, BreakerConfig(), clock=FakeClock())
    for _ in range(successes):
        breaker.acquire().success(0.01)
    for _ in range(failures):
        breaker.acquire().failure()
    assert breaker.state is expected


def test_the_window_forgets_outcomes_older_than_the_last_window_calls() -> None:
    breaker = CircuitBreaker(SOURCE, BreakerConfig(window=20, min_calls=10), clock=FakeClock())
    for _ in range(4):
        breaker.acquire().failure()
    for _ in range(36):
        breaker.acquire().success(0.01)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.calls_in_window, snapshot.failure_rate) == (CLOSED, 20, 0.0)
    for _ in range(9):
        breaker.acquire().failure()
    assert breaker.state is CLOSED
    breaker.acquire().failure()  # ten failures among the last twenty calls
    assert breaker.state is OPEN


def test_slow_successes_count_as_failures() -> None:
    breaker = CircuitBreaker(SOURCE, BreakerConfig(slow_call_s=1.0), clock=FakeClock())
    for _ in range(9):
        breaker.acquire().success(1.5)
    assert breaker.snapshot().failure_rate == 1.0
    breaker.acquire().success(1.5)
    assert breaker.state is OPEN


async def test_an_open_breaker_fails_fast_without_calling_the_source() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock, policy=RetryPolicy(max_attempts=1))
    failing = Failing()
    for _ in range(10):
        with pytest.raises(SourceUnavailable):
            await guard.call(failing, Deadline.after(5, clock))
    assert failing.calls == 10
    for _ in range(50):
        with pytest.raises(CircuitOpen):
            await guard.call(failing, Deadline.after(5, clock))
    assert failing.calls == 10


def test_circuit_open_says_how_long_until_half_open() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.advance(2.0)
    with pytest.raises(CircuitOpen) as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(3.0)
    assert isinstance(refused.value, SourceUnavailable)
    assert str(refused.value) == "provincial: circuit open"


def test_the_breaker_half_opens_after_open_for_s() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.advance(4.9)
    assert breaker.state is OPEN
    clock.advance(0.1)
    assert breaker.state is HALF_OPEN


async def test_exactly_one_probe_reaches_the_source_among_200_concurrent_callers() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock)
    for _ in range(10):
        guard.breaker.acquire().failure()
    clock.advance(5.0)
    source = Blocked()
    callers = [
        asyncio.create_task(guard.call(source, Deadline.after(5, clock))) for _ in range(200)
    ]
    await asyncio.sleep(0)
    source.release.set()
    outcomes = await settle(callers)
    assert source.calls == 1
    assert outcomes.count("answer") == 1
    assert sum(isinstance(o, CircuitOpen) for o in outcomes) == 199
    assert guard.breaker.state is CLOSED


def test_a_successful_probe_closes_the_breaker_with_a_fresh_window() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.advance(5.0)
    breaker.acquire().success(0.01)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.calls_in_window, snapshot.opened_at) == (CLOSED, 0, None)


@pytest.mark.parametrize(
    "fail",
    [lambda p: p.failure(), lambda p: p.success(2.0)],
    ids=["a failed probe", "a slow probe"],
)
def test_a_failed_probe_opens_the_breaker_again_for_open_for_s(fail: Callable[..., None]) -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.advance(5.0)
    fail(breaker.acquire())
    assert breaker.snapshot().opened_at == clock.now
    clock.advance(4.9)
    assert breaker.state is OPEN
    clock.advance(0.1)
    assert breaker.state is HALF_OPEN


async def test_a_cancelled_probe_frees_the_probe_slot() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock)
    for _ in range(10):
        guard.breaker.acquire().failure()
    clock.advance(5.0)
    hung = Blocked()
    probe = asyncio.create_task(guard.call(hung, Deadline.after(5, clock)))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpen):
        guard.breaker.acquire()
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert guard.breaker.state is HALF_OPEN
    assert await guard.call(Source(), Deadline.after(5, clock)) == "answer"
    assert guard.breaker.state is CLOSED


def test_a_released_probe_leaves_the_breaker_half_open_for_the_next_caller() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.advance(5.0)
    breaker.acquire().release()
    assert breaker.state is HALF_OPEN
    assert breaker.acquire().probe


def test_outcomes_of_calls_admitted_before_the_breaker_opened_are_not_counted_after() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(SOURCE, BreakerConfig(), clock=clock)
    stragglers = [breaker.acquire() for _ in range(30)]
    for permit in stragglers[:10]:
        permit.failure()
    assert breaker.state is OPEN
    clock.advance(5.0)
    probe = breaker.acquire()
    for permit in stragglers[10:]:
        permit.success(0.01)  # would close the breaker if it counted as the probe's verdict
    assert breaker.state is HALF_OPEN
    probe.success(0.01)
    assert breaker.snapshot().calls_in_window == 0


def test_settling_a_permit_twice_counts_once() -> None:
    breaker = CircuitBreaker(SOURCE, BreakerConfig(), clock=FakeClock())
    permit = breaker.acquire()
    permit.failure()
    permit.failure()
    permit.release()
    assert breaker.snapshot().calls_in_window == 1


async def test_on_change_is_called_once_per_transition_not_per_request() -> None:
    clock = FakeClock()
    changes: list[tuple[str, BreakerState, BreakerState]] = []
    guard, _ = make_guard(
        clock, policy=RetryPolicy(max_attempts=1), on_change=lambda *c: changes.append(c)
    )
    for _ in range(30):  # ten failures open it, twenty fail fast
        with pytest.raises(SourceUnavailable):
            await guard.call(Failing(), Deadline.after(5, clock))
    clock.advance(5.0)
    with pytest.raises(SourceUnavailable):
        await guard.call(Failing(), Deadline.after(5, clock))  # the probe fails
    for _ in range(20):
        with pytest.raises(CircuitOpen):
            await guard.call(Source(), Deadline.after(5, clock))
    clock.advance(5.0)
    for _ in range(20):
        await guard.call(Source(), Deadline.after(5, clock))
    assert changes == [
        (SOURCE, CLOSED, OPEN),
        (SOURCE, OPEN, HALF_OPEN),
        (SOURCE, HALF_OPEN, OPEN),
        (SOURCE, OPEN, HALF_OPEN),
        (SOURCE, HALF_OPEN, CLOSED),
    ]


def test_a_failing_on_change_observer_does_not_break_the_breaker() -> None:
    def broken(source: str, old: BreakerState, new: BreakerState) -> None:
        raise RuntimeError("observer bug")

    breaker = open_breaker(FakeClock(), on_change=broken)
    assert breaker.state is OPEN


# --- bulkhead -----------------------------------------------------------------------------------


async def test_the_bulkhead_lets_at_most_max_concurrent_callers_in() -> None:
    bulkhead = Bulkhead(SOURCE, max_concurrent=3, max_queue=20)
    inside, most = 0, 0

    async def work() -> None:
        nonlocal inside, most
        async with bulkhead.slot(Deadline.after(60)):
            inside += 1
            most = max(most, inside)
            for _ in range(3):
                await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(20)))
    assert most == 3
    assert (bulkhead.in_use, bulkhead.waiting) == (0, 0)


async def test_the_bulkhead_refuses_one_more_than_its_queue_immediately() -> None:
    bulkhead = Bulkhead(SOURCE, max_concurrent=1, max_queue=2)
    gate = asyncio.Event()

    async def hold() -> None:
        async with bulkhead.slot(Deadline.after(60)):
            await gate.wait()

    holders = [asyncio.create_task(hold()) for _ in range(3)]
    await asyncio.sleep(0)
    assert (bulkhead.in_use, bulkhead.waiting) == (1, 2)
    extra = asyncio.create_task(hold())
    await asyncio.sleep(0)  # one loop turn: refused without waiting for a slot
    assert extra.done()
    assert isinstance(extra.exception(), BulkheadFull)
    gate.set()
    await asyncio.gather(*holders)
    assert (bulkhead.in_use, bulkhead.waiting) == (0, 0)


async def test_a_queued_caller_gives_up_when_its_deadline_passes() -> None:
    bulkhead = Bulkhead(SOURCE, max_concurrent=1, max_queue=5)
    async with bulkhead.slot(Deadline.after(60)):
        with pytest.raises(SourceUnavailable) as gave_up:
            async with bulkhead.slot(Deadline.after(0.01)):  # a real, short wait is unavoidable
                pass
        assert not isinstance(gave_up.value, BulkheadFull)
        assert str(gave_up.value) == "provincial: timed out waiting for a slot"
        assert (bulkhead.in_use, bulkhead.waiting) == (1, 0)
    assert bulkhead.in_use == 0


async def test_cancelled_waiters_leave_no_slot_or_queue_place_behind() -> None:
    bulkhead = Bulkhead(SOURCE, max_concurrent=1, max_queue=5)
    gate = asyncio.Event()

    async def hold() -> None:
        async with bulkhead.slot(Deadline.after(60)):
            await gate.wait()

    holder = asyncio.create_task(hold())
    waiters = [asyncio.create_task(hold()) for _ in range(5)]
    await asyncio.sleep(0)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert (bulkhead.in_use, bulkhead.waiting) == (1, 0)
    gate.set()
    await holder
    assert (bulkhead.in_use, bulkhead.waiting) == (0, 0)


async def test_a_waiter_cancelled_just_after_being_handed_a_slot_passes_it_on() -> None:
    bulkhead = Bulkhead(SOURCE, max_concurrent=1, max_queue=5)
    entered: list[int] = []

    async def enter(n: int) -> None:
        async with bulkhead.slot(Deadline.after(60)):
            entered.append(n)

    async with bulkhead.slot(Deadline.after(60)):
        first, second = asyncio.create_task(enter(1)), asyncio.create_task(enter(2))
        await asyncio.sleep(0)
        assert bulkhead.waiting == 2
    first.cancel()  # the slot was just handed to it, but it has not run yet
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled()
    assert entered == [2]
    assert (bulkhead.in_use, bulkhead.waiting) == (0, 0)


# --- retry policy -------------------------------------------------------------------------------


async def test_source_unavailable_is_retried_up_to_max_attempts() -> None:
    clock = FakeClock()
    guard, sleep = make_guard(clock, policy=RetryPolicy(max_attempts=3, rng=random.Random(1)))
    failing = Failing()
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        await guard.call(failing, Deadline.after(30, clock))
    assert failing.calls == 3
    assert len(sleep.delays) == 2


async def test_a_call_that_recovers_within_its_attempts_returns_the_answer() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock)
    source = Source(unavailable(), unavailable())
    assert await guard.call(source, Deadline.after(30, clock)) == "answer"
    assert source.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        SourceRejected(SOURCE, "HTTP 400", code="400"),
        SourceContractError(SOURCE, "answer breaks the contract at status"),
    ],
    ids=["a rejection", "a contract error"],
)
async def test_rejections_and_contract_errors_are_never_retried(error: SourceError) -> None:
    clock = FakeClock()
    guard, sleep = make_guard(clock)
    source = Source(error)
    with pytest.raises(type(error)):
        await guard.call(source, Deadline.after(30, clock))
    assert (source.calls, sleep.delays) == (1, [])


async def test_a_call_that_is_not_idempotent_is_never_retried() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock)
    source = Source(unavailable())
    with pytest.raises(SourceUnavailable):
        await guard.call(source, Deadline.after(30, clock), idempotent=False)
    assert source.calls == 1


async def test_retry_after_is_honoured_when_it_fits_the_deadline() -> None:
    clock = FakeClock()
    guard, sleep = make_guard(clock)
    source = Source(unavailable(retry_after=0.7))
    assert await guard.call(source, Deadline.after(5, clock)) == "answer"
    assert source.calls == 2
    assert len(sleep.delays) == 1 and sleep.delays[0] >= 0.7


async def test_the_call_gives_up_at_once_when_retry_after_does_not_fit_the_deadline() -> None:
    clock = FakeClock()
    guard, sleep = make_guard(clock)
    source = Source(unavailable(retry_after=10.0))
    with pytest.raises(SourceUnavailable) as gave_up:
        await guard.call(source, Deadline.after(2, clock))
    assert gave_up.value.retry_after == 10.0  # the source's own error, with its hint
    assert (source.calls, sleep.delays) == (1, [])


def test_backoff_never_exceeds_the_cap_and_is_jittered() -> None:
    policy = RetryPolicy(base_s=0.05, cap_s=1.0, rng=random.Random(42))
    delays = [policy.backoff(attempt) for attempt in range(2000)]
    assert all(0.0 <= d <= 1.0 for d in delays)
    assert all(0.0 <= policy.backoff(0) <= 0.05 for _ in range(100))
    assert len(set(delays)) == len(delays)


def test_the_policy_gives_up_after_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=3, rng=random.Random(3))
    assert policy.delay(0, unavailable(), 60.0) is not None
    assert policy.delay(1, unavailable(), 60.0) is not None
    assert policy.delay(2, unavailable(), 60.0) is None


@pytest.mark.parametrize("seed", range(10))
async def test_retries_never_sleep_past_the_deadline(seed: int) -> None:
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=100, base_s=0.2, cap_s=0.5, rng=random.Random(seed))
    guard, sleep = make_guard(clock, policy=policy)
    source = Source(*(unavailable() for _ in range(100)), latency_s=0.1, clock=clock)
    deadline = Deadline.after(2.0, clock)
    with pytest.raises(SourceUnavailable):
        await guard.call(source, deadline)
    assert source.calls > 2
    assert clock.now <= deadline.at
    assert all(timeout > 0.0 for timeout in source.timeouts)


async def test_each_attempt_is_given_the_seconds_left_as_its_timeout() -> None:
    clock = FakeClock()
    guard, sleep = make_guard(clock)
    source = Source(unavailable(), latency_s=0.25, clock=clock)
    await guard.call(source, Deadline.after(3.0, clock))
    assert source.timeouts[0] == pytest.approx(3.0)
    assert source.timeouts[1] == pytest.approx(3.0 - 0.25 - sleep.delays[0])


async def test_a_spent_deadline_raises_deadline_exceeded_without_calling_the_source() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock)
    source = Source()
    deadline = Deadline.after(1.0, clock)
    clock.advance(1.0)
    with pytest.raises(SourceUnavailable, match="deadline exceeded"):
        await guard.call(source, deadline)
    assert source.calls == 0


async def test_a_source_that_ignores_its_timeout_is_cut_off_at_the_deadline() -> None:
    guard = Guard(
        SOURCE,
        CircuitBreaker(SOURCE),
        Bulkhead(SOURCE, 4, 4),
        RetryBudget(),
        RetryPolicy(),
    )
    hung = Blocked()
    with pytest.raises(SourceUnavailable, match="deadline exceeded"):
        await guard.call(hung, Deadline.after(0.02))  # a real, short wait is unavoidable
    assert hung.calls == 1
    assert guard.breaker.snapshot().failure_rate == 1.0
    assert guard.status().in_flight == 0


# --- retry budget -------------------------------------------------------------------------------


async def test_a_full_outage_causes_retries_only_within_the_budget() -> None:
    clock, budget_clock = FakeClock(), FakeClock()  # the budget's window does not slide here
    never_opens = BreakerConfig(window=100_000, min_calls=100_000)
    guard, _ = make_guard(
        clock,
        config=never_opens,
        budget=RetryBudget(ratio=0.2, min_per_s=2.0, ttl_s=10.0, clock=budget_clock),
        bulkhead=Bulkhead(SOURCE, max_concurrent=1000, max_queue=0),
    )
    failing = Failing()
    outcomes = await settle([guard.call(failing, Deadline.after(60, clock)) for _ in range(1000)])
    assert all(isinstance(o, SourceUnavailable) for o in outcomes)
    assert 1000 < failing.calls <= 1000 + 0.2 * 1000 + 2.0 * 10.0


def test_the_budget_allows_the_reserve_and_a_ratio_of_calls_then_refuses() -> None:
    budget = RetryBudget(ratio=0.5, min_per_s=1.0, ttl_s=4.0, clock=FakeClock())
    for _ in range(10):
        budget.deposit()
    granted = sum(budget.try_withdraw() for _ in range(100))
    assert granted == 5 + 4


def test_the_budget_refills_once_old_retries_leave_its_window() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, min_per_s=1.0, ttl_s=2.0, clock=clock)
    assert sum(budget.try_withdraw() for _ in range(10)) == 2
    clock.advance(2.0)
    assert budget.available() == 2


# --- status -------------------------------------------------------------------------------------


async def test_status_reports_error_rate_and_latency_of_the_recent_calls() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock, policy=RetryPolicy(max_attempts=1))
    for ms in (10, 20, 30, 40, 50, 60, 70):
        await guard.call(Source(latency_s=ms / 1000, clock=clock), Deadline.after(5, clock))
    with pytest.raises(SourceRejected):  # the source answered: not an error, latency counts
        rejected = Source(SourceRejected(SOURCE, "HTTP 404"), latency_s=0.08, clock=clock)
        await guard.call(rejected, Deadline.after(5, clock))
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            await guard.call(
                Source(unavailable(), latency_s=3.0, clock=clock), Deadline.after(5, clock)
            )
    health = guard.status()
    assert (health.source, health.breaker_state, health.calls, health.in_flight) == (
        SOURCE,
        CLOSED,
        10,
        0,
    )
    assert health.error_rate == pytest.approx(0.2)
    assert health.latency_p50_ms == pytest.approx(40.0)
    assert health.latency_p99_ms == pytest.approx(80.0)


async def test_status_counts_calls_in_flight_and_forgets_calls_older_than_a_minute() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock)
    await guard.call(Source(), Deadline.after(5, clock))
    hung = Blocked()
    pending = asyncio.create_task(guard.call(hung, Deadline.after(5, clock)))
    await asyncio.sleep(0)
    assert (guard.status().calls, guard.status().in_flight) == (1, 1)
    hung.release.set()
    await pending
    clock.advance(61.0)
    health = guard.status()
    assert (health.calls, health.in_flight, health.error_rate, health.latency_p50_ms) == (
        0,
        0,
        0.0,
        None,
    )


async def test_status_shows_the_breaker_state() -> None:
    clock = FakeClock()
    guard, _ = make_guard(clock, policy=RetryPolicy(max_attempts=1))
    for _ in range(10):
        with pytest.raises(SourceUnavailable):
            await guard.call(Failing(), Deadline.after(5, clock))
    assert guard.status().breaker_state is OPEN
    assert guard.status().error_rate == 1.0
