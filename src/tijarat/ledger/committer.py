"""Group commit: many concurrent callers, each with a few transfers, share one transaction.

Callers enqueue their transfers and wait on a future; a worker thread drains whatever has
queued up (at most BATCH_MAX events), applies it as one batch and one commit, and then
answers every caller. A caller is answered only after the commit: acknowledged means
durable. Under load, batches grow by themselves; an idle system still answers a lone caller
at once. This is how TigerBeetle's clients batch, and how databases amortise fsync.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from tijarat.kernel.errors import DomainError
from tijarat.ledger.errors import LedgerError
from tijarat.ledger.model import BATCH_MAX, CreateTransferResult, Transfer, TransferFlags

Apply = Callable[[Sequence[Transfer]], list[CreateTransferResult]]
QUEUE_EVENTS_MAX = 16 * BATCH_MAX  # back-pressure: callers wait when this many events queue
LINGER_S = 0.000_5  # at most this long for last batch's callers to come back (an fsync is ~0.1 ms)


class _Waiter:
    """A blocking caller's answer: a pre-acquired lock the worker releases.

    The cheapest hand-off between two threads in CPython; a Future builds a Condition and
    takes several more lock round trips, which showed up as CPU per transfer.
    """

    __slots__ = ("_done", "error", "results")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self.results: list[CreateTransferResult] = []
        self.error: BaseException | None = None

    def set_result(self, results: list[CreateTransferResult]) -> None:
        self.results = results
        self._done.release()

    def set_exception(self, error: BaseException) -> None:
        self.error = error
        self._done.release()

    def result(self) -> list[CreateTransferResult]:
        self._done.acquire()
        if self.error is not None:
            raise self.error
        return self.results


@dataclass(slots=True)
class _Request:
    transfers: Sequence[Transfer]
    future: Future[list[CreateTransferResult]] | _Waiter


class GroupCommitter:
    def __init__(
        self,
        apply: Apply,
        *,
        workers: int = 1,
        batch_max: int = BATCH_MAX,
        on_worker_start: Callable[[], None] | None = None,
        on_worker_stop: Callable[[], None] | None = None,
        linger_s: float = LINGER_S,
    ) -> None:
        if not 1 <= batch_max <= BATCH_MAX:
            raise ValueError(f"batch_max must be in 1..{BATCH_MAX}")
        self._apply = apply
        self._batch_max = batch_max
        self._on_worker_start = on_worker_start
        self._on_worker_stop = on_worker_stop
        self._linger_s = linger_s
        self._last_requests = 0
        self._queue: deque[_Request] = deque()
        self._queued_events = 0
        # One lock, two conditions: workers wait for work, callers for room in the queue.
        # A caller wakes a worker only when that worker would act on it (see submit), not on
        # every request: waking a thread costs more CPU than the request itself.
        lock = threading.Lock()
        self._work = threading.Condition(lock)
        self._room = threading.Condition(lock)
        self._stopping = False
        self.batches = 0  # committed batches, for metrics and benchmarks
        self.events = 0
        self._threads = [
            threading.Thread(target=self._run, name=f"ledger-commit-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, transfers: Sequence[Transfer]) -> Future[list[CreateTransferResult]]:
        """Queue transfers for the next shared commit; the future resolves once durable."""
        future: Future[list[CreateTransferResult]] = Future()
        self._enqueue(_Request(list(transfers), future))
        return future

    def apply(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Queue transfers for the next shared commit and wait until it is durable."""
        waiter = _Waiter()
        self._enqueue(_Request(list(transfers), waiter))
        return waiter.result()

    def _enqueue(self, request: _Request) -> None:
        transfers = request.transfers
        if not 1 <= len(transfers) <= self._batch_max:
            raise DomainError(
                LedgerError.BATCH_TOO_LARGE if transfers else LedgerError.BATCH_EMPTY,
                f"a request carries 1 to {self._batch_max} transfers, not {len(transfers)}",
                status=422,
                fields={"count": len(transfers), "max": self._batch_max},
            )
        with self._work:
            while self._queued_events >= QUEUE_EVENTS_MAX and not self._stopping:
                self._room.wait()
            if self._stopping:
                raise DomainError(
                    LedgerError.COMMITTER_STOPPED, "the ledger is shutting down", status=503
                )
            self._queue.append(request)
            self._queued_events += len(request.transfers)
            queued = len(self._queue)
            # A worker waits either for a first request (idle) or, lingering, for as many as
            # the last batch served, or for a full batch.
            if queued in (1, self._last_requests) or self._queued_events >= self._batch_max:
                self._work.notify()

    def close(self) -> None:
        """Finish what is queued, then stop the workers."""
        with self._work:
            self._stopping = True
            self._work.notify_all()
            self._room.notify_all()
        for thread in self._threads:
            thread.join()

    def _take(self) -> list[_Request] | None:
        with self._work:
            while True:
                while not self._queue and not self._stopping:
                    self._work.wait()
                if not self._queue:
                    return None  # stopping, and nothing left to do
                self._linger()
                if self._queue:  # another worker may have taken everything meanwhile
                    break
            taken = [self._queue.popleft()]
            count = len(taken[0].transfers)
            # A request whose last transfer leaves a linked chain open is applied alone, so
            # that its open chain cannot swallow the next caller's transfers.
            if not _chain_open(taken[0]):
                while self._queue:
                    nxt = self._queue[0]
                    if count + len(nxt.transfers) > self._batch_max or _chain_open(nxt):
                        break
                    taken.append(self._queue.popleft())
                    count += len(nxt.transfers)
            self._queued_events -= count
            self._last_requests = len(taken)
            self._room.notify_all()
            if self._queue:
                self._work.notify()  # what is left is another worker's next batch
            return taken

    def _linger(self) -> None:
        """Wait a little for last batch's callers, like PostgreSQL's commit_delay.

        Callers answered by the last batch are about to come back; waiting (at most
        linger_s) until as many are queued as it served makes the next commit carry them
        all, instead of batches alternating between small and large. Called with the lock.
        """
        deadline = time.monotonic() + self._linger_s
        while (
            len(self._queue) < self._last_requests
            and self._queued_events < self._batch_max
            and not self._stopping
        ):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._work.wait(remaining)

    def _run(self) -> None:
        if self._on_worker_start is not None:
            self._on_worker_start()
        try:
            self._serve()
        finally:
            if self._on_worker_stop is not None:
                self._on_worker_stop()

    def _serve(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            transfers = [t for request in taken for t in request.transfers]
            try:
                results = self._apply(transfers)
            except BaseException as error:  # every waiting caller hears of the failure
                for request in taken:
                    request.future.set_exception(error)
                continue
            self.batches += 1
            self.events += len(transfers)
            offset = 0
            for request in taken:
                size = len(request.transfers)
                request.future.set_result(results[offset : offset + size])
                offset += size


_LINKED = int(TransferFlags.LINKED)  # a plain int: `0 & IntFlag` goes through enum's code


def _chain_open(request: _Request) -> bool:
    return bool(int(request.transfers[-1].flags) & _LINKED)
