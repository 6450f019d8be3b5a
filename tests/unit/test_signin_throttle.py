"""The sign-in throttle: backoff per (account, client) and per client, bounded memory, and the
owner never locked out from elsewhere; time moved by hand."""

from __future__ import annotations

from trapline.web.security import SignInThrottle


class Hands:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_failure_past_the_free_ones_doubles_the_wait_up_to_the_longest() -> None:
    clock = Hands()
    throttle = SignInThrottle(free=3, longest=60, clock=clock)
    waits = []
    for _ in range(10):
        waits.append(throttle.retry_after("ann", "10.0.0.1"))
        throttle.failed("ann", "10.0.0.1")
    assert waits[:4] == [0, 0, 0, 1]  # three free, then 1 s after the third failure
    assert throttle.retry_after("ann", "10.0.0.1") == 60  # capped
    clock.now += 59.5
    assert throttle.retry_after("ann", "10.0.0.1") == 1
    clock.now += 1
    assert throttle.retry_after("ann", "10.0.0.1") == 0  # a try is let through, then waits again


def test_the_waits_double() -> None:
    clock = Hands()
    throttle = SignInThrottle(free=1, longest=1000, clock=clock)
    seen = []
    for _ in range(5):
        throttle.failed("ann", "c")
        seen.append(throttle.retry_after("ann", "c"))
    assert seen == [1, 2, 4, 8, 16]


def test_another_client_is_not_slowed_and_its_success_clears_the_account() -> None:
    throttle = SignInThrottle(free=2, clock=Hands())
    for _ in range(5):
        throttle.failed("ann", "attacker")
    assert throttle.retry_after("ann", "attacker") > 0
    assert throttle.retry_after("ann", "home") == 0
    throttle.succeeded("ann")
    assert throttle.retry_after("ann", "attacker") == 0


def test_one_client_guessing_across_accounts_slows_down_on_the_accounts_it_guessed() -> None:
    throttle = SignInThrottle(free=5, client_free=10, clock=Hands())
    for n in range(10):
        throttle.failed(f"person-{n}", "sprayer")
    # One failure each: the pairs are free, the client's count over all accounts is not.
    assert throttle.retry_after("person-3", "sprayer") > 0
    assert throttle.retry_after("person-3", "elsewhere") == 0


def test_a_client_past_its_count_still_signs_in_accounts_it_never_failed_on() -> None:
    """Everyone behind one address (a proxy nobody listed, an office's NAT) shares its count
    over all accounts: one guesser there must not keep the others from signing in."""
    throttle = SignInThrottle(free=5, client_free=10, clock=Hands())
    for n in range(40):
        throttle.failed(f"person-{n % 8}", "shared")
    assert throttle.retry_after("person-0", "shared") > 0  # guessed at from there
    assert throttle.retry_after("colleague", "shared") == 0  # never failed from there
    throttle.failed("colleague", "shared")  # a typo: now it waits with the guesser
    assert throttle.retry_after("colleague", "shared") > 0
    throttle.succeeded("colleague")  # signed in from elsewhere: its count is gone
    assert throttle.retry_after("colleague", "shared") == 0


def test_memory_stays_bounded_without_forgetting_everything() -> None:
    throttle = SignInThrottle(free=1, max_keys=100, clock=Hands())
    for n in range(2000):
        throttle.failed(f"a{n}", f"c{n}")
    assert len(throttle._counts) <= 100
    assert len(throttle._clients_of) <= 100
    # The newest counts are still there (no global reset).
    assert throttle.retry_after("a1999", "c1999") > 0


def test_a_count_idle_long_enough_is_forgotten() -> None:
    clock = Hands()
    throttle = SignInThrottle(free=1, longest=10, clock=clock)
    for _ in range(4):
        throttle.failed("ann", "c")
    clock.now += 41
    assert throttle.retry_after("ann", "c") == 0
    assert ("ann", "c") not in throttle._counts
