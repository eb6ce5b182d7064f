"""Threads that race service calls against each other on PostgreSQL.

Each racer is one thread with its own database connection, kept for the whole
test, so a round costs no new connection; a barrier releases the calls of a
round together. One lucky interleaving proves little, so a test runs many
rounds and checks its invariant after each.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

ROUNDS = 50


class Racers:
    """`size` threads; `run(*calls)` gives each one call, releases them at once, returns the outcomes.

    An outcome is what the call returned or the exception it raised.
    """

    def __init__(self, size: int) -> None:
        self.barrier = threading.Barrier(size)
        self.inboxes: list[queue.Queue] = [queue.Queue() for _ in range(size)]
        self.outcomes: queue.Queue = queue.Queue()
        self.threads = [
            threading.Thread(target=self._serve, args=(index,), daemon=True)
            for index in range(size)
        ]
        for thread in self.threads:
            thread.start()

    def _serve(self, index: int) -> None:
        try:
            while (call := self.inboxes[index].get()) is not None:
                try:
                    self.barrier.wait(timeout=10)
                    outcome = call()
                except BaseException as error:  # the outcome under test, handed to the test
                    outcome = error
                self.outcomes.put((index, outcome))
        finally:
            connection.close()

    def run(self, *calls: Callable[[], object]) -> list[object]:
        assert len(calls) == len(self.inboxes), "one call per racer"
        for inbox, call in zip(self.inboxes, calls, strict=True):
            inbox.put(call)
        outcomes: list[object] = [None] * len(calls)
        for _ in calls:
            index, outcome = self.outcomes.get(timeout=30)
            outcomes[index] = outcome
        return outcomes

    def stop(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self.threads), "a racer is stuck"


@contextmanager
def racers(size: int = 2) -> Iterator[Racers]:
    """Racers for one test; their connections are closed before the database is cleared."""
    started = Racers(size)
    try:
        yield started
    finally:
        started.stop()


def race_once(*calls: Callable[[], object]) -> list[object]:
    """Race the calls once, each in a thread of its own; what each returned or raised."""
    with racers(len(calls)) as started:
        return started.run(*calls)


def kinds(outcomes: list[object]) -> tuple[str, ...]:
    """The type name of each outcome: `("Milestone", "GuardRefused")`."""
    return tuple(type(outcome).__name__ for outcome in outcomes)


def as_loaded(instance):
    """A fresh copy of a row, as a request loads it: nothing remembered from an earlier call."""
    return type(instance)._base_manager.get(pk=instance.pk)


def broken_rounds(one_round: Callable[[int], list[str]], rounds: int = ROUNDS) -> list[str]:
    """Run `one_round(n)` `rounds` times; what each round found broken, numbered."""
    return [f"round {n}: {what}" for n in range(rounds) for what in one_round(n)]


def timeline(milestone) -> list[str]:
    """The verbs of the milestone's Activity rows, in the order the timeline shows them."""
    from planning.models import Activity

    rows = Activity.objects.filter(milestone=milestone).order_by("created_at", "id")
    return list(rows.values_list("verb", flat=True))
