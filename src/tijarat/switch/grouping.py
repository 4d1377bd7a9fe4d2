"""Concurrent credit transfers, carried out in groups (Payments.submit_many).

The HTTP API hands every credit transfer to a PaymentQueue and awaits its future; a few
worker threads each take whatever has queued up (at most GROUP_MAX) and carry it out as one
group: the database's and the ledger's round trips, and the waits on payees, are shared by
the whole group instead of paid per payment on a thread per request. Under load, groups grow
by themselves; a lone payment is carried out at once, as a group of one. The ledger's group
commit (ledger/committer.py) works the same way, one level down.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future

import structlog

from tijarat.kernel.errors import DomainError
from tijarat.switch.errors import SwitchError
from tijarat.switch.model import CreditTransfer, Payment
from tijarat.switch.payments import Payments

log = structlog.get_logger("tijarat.switch")
GROUP_MAX = 256  # payments per group: one statement's parameters stay far under 65,535
QUEUE_MAX = 16 * GROUP_MAX  # back-pressure: submitters wait when this many are queued
WORKERS = 2  # groups in flight: one is with the database while the other waits on payees

_Item = tuple[str, CreditTransfer, "Future[Payment]"]


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
        with self._work:
            while len(self._queue) >= QUEUE_MAX and not self._stopping:
                self._room.wait()
            if self._stopping:
                raise DomainError(SwitchError.BUSY, "the hub is shutting down", status=503)
            self._queue.append((payer_code, request, future))
            if len(self._queue) == 1:
                self._work.notify()  # a worker idles only when the queue is empty
        return future

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
            try:
                answers = self.payments.submit_many([(code, request) for code, request, _ in taken])
            except BaseException as error:  # every waiting submitter hears of the failure
                log.exception("payment group failed", payments=len(taken))
                for *_, future in taken:
                    future.set_exception(error)
                continue
            self.groups += 1
            self.submitted += len(taken)
            for (*_, future), answer in zip(taken, answers, strict=True):
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
