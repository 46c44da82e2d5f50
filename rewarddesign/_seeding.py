"""Seeded torch draws that leave the caller's generators as they were, shared by every module."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["seeded_torch"]


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
        torch.manual_seed(int(seed))
        yield
