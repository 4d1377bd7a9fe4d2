"""The dashboard's once-per-form memory: one act per key, even when submissions race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tijarat.web.once import Once

RACERS = 8


def test_concurrent_submissions_of_one_key_act_once() -> None:
    once: Once[int] = Once()
    calls: list[int] = []
    started = threading.Event()
    release = threading.Event()

    def act() -> int:
        calls.append(1)
        started.set()
        release.wait(timeout=5)  # hold the first act while the others arrive
        return 42

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        futures = [pool.submit(once.run, "key", act) for _ in range(RACERS)]
        assert started.wait(timeout=5)
        release.set()
        answers = [future.result(timeout=5) for future in futures]
    assert calls == [1]
    assert sorted(answers) == [(42, False)] + [(42, True)] * (RACERS - 1)
    assert once.run("key", lambda: 7) == (42, True)
    assert once.run("other", lambda: 7) == (7, False)


def test_a_failed_act_is_not_remembered() -> None:
    once: Once[str] = Once()

    def refuse() -> str:
        raise ValueError("bad form")

    with pytest.raises(ValueError, match="bad form"):
        once.run("key", refuse)
    assert once.run("key", lambda: "sent") == ("sent", False)


def test_the_memory_is_bounded_and_forgets_the_oldest() -> None:
    once: Once[int] = Once(keys_max=2)
    for number in range(3):
        once.run(number, lambda number=number: number)
    assert once.run(0, lambda: 99) == (99, False)  # forgotten: acts again
    assert once.run(2, lambda: 99) == (2, True)
