"""A torch random stream owned by one learner: its network initialisation and its training draws (dropout).

Torch's dropout draws from the global generators and takes no generator argument, so a learner
that owns its draws swaps its own state in for each block of work and back out
(:func:`torch.random.fork_rng`): the caller's generators are left as they were, and the learner's
draws depend on its seed alone, whatever else the process drew. The state is saved with a
checkpoint, so a resumed run draws what an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from rewarddesign._seeding import seeded_torch

__all__ = ["TorchStream"]


class TorchStream:
    """Torch generator states (CPU, and the device's where it is CUDA) that one component owns.

    Args:
        seed: Seeds the stream; the first block drawn in it draws what ``torch.manual_seed(seed)``
            followed by that block would.
        device: The device whose draws (dropout on CUDA) are owned too.
    """

    def __init__(self, seed: int, device: torch.device) -> None:
        with seeded_torch(seed):
            self._cpu = torch.get_rng_state()
        self._cuda_index: int | None = None
        self._cuda: torch.Tensor | None = None
        if device.type == "cuda":
            self._cuda_index = device.index if device.index is not None else torch.cuda.current_device()
            with torch.random.fork_rng(devices=[self._cuda_index]):
                torch.cuda.manual_seed(int(seed))
                self._cuda = torch.cuda.get_rng_state(self._cuda_index)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Inside, torch's generators draw from this stream; on exit the caller's states are back."""
        devices = [] if self._cuda_index is None else [self._cuda_index]
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(self._cpu)
            if self._cuda is not None and self._cuda_index is not None:
                torch.cuda.set_rng_state(self._cuda, self._cuda_index)
            try:
                yield
            finally:
                self._cpu = torch.get_rng_state()
                if self._cuda_index is not None:
                    self._cuda = torch.cuda.get_rng_state(self._cuda_index)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The CPU state (and the CUDA one where there is one), for a checkpoint."""
        state = {"cpu": self._cpu.clone()}
        if self._cuda is not None:
            state["cuda"] = self._cuda.clone()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Continue from a :meth:`state_dict` (a CUDA state applies only to a stream on CUDA)."""
        self._cpu = state["cpu"].clone()
        if self._cuda_index is not None and "cuda" in state:
            self._cuda = state["cuda"].clone()
