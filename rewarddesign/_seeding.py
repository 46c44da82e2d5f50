"""Random streams owned by components, and isolation of the process's global generators.

Library code never seeds the caller's global generators. Where a draw can only come from a global
generator (torch's dropout and ``torch.randn`` without a ``generator``; Stable-Baselines3, whose
``seed=`` calls ``set_random_seed`` and whose ``learn`` and ``predict`` draw from Python's
``random``, numpy's legacy global ``np.random`` and torch's generators), the component owns a
*state* of those generators and swaps it in around each block that draws; on exit the caller's
states are back:

- :func:`seeded_torch`: one block with torch's CPU generator seeded;
- :class:`TorchStream`: torch's CPU generator (and a CUDA device's) owned by one component, kept
  across blocks and saved with checkpoints;
- :func:`isolated_global_random`: every global generator of the process saved on entry and
  restored on exit;
- :class:`GlobalRandomStream`: a state of every global generator owned by one component (an SB3
  user), kept across blocks.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["seeded_torch", "TorchStream", "isolated_global_random", "GlobalRandomStream"]

#: The seed of a CUDA generator that was never seeded (torch's ``default_rng_seed_val``).
_CUDA_DEFAULT_SEED = 67280421310721


@contextlib.contextmanager
def seeded_torch(seed: int | None) -> Iterator[None]:
    """Inside, torch's CPU generator is a fork seeded with ``seed``; on exit the caller's state is back.

    Build modules on the CPU inside it so that ``seed`` alone fixes their initial weights, whatever
    the process drew before and without changing what it draws after. ``None`` draws from the
    caller's generator as it stands (torch's own default).
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(int(seed))
        yield


def _cuda_index(device: torch.device | str) -> int | None:
    """The CUDA device index whose generator ``device`` draws from, None off CUDA."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return device.index if device.index is not None else torch.cuda.current_device()


class TorchStream:
    """Torch generator states (CPU, and the device's where it is CUDA) that one component owns.

    Torch's dropout and ``torch.randn`` without a ``generator`` draw from the global generators, so
    a component that owns its draws swaps its own state in for each block of work and back out
    (:meth:`active`, built on :func:`torch.random.fork_rng`): the caller's generators are left as
    they were, and the component's draws depend on its seed alone, whatever else the process drew.
    :meth:`state_dict` goes with a checkpoint, so a resumed run draws what an uninterrupted one would.

    Args:
        seed: Seeds the stream; the first block drawn in it draws what ``torch.manual_seed(seed)``
            followed by that block would. ``None``: no stream of its own, the blocks draw from the
            caller's generators as they stand.
        device: The device whose draws (dropout on CUDA) are owned too.
    """

    def __init__(self, seed: int | None, device: torch.device | str = "cpu") -> None:
        self._seed = None if seed is None else int(seed)
        self._cuda_index = _cuda_index(device)
        self._cpu: torch.Tensor | None = None
        self._cuda: torch.Tensor | None = None  # seeded at the first block on CUDA
        if self._seed is not None:
            self._cpu = torch.Generator().manual_seed(self._seed).get_state()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Inside, torch's generators draw from this stream; on exit the caller's states are back."""
        seed, cpu = self._seed, self._cpu
        if seed is None or cpu is None:
            yield
            return
        index = self._cuda_index
        with torch.random.fork_rng(devices=[] if index is None else [index]):
            torch.set_rng_state(cpu)
            if index is not None:
                if self._cuda is None:
                    with torch.cuda.device(index):
                        torch.cuda.manual_seed(seed)
                else:
                    torch.cuda.set_rng_state(self._cuda, index)
            try:
                yield
            finally:
                self._cpu = torch.get_rng_state()
                if index is not None:
                    self._cuda = torch.cuda.get_rng_state(index)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The CPU state (and the CUDA one once drawn from), for a checkpoint; empty without a seed."""
        state = {} if self._cpu is None else {"cpu": self._cpu.clone()}
        if self._cuda is not None:
            state["cuda"] = self._cuda.clone()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Continue from a :meth:`state_dict` (a CUDA state applies only to a stream on CUDA).

        Raises:
            ValueError: A state given to a stream without seed (which has none of its own).
        """
        if self._seed is None:
            if state:
                raise ValueError("state: a TorchStream without seed draws from the caller's generators, it takes none")
            return
        if "cpu" in state:
            self._cpu = state["cpu"].clone()
        if self._cuda_index is not None and "cuda" in state:
            self._cuda = state["cuda"].clone()


@dataclass
class _GlobalState:
    """The states of the process's global generators."""

    python: Any
    numpy: Any
    torch_cpu: torch.Tensor
    #: ``{index: state}`` of the CUDA devices, when CUDA is initialised.
    torch_cuda: dict[int, torch.Tensor]
    #: Seeds that ``torch.manual_seed`` queued for a CUDA that is not initialised yet.
    cuda_pending: dict[str, Any] | None


def _cuda_ready() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _capture() -> _GlobalState:
    cuda = {i: torch.cuda.get_rng_state(i) for i in range(torch.cuda.device_count())} if _cuda_ready() else {}
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    pending = copy.copy(vars(tracker)) if tracker is not None and not _cuda_ready() else None
    return _GlobalState(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda, pending)


def _restore(state: _GlobalState) -> None:
    random.setstate(state.python)
    np.random.set_state(state.numpy)
    torch.set_rng_state(state.torch_cpu)
    if _cuda_ready():
        for index in range(torch.cuda.device_count()):
            if index in state.torch_cuda:
                torch.cuda.set_rng_state(state.torch_cuda[index], index)
            else:  # initialised inside the block: back to the state of a fresh generator
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(_CUDA_DEFAULT_SEED)
    elif state.cuda_pending is not None:  # seeds queued inside the block would apply at initialisation
        vars(torch.cuda._lazy_seed_tracker).update(state.cuda_pending)


@contextlib.contextmanager
def isolated_global_random() -> Iterator[None]:
    """Inside, code may seed and draw from the process's global generators; on exit they are as they were.

    Saves Python's ``random``, numpy's legacy global state (``np.random``), torch's CPU generator
    and, where CUDA is initialised, every CUDA device's generator, and restores them on exit (also
    on an exception). A CUDA device first initialised inside the block is left as a fresh one.
    """
    saved = _capture()
    try:
        yield
    finally:
        _restore(saved)


class GlobalRandomStream:
    """A state of every global generator of the process, owned by one component and kept across blocks.

    For components that cannot be given a generator, such as Stable-Baselines3 models (``seed=``
    calls ``set_random_seed``; ``learn`` and ``predict(deterministic=False)`` draw from Python's
    ``random``, ``np.random`` and torch's generators): run each block that builds, trains or
    samples them inside :meth:`active`. Its draws then depend on the stream alone, whatever else the
    process drew in between, and the caller's generators are left as they were.

    Args:
        seed: Seeds the stream: the first block starts from the states that SB3's
            ``set_random_seed(seed)`` sets (CUDA devices are seeded with ``seed`` when first drawn in).
    """

    def __init__(self, seed: int) -> None:
        self._seed = int(seed)
        self._state = _GlobalState(
            random.Random(self._seed).getstate(),
            np.random.RandomState(self._seed).get_state(),
            torch.Generator().manual_seed(self._seed).get_state(),
            {},
            None,
        )
        self._depth = 0

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Inside, the global generators draw from this stream; on exit the caller's states are back.

        Reentrant: a block inside a block of the same stream continues it.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with isolated_global_random():
            random.setstate(self._state.python)
            np.random.set_state(self._state.numpy)
            torch.set_rng_state(self._state.torch_cpu)
            if _cuda_ready():
                for index in range(torch.cuda.device_count()):
                    if index in self._state.torch_cuda:
                        torch.cuda.set_rng_state(self._state.torch_cuda[index], index)
                    else:
                        with torch.cuda.device(index):
                            torch.cuda.manual_seed(self._seed)
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                self._state = _capture()
                self._state.cuda_pending = None
