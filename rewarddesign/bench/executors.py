"""Executors: where the runs of a sweep compute. Local processes by default, Ray on a cluster.

An executor maps a function over run specs and yields each result as soon as it is ready, in
whatever order runs finish; the runner writes the files, so workers need no shared disk. When the
consumer stops early (the generator is closed, or an exception such as
:class:`~rewarddesign.bench.interrupts.SweepInterrupted` reaches it), the executor cancels the runs
that have not started and stops the ones in progress before it returns.

- :class:`LocalExecutor`: processes on this machine (``spawn``), or the calling process for one
  worker; nothing to start. Worker processes ignore SIGINT (the calling process handles it and
  terminates them) and exit when the calling process dies.
- :class:`RayExecutor`: Ray tasks (``pip install 'rewarddesign[ray]'``), on a local Ray instance
  that it starts and stops, or on a running cluster (``address="auto"`` or ``"host:port"``). The
  package must be importable on every node.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from rewarddesign._validation import check_positive_int

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "make_executor", "EXECUTORS"]


class Executor(Protocol):
    """What the runner needs of an executor."""

    name: str

    def map(self, fn: Callable[[Any, str], dict], specs: Sequence[Any], device: str) -> Iterator[dict]:
        """Yield ``fn(spec, device)`` for every spec, each as soon as it is done."""
        ...


class LocalExecutor:
    """Runs on this machine: in this process for ``workers=1``, else in ``workers`` spawned processes
    (each with one torch thread).

    A sweep that stops early (an error, SIGINT or SIGTERM) cancels the queued runs and terminates
    the worker processes within seconds (:data:`STOP_TIMEOUT`), so no run keeps computing.
    """

    def __init__(self, workers: int = 1) -> None:
        check_positive_int(workers, "workers")
        self.workers = workers
        self.name = f"local, {workers} worker{'s' if workers > 1 else ''}"

    def map(self, fn: Callable[[Any, str], dict], specs: Sequence[Any], device: str) -> Iterator[dict]:
        if self.workers == 1 or len(specs) <= 1:
            for spec in specs:
                yield fn(spec, device)
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(min(self.workers, len(specs)), mp_context=context, initializer=_worker_setup)
        try:
            futures = [pool.submit(fn, spec, device) for spec in specs]
            for future in as_completed(futures):
                yield future.result()
        except BaseException:  # stopped early (closed, interrupted, a run failed): stop every worker
            _stop_pool(pool)
            raise
        pool.shutdown()


#: Seconds a terminated worker process has to exit before it is killed.
STOP_TIMEOUT = 5.0


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued runs of ``pool`` and terminate its worker processes (kill those that linger)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14 and later
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if terminate is not None:
        terminate()
    else:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)
    pool.shutdown(wait=True, cancel_futures=True)


def _worker_setup() -> None:
    """Each worker process computes with one torch thread (runs go in parallel, one per core), leaves
    SIGINT to the calling process (which stops the workers), and exits if the calling process dies.

    The pool's initializer, so it runs only in the spawned worker processes: the calling process
    (and ``workers=1``, which runs there) keeps its own thread setting and signal handlers.
    """
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: Any) -> None:
    """Wait until the parent process ends, then end this one (a worker never outlives its sweep)."""
    parent.join()
    os._exit(1)


def _check_reachable(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at ``host:port`` (Ray itself retries for minutes)."""
    target = address.split("://", 1)[-1]
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f'a Ray address is "auto" or "host:port", got {address!r}')
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ConnectionError(f"no Ray cluster answers at {address} ({error})") from error


class RayExecutor:
    """Runs each run as a Ray task.

    Args:
        address: None starts a local Ray instance (stopped by :meth:`close`); ``"auto"`` joins the
            cluster this machine belongs to; ``"host:port"`` joins the cluster whose head listens
            there.
        fallback: When the cluster does not answer, warn and run with ``fallback_workers`` local
            processes instead of failing.
        fallback_workers: Processes of the local fallback.
        num_cpus: CPUs each run reserves (runs set torch to one thread).
        num_gpus: GPUs (or a fraction of one) each run reserves.
        connect_timeout: Seconds to wait for ``host:port`` to answer.

    Raises:
        ImportError: Ray is not installed.
        ConnectionError: The cluster does not answer and ``fallback`` is False.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        fallback: bool = False,
        fallback_workers: int = 1,
        num_cpus: float = 1,
        num_gpus: float = 0,
        connect_timeout: float = 5.0,
    ) -> None:
        try:
            import ray
        except ImportError as error:
            raise ImportError("the Ray executor needs Ray: pip install 'rewarddesign[ray]'") from error
        self._ray, self.num_cpus, self.num_gpus = ray, num_cpus, num_gpus
        self._owned = False
        self._fallback: LocalExecutor | None = None
        try:
            if not ray.is_initialized():
                if address not in (None, "auto"):
                    _check_reachable(address, connect_timeout)
                try:
                    ray.init(address=address, log_to_driver=False, include_dashboard=False, configure_logging=False)
                except ConnectionError as error:
                    raise ConnectionError(f"no Ray cluster answers at {address!r} ({error})") from error
                self._owned = address is None
        except ConnectionError as error:
            if not fallback:
                raise ConnectionError(
                    f"{error}; start one with `ray start --head`, check the address, or pass --ray-fallback "
                    "to run on local processes instead"
                ) from error
            warnings.warn(f"{error}; running on local processes instead", RuntimeWarning, stacklevel=2)
            self._fallback = LocalExecutor(fallback_workers)
        if self._fallback is not None:
            self.name = f"Ray unreachable, {self._fallback.name}"
        else:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            self.name = f"ray, {cpus} CPUs" + ("" if self._owned else f" at {address}")

    def map(self, fn: Callable[[Any, str], dict], specs: Sequence[Any], device: str) -> Iterator[dict]:
        if self._fallback is not None:
            yield from self._fallback.map(fn, specs, device)
            return
        ray = self._ray
        task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus)(fn)
        pending = [task.remote(spec, device) for spec in specs]
        try:
            while pending:  # waits of half a second, so that signals are handled between them
                done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                if done:
                    yield ray.get(done[0])
        finally:
            for ref in pending:  # a sweep stopped early cancels what has not run and stops what runs
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Stop the Ray instance this executor started (a joined cluster keeps running)."""
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False


#: Executor names for :func:`make_executor` and the command line.
EXECUTORS = ("local", "ray")


def make_executor(
    executor: Any = "local", *, workers: int = 1, address: str | None = None, fallback: bool = False
) -> Any:
    """An executor by name (``"local"`` or ``"ray"``), or ``executor`` itself when it is one already."""
    if not isinstance(executor, str):
        return executor
    if executor == "local":
        if address is not None:
            raise ValueError("a Ray address needs the Ray executor (--executor ray)")
        return LocalExecutor(workers)
    if executor == "ray":
        return RayExecutor(address, fallback=fallback, fallback_workers=workers)
    raise ValueError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
