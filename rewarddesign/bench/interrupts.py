"""Interrupts of a sweep: SIGINT (Ctrl-C) and SIGTERM stop it within seconds and keep every finished run.

While :func:`~rewarddesign.bench.store.sweep` runs (so :func:`~rewarddesign.bench.runner.run_suite`
and :func:`~rewarddesign.bench.experiments.run_experiment`), an :class:`InterruptGuard` handles
SIGINT and SIGTERM in the calling process: the first signal stops the sweep (the executor cancels
the runs that have not started and stops those in progress: local worker processes are
terminated, Ray tasks cancelled and a Ray instance the sweep started is shut down), and the sweep
then raises :class:`SweepInterrupted`, which says how many runs are finished and kept. Signals
that arrive while it stops are noted on stderr and otherwise ignored, so a second Ctrl-C cannot
leave workers behind. A finished run is written and recorded as one step: a signal that arrives
meanwhile takes effect once its record is whole. The previous handlers come back when the sweep
ends. Outside the main thread (where Python cannot handle signals) nothing is installed.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["SweepInterrupted", "InterruptGuard", "STOP_SIGNALS"]

#: The signals that stop a sweep.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by SIGINT or SIGTERM after its finished runs were recorded.

    A subclass of :class:`KeyboardInterrupt`, so code that stops on Ctrl-C stops on it too; the
    ``rewarddesign bench`` command prints its message and exits with :attr:`exit_code`.

    Args:
        signum: The signal's number.
        what: The suite or experiment, as the message names it (``"suite 'quick'"``).
        out_dir: Its results directory.
        finished: Runs finished and kept there.
        total: Runs of the suite or experiment.

    Attributes:
        signum: The signal's number.
        finished: Runs finished and kept.
        total: Runs of the suite or experiment.
        out_dir: The results directory (None while the sweep stops).
    """

    def __init__(
        self, signum: int, what: str = "sweep", out_dir: str | Path | None = None, finished: int = 0, total: int = 0
    ) -> None:
        self.signum, self.what, self.finished, self.total = signum, what, finished, total
        self.out_dir = None if out_dir is None else Path(out_dir)
        super().__init__(str(self))

    @property
    def signal_name(self) -> str:
        """``"SIGINT"`` or ``"SIGTERM"``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The conventional exit status of a command stopped by the signal: 128 plus its number
        (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum

    def __str__(self) -> str:
        where = "" if self.out_dir is None else f" in {self.out_dir}"
        kept = f"{self.finished} of {self.total} runs finished and kept{where}"
        return f"{self.what} stopped by {self.signal_name}: {kept}; the same command resumes from them"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its fields
        return (type(self), (self.signum, self.what, self.out_dir, self.finished, self.total))


class InterruptGuard:
    """Turns the first SIGINT or SIGTERM into :class:`SweepInterrupted` and ignores the ones after it.

    Use as a context manager around a sweep; :meth:`deferred` marks a block that a signal must not
    cut (writing and recording a finished run).

    Attributes:
        signum: The first signal received, or None.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._deferring = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # already stopping: say so, and let the stop finish
            os.write(2, f"\n{signal.Signals(signum).name} received: stopping already, please wait\n".encode())
            return
        self.signum = signum
        if not self._deferring:
            raise SweepInterrupted(signum)

    def take_back(self) -> None:
        """Handle the signals again where something started meanwhile replaced the handlers (``ray.init``
        installs its own SIGTERM handler); the handlers restored at the end stay those found first."""
        for signum in self._previous:
            if signal.getsignal(signum) != self._handle:
                signal.signal(signum, self._handle)

    def hold(self) -> None:
        """From now on a signal is only recorded (in :attr:`signum`): the sweep is stopping already and
        its clean-up must not be cut."""
        self._deferring = True

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A block that completes before a signal received during it takes effect."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.signum is not None:
            raise SweepInterrupted(self.signum)
