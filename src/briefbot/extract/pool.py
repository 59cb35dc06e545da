"""A pool of extraction worker processes: all cores, a per-page timeout, flat memory.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot kill the one worker stuck on a
pathological page; the only way out is to break and rebuild the whole pool, losing every page in
flight. Here each worker is a plain `multiprocessing` process on its own pipe, so a page that
overruns its deadline costs exactly one worker, which is killed and replaced while the others go
on. Workers are recycled after `max_tasks_per_worker` pages (and clear trafilatura's caches on the
way) so memory stays flat over thousands of pages; an address-space limit turns a ballooning parse
into a failed page instead of an OOM kill of the machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Self

from briefbot.errors import ExtractError
from briefbot.extract.document import MAX_INPUT_BYTES, extract_document
from briefbot.models import Document, StrictModel

DEFAULT_TIMEOUT = 30.0
DEFAULT_TASKS_PER_WORKER = 250
DEFAULT_MEMORY_LIMIT = 2_000_000_000  # bytes of address space per worker
# Clearing trafilatura's caches costs the next pages a rebuild (stoplists, regexes); recycling the
# worker every DEFAULT_TASKS_PER_WORKER pages already bounds memory, so clear only now and then.
_RESET_EVERY = 100


@dataclass(frozen=True)
class ExtractJob:
    """One page to extract. `key` is the caller's handle (item id, file name) echoed in the result."""

    key: str
    raw: bytes
    url: str
    content_type: str | None = None
    summary: str | None = None
    raw_sha256: str | None = None
    timeout: float | None = None  # overrides the pool's per-page timeout for this page


class ExtractResult(StrictModel):
    """A finished page: a Document, or the reason there is none (timeout, refused, crash)."""

    key: str
    url: str
    document: Document | None = None
    error: str | None = None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.document is not None


_WARM_PAGE = (
    b"<html lang='en'><head><title>Warm-up</title><meta property='article:published_time' content='2024-01-02'>"
    b"</head><body><article><h1>Warm-up</h1>"
    + b"<p>A paragraph of ordinary article text for warming up.</p>" * 20
    + b"</article></body></html>"
)


def _limit_memory(limit: int | None) -> None:
    if not limit:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the timeout still bounds a runaway page


def _worker_main(conn: Connection, max_bytes: int, memory_limit: int | None) -> None:
    from trafilatura.meta import reset_caches

    _limit_memory(memory_limit)
    # Build trafilatura's and htmldate's lazy state now, not on the first real page's clock.
    extract_document(
        _WARM_PAGE,
        url="https://example.org/warm-up",
        content_type="text/html",
        summary=None,
    )
    done = 0
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        reply: tuple[dict[str, Any] | None, str | None]
        try:
            document = extract_document(
                job.raw,
                url=job.url,
                content_type=job.content_type,
                summary=job.summary,
                raw_sha256=job.raw_sha256,
                max_bytes=max_bytes,
            )
            reply = (document.model_dump(mode="json"), None)
        except MemoryError:
            reply = (None, f"{job.url}: extraction ran out of memory")
        except ExtractError as exc:
            reply = (None, str(exc))
        except Exception as exc:
            reply = (None, f"{job.url}: extraction failed: {type(exc).__name__}: {exc}")
        conn.send(reply)
        done += 1
        if done % _RESET_EVERY == 0:
            reset_caches()


class _Worker:
    def __init__(self, ctx, *, max_bytes: int, memory_limit: int | None) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, max_bytes, memory_limit), daemon=True)
        self.process.start()
        child.close()
        self.tasks = 0
        self.job: ExtractJob | None = None
        self.started = 0.0
        self.deadline = 0.0

    def assign(self, job: ExtractJob, timeout: float) -> None:
        self.job, self.started = job, time.monotonic()
        self.deadline = self.started + timeout
        self.conn.send(job)

    def stop(self, *, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
        if not kill:
            self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()
        self.process.close()


class ExtractPool:
    """Extract pages in worker processes, yielding results as they finish (not in input order).

    Use as a context manager. `run(jobs)` pulls jobs lazily, keeping at most one page per worker in
    flight, so a generator over thousands of stored pages never sits in memory at once.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_tasks_per_worker: int = DEFAULT_TASKS_PER_WORKER,
        max_bytes: int = MAX_INPUT_BYTES,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        start_method: str = "forkserver",
    ) -> None:
        if workers is None:
            workers = (
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            )
        self.workers = max(1, workers)
        self.timeout = timeout
        self.max_tasks_per_worker = max_tasks_per_worker
        self.max_bytes = max_bytes
        self.memory_limit = memory_limit
        # forkserver: workers fork from a clean, preloaded server rather than from this process,
        # which may hold threads (asyncio, rich) that fork would copy in a broken state.
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(["briefbot.extract.document"])
        self._idle: list[_Worker] = []
        self._busy: dict[Connection, _Worker] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in [*self._idle, *self._busy.values()]:
            worker.stop(kill=worker.job is not None)
        self._idle.clear()
        self._busy.clear()

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, max_bytes=self.max_bytes, memory_limit=self.memory_limit)

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for memory monitoring)."""
        return [w.process.pid for w in [*self._idle, *self._busy.values()] if w.process.pid is not None]

    def warm_up(self) -> None:
        """Start every worker now (otherwise they start on first use)."""
        while len(self._idle) + len(self._busy) < self.workers:
            self._idle.append(self._spawn())

    def _finish(self, worker: _Worker, result: ExtractResult, *, replace: bool) -> ExtractResult:
        del self._busy[worker.conn]
        worker.job = None
        worker.tasks += 1
        if replace or worker.tasks >= self.max_tasks_per_worker:
            worker.stop(kill=replace)
        else:
            self._idle.append(worker)
        return result

    def _collect(self, worker: _Worker) -> ExtractResult:
        job = worker.job
        assert job is not None
        elapsed = time.monotonic() - worker.started
        try:
            document, error = worker.conn.recv()
        except (EOFError, OSError):
            code = worker.process.exitcode
            result = ExtractResult(
                key=job.key,
                url=job.url,
                error=f"{job.url}: extraction worker died (exit code {code})",
                seconds=elapsed,
            )
            return self._finish(worker, result, replace=True)
        doc = Document.model_validate(document) if document is not None else None
        return self._finish(
            worker,
            ExtractResult(key=job.key, url=job.url, document=doc, error=error, seconds=elapsed),
            replace=False,
        )

    def run(
        self, jobs: Iterable[ExtractJob], *, stop: threading.Event | None = None
    ) -> Iterator[ExtractResult]:
        """Extract every job; a timeout, crash or refusal is a failed result, never an exception.

        Setting `stop` (from another thread) ends the run within a fraction of a second; pages
        still in flight are abandoned to `close()`.
        """
        pending = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(self._busy) < self.workers:
                job = next(pending, None)
                if job is None:
                    exhausted = True
                    break
                if len(job.raw) > self.max_bytes:
                    # Refused here so an oversize page is never even pickled to a worker.
                    yield ExtractResult(
                        key=job.key,
                        url=job.url,
                        seconds=0.0,
                        error=f"{job.url}: page of {len(job.raw)} bytes is over the {self.max_bytes}-byte extraction cap",
                    )
                    continue
                worker = self._idle.pop() if self._idle else self._spawn()
                self._busy[worker.conn] = worker
                try:
                    worker.assign(job, job.timeout if job.timeout is not None else self.timeout)
                except OSError as exc:  # the worker died before taking the page
                    yield self._finish(
                        worker,
                        ExtractResult(
                            key=job.key,
                            url=job.url,
                            seconds=0.0,
                            error=f"{job.url}: extraction worker unavailable: {exc}",
                        ),
                        replace=True,
                    )
            if not self._busy:
                return
            now = time.monotonic()
            if stop is not None and stop.is_set():
                return
            wait_for = max(0.0, min(w.deadline for w in self._busy.values()) - now)
            if stop is not None:
                wait_for = min(wait_for, 0.25)
            for conn in wait(list(self._busy), timeout=wait_for):
                # wait() is typed as returning any waitables; it returns the connections it was given.
                yield self._collect(self._busy[conn])  # type: ignore[index]  # our connections, see above
            now = time.monotonic()
            for worker in [w for w in self._busy.values() if w.deadline <= now and not w.conn.poll()]:
                job = worker.job
                assert job is not None
                limit = worker.deadline - worker.started
                yield self._finish(
                    worker,
                    ExtractResult(
                        key=job.key,
                        url=job.url,
                        seconds=now - worker.started,
                        error=f"{job.url}: extraction timed out after {limit:g}s",
                    ),
                    replace=True,
                )

    async def run_async(self, jobs: Iterable[ExtractJob]) -> AsyncGenerator[ExtractResult, None]:
        """`run` on a thread, for asyncio callers; `jobs` is consumed on that thread."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ExtractResult | None] = asyncio.Queue()

        stop = threading.Event()

        def drive() -> None:
            try:
                for result in self.run(jobs, stop=stop):
                    loop.call_soon_threadsafe(queue.put_nowait, result)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        task = asyncio.ensure_future(asyncio.to_thread(drive))
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            # The caller stopped early (error, cancel): let the thread leave before the pool
            # is closed under it.
            stop.set()
            await task
