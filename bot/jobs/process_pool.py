"""Pure CPU-bound functions in worker processes, with a hard time limit and a memory limit.

A thread cannot be stopped and holds the GIL while it works, so a hostile input handed to a thread
pins a CPU for as long as it likes and stalls the event loop. Here each call runs in a separate
process instead: ``run`` waits without blocking the loop, and a call that outlives ``time_limit``
(or whose caller is cancelled, as at shutdown) has its worker killed with SIGKILL; the next call
starts a fresh one. The memory limit (``RLIMIT_AS``, where the platform has it) turns a runaway
allocation into a ``MemoryError`` in the worker instead of the machine's OOM killer.

Each slot is a ``ProcessPoolExecutor`` with one worker process started with "spawn" (no fork of a
process that runs threads and an event loop), so killing one worker never breaks a call running in
another. At most ``size`` calls run at once per event loop; the others wait for a slot, and the
time limit starts when the call does. The function and its arguments must be picklable (a
module-level function and plain data).

Errors, in builtin types the caller translates for its domain: ``TimeoutError`` (time limit),
``MemoryError`` (memory limit), ``ChildProcessError`` (the worker died); anything the function
raises is re-raised as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

START_TIMEOUT = 60.0  # seconds for a new worker to answer; a busy machine can be slow to spawn


PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (``kill -9`` of newsbot) exits instead of lingering."""
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:  # re-parented: the process that started us is gone
            os._exit(0)


def _one_malloc_arena() -> None:
    """Keep to one malloc arena (glibc reserves 64 MB of address space per thread arena)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, 1)  # M_ARENA_MAX


def _init_worker(memory_limit: int | None, preload: tuple[str, ...]) -> None:
    """Runs once in each new worker: ignore Ctrl-C (the parent decides), exit with the parent,
    cap memory, import."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _one_malloc_arena()  # (a second thread's own arena would eat the memory limit below)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="exit-with-parent").start()
    if memory_limit:
        with contextlib.suppress(ImportError, ValueError, OSError):
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    for name in preload:
        importlib.import_module(name)


class _DiedIdle(ChildProcessError):
    """The worker had died before the call was handed to it."""


@dataclass(slots=True)
class _Worker:
    executor: ProcessPoolExecutor
    pid: int

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        self.executor.shutdown(wait=False, cancel_futures=True)


class ProcessPool:
    """Up to ``size`` worker processes; see the module docstring."""

    def __init__(self, *, size: int, time_limit: float, memory_limit: int | None = None,
                 preload: tuple[str, ...] = ()) -> None:
        if size < 1 or time_limit <= 0:
            raise ValueError("a process pool needs size >= 1 and a positive time limit")
        self.size = size
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.preload = preload
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())
        # a forked child must not reuse its parent's workers (their executor threads stayed
        # behind in the parent): it starts its own
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget_after_fork)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._idle = []
        self._gates = weakref.WeakKeyDictionary()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process, within the time limit (see the module docstring)."""
        async with self._gate():
            try:
                return await self._run_in(await self._live_worker(), fn, args)
            except _DiedIdle:  # nothing ran: once more in a fresh worker
                return await self._run_in(await self._start(), fn, args)

    async def _run_in(self, worker: _Worker, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        reuse = False
        try:
            result = await self._call(worker, fn, args)
            reuse = True
            return result
        except (TimeoutError, MemoryError, ChildProcessError):
            raise  # the worker is stuck, dead or may be in a bad state: replaced
        except Exception:
            reuse = True  # the function raised: the worker itself is fine
            raise
        finally:  # also on cancellation: a worker whose caller went away is killed
            self._give_back(worker) if reuse else worker.kill()

    async def _live_worker(self) -> _Worker:
        """An idle worker that is still alive (one that died while idle — the OOM killer, a
        stray kill — is dropped: nothing ran in it), else a new one."""
        while (worker := self._take()) is not None:
            if worker.executor._broken:  # (set by the executor when its process died)
                worker.kill()
                continue
            try:
                os.kill(worker.pid, 0)
                return worker
            except ProcessLookupError:
                worker.kill()
        return await self._start()

    def close(self) -> None:
        """Stop the idle workers (a busy one is killed when its call ends or is cancelled)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    async def _call(self, worker: _Worker, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            waiter = asyncio.wrap_future(worker.executor.submit(fn, *args))
        except BrokenProcessPool:  # died while idle (the OOM killer, a stray kill): replaced
            raise _DiedIdle("the worker process had died") from None
        try:
            done, _ = await asyncio.wait({waiter}, timeout=self.time_limit)
        finally:
            if not waiter.done():
                waiter.cancel()  # its late outcome (the pool breaking on kill) is not wanted
        if not done:
            raise TimeoutError(f"still running after the time limit of {self.time_limit:g} s")
        try:
            return waiter.result()
        except BrokenProcessPool:
            raise ChildProcessError("the worker process died (killed or crashed)") from None

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            gate = self._gates.get(loop)
            if gate is None:
                gate = self._gates[loop] = asyncio.Semaphore(self.size)
            return gate

    def _take(self) -> _Worker | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    async def _start(self) -> _Worker:
        executor = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(self.memory_limit, self.preload))
        try:
            # submit starts the process: off the loop; the answer tells which process to kill later
            started = await asyncio.to_thread(executor.submit, os.getpid)
            pid = await asyncio.wait_for(asyncio.wrap_future(started), START_TIMEOUT)
        except BrokenProcessPool:
            executor.shutdown(wait=False, cancel_futures=True)
            raise ChildProcessError("a worker process could not start (see its error output; "
                                    "an unguarded __main__ module is the usual cause)") from None
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return _Worker(executor, pid)
