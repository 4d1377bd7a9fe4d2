"""Concurrent credit transfers, carried out in groups (Payments.submit_many).

The HTTP API hands every credit transfer to a PaymentQueue and awaits its future; a few
worker threads each take whatever has queued up (at most GROUP_MAX) and carry it out as one
group: the database's and the ledger's round trips, and the waits on payees, are shared by
the whole group instead of paid per payment on a thread per request. Under load, groups grow
by themselves; a lone payment is carried out at once, as a group of one. The ledger's group
commit (ledger/committer.py) works the same way, one level down.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Union

import structlog

from tijarat.kernel.errors import DomainError
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import CreditTransfer, Payment
from tijarat.switch.payments import Payments

log = structlog.get_logger("tijarat.switch")
GROUP_MAX = 256  # payments per group: one statement's parameters stay far under 65,535
QUEUE_MAX = 16 * GROUP_MAX  # back-pressure: submitters wait when this many are queued
WORKERS = 2  # groups in flight: one is with the database while the other waits on payees

# A submitter waits on a thread's Future, or on an asyncio future of its event loop.
_Waiter = Union["Future[Payment]", "asyncio.Future[Payment]"]
_Item = tuple[str, CreditTransfer, _Waiter]


class PaymentQueue:
    def __init__(
        self, payments: Payments, *, workers: int = WORKERS, group_max: int = GROUP_MAX
    ) -> None:
        self.payments = payments
        self._group_max = group_max
        self._queue: deque[_Item] = deque()
        lock = threading.Lock()
        self._work = threading.Condition(lock)
        self._room = threading.Condition(lock)
        self._stopping = False
        self.groups = 0  # groups carried out, for metrics and benchmarks
        self.submitted = 0
        self._threads = [
            threading.Thread(target=self._serve, name=f"switch-group-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, payer_code: str, request: CreditTransfer) -> Future[Payment]:
        """Queue a credit transfer; the future answers what Payments.submit would."""
        future: Future[Payment] = Future()
        self._enqueue(payer_code, request, future, wait=True)
        return future

    def submit_async(self, payer_code: str, request: CreditTransfer) -> asyncio.Future[Payment]:
        """submit, from a coroutine: a future of the running loop. A group's answers reach
        each loop in one call, not one wake-up of the loop per payment. A full queue is
        refused (503 switch_busy, nothing stored) rather than waited for: waiting would
        stop the event loop, and every other request with it."""
        future: asyncio.Future[Payment] = asyncio.get_running_loop().create_future()
        self._enqueue(payer_code, request, future, wait=False)
        return future

    def _enqueue(
        self, payer_code: str, request: CreditTransfer, future: _Waiter, *, wait: bool
    ) -> None:
        with self._work:
            while wait and len(self._queue) >= QUEUE_MAX and not self._stopping:
                self._room.wait()
            if self._stopping:
                raise DomainError(SwitchError.BUSY, "the hub is shutting down", status=503)
            if len(self._queue) >= QUEUE_MAX:
                raise DomainError(
                    SwitchError.BUSY, "the hub is at capacity: retry the payment", status=503
                )
            self._queue.append((payer_code, request, future))
            if len(self._queue) == 1:
                self._work.notify()  # a worker idles only when the queue is empty

    def close(self) -> None:
        """Carry out what is queued, then stop the workers."""
        with self._work:
            self._stopping = True
            self._work.notify_all()
            self._room.notify_all()
        for thread in self._threads:
            thread.join()

    def _take(self) -> list[_Item] | None:
        with self._work:
            while not self._queue:
                if self._stopping:
                    return None
                self._work.wait()
            count = min(len(self._queue), self._group_max)
            taken = [self._queue.popleft() for _ in range(count)]
            self._room.notify_all()
            if self._queue:
                self._work.notify()  # what is left is another worker's group
            return taken

    def _serve(self) -> None:
        while (taken := self._take()) is not None:
            push: Callable[[], None] = _nothing
            answers: list[Payment | BaseException]
            try:
                carried, push = self.payments.carry_out(
                    [(code, request) for code, request, _ in taken]
                )
                answers = list(carried)
            except BaseException as error:  # every waiting submitter hears of the failure
                log.exception("payment group failed", payments=len(taken))
                answers = [error] * len(taken)
            else:
                self.groups += 1
                self.submitted += len(taken)
            _settle([(future, answer) for (*_, future), answer in zip(taken, answers, strict=True)])
            try:
                push()  # the status reports, once the submitters have their answers
            except Exception:  # best effort: a participant that missed one asks (pacs.028)
                log.exception("status reports not pushed", payments=len(taken))


def _nothing() -> None:
    return None


def _settle(settled: list[tuple[_Waiter, Payment | BaseException]]) -> None:
    """Each waiter gets its answer; the waiters of one event loop, in one call on it."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Waiter, Payment | BaseException]]] = {}
    for future, answer in settled:
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append((future, answer))
        else:
            _answer(future, answer)
    for loop, waiting in by_loop.items():
        try:
            loop.call_soon_threadsafe(_answer_all, waiting)
        except RuntimeError:  # the loop closed: nobody is waiting any more
            log.warning("answers for a closed event loop dropped", payments=len(waiting))


def _answer_all(waiting: list[tuple[_Waiter, Payment | BaseException]]) -> None:
    for future, answer in waiting:
        _answer(future, answer)


def _answer(future: _Waiter, answer: Payment | BaseException) -> None:
    if future.done():  # its waiter gave up (a client that went away cancels it)
        return
    try:
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
    except InvalidStateError:  # a thread's Future cancelled since done() was asked
        pass
