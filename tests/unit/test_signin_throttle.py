"""The sign-in throttle: backoff per (account, client) and per client over every account
(spraying), bounded memory, the owner never locked out from elsewhere nor from a browser that
signed in before; time moved by hand."""

from __future__ import annotations

import threading

from trapline.web.security import SignInThrottle, is_known, known_after_sign_in


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


def test_spraying_one_password_over_many_accounts_is_slowed_on_the_next_account_too() -> None:
    """Password spraying: one try on each of many accounts, never the same account twice."""
    clock = Hands()
    throttle = SignInThrottle(free=5, client_free=10, longest=900, clock=clock)
    allowed = 0
    for n in range(5000):
        if throttle.retry_after(f"person-{n}", "sprayer") == 0:
            allowed += 1
            throttle.failed(f"person-{n}", "sprayer")
        clock.now += 0.01  # a hundred tries a second
    assert allowed < 20  # ten free, then a doubling wait: 1 + 2 + 4 + 8 + 16 ... s
    assert throttle.retry_after("never-tried", "sprayer") > 0
    assert throttle.retry_after("never-tried", "elsewhere") == 0


def test_a_browser_that_signed_in_before_is_spared_the_address_count() -> None:
    """Everyone behind one address (a proxy nobody listed, an office's NAT) shares its count
    over all accounts: one guesser there must not keep out those who signed in from their
    browsers before, whatever the guesser does."""
    throttle = SignInThrottle(free=5, client_free=10, clock=Hands())
    for n in range(40):
        throttle.failed(f"person-{n % 8}", "shared")
    assert throttle.retry_after("colleague", "shared") > 0  # a first sign-in from there waits
    assert throttle.retry_after("colleague", "shared", known=True) == 0
    assert throttle.retry_after("person-0", "shared", known=True) > 0  # its own pair still counts
    throttle.failed("colleague", "shared")  # a typo: one of the pair's five
    assert throttle.retry_after("colleague", "shared", known=True) == 0


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


def test_the_known_cookie_names_the_last_accounts_signed_in_and_goes_stale_with_the_password() -> (
    None
):
    secret = b"k" * 32
    cookie = None
    for n in range(7):
        cookie = known_after_sign_in(secret, f"person-{n}#digest", cookie)
    assert is_known(secret, "person-6#digest", cookie)
    assert is_known(secret, "person-2#digest", cookie)
    assert not is_known(secret, "person-1#digest", cookie)  # only the last five
    assert not is_known(secret, "person-6#another", cookie)  # a new password, a new key
    assert not is_known(b"x" * 32, "person-6#digest", cookie)  # another server's secret
    assert not is_known(secret, "person-6#digest", None)
    assert not is_known(secret, "person-6#digest", "made.up")


def test_tries_sent_side_by_side_meet_the_limit_one_by_one() -> None:
    """Fifty tries of one account from one client at once: the throttle checks and counts
    each in one step, so only the free five reach the password check."""
    throttle = SignInThrottle(free=5, clock=Hands())
    start = threading.Barrier(50)
    admitted: list[int] = []

    def one_try() -> None:
        start.wait()
        if throttle.admit("ann", "guesser") == 0:
            admitted.append(1)

    threads = [threading.Thread(target=one_try) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 5


def test_a_try_that_succeeds_is_taken_back_from_the_clients_count() -> None:
    throttle = SignInThrottle(free=5, client_free=3, clock=Hands())
    for n in range(10):  # colleagues behind one address sign in with their right passwords
        assert throttle.admit(f"person-{n}", "office") == 0
        throttle.succeeded(f"person-{n}", "office")
    assert throttle.retry_after("someone", "office") == 0
    for n in range(3):  # three wrong ones, counted as they are admitted
        assert throttle.admit(f"other-{n}", "office") == 0
    assert throttle.admit("next", "office") > 0
