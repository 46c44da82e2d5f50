"""Reference returns of published benchmarks, shared by the benchmark suites and the offline datasets.

A module of plain data, so that importing it costs nothing (the suites are read before any training).
"""

from __future__ import annotations

__all__ = ["D4RL_REFERENCE_SCORES"]

#: D4RL's reference returns (random policy, expert policy) by env id (Fu et al. 2020), for normalised scores.
D4RL_REFERENCE_SCORES: dict[str, tuple[float, float]] = {
    "HalfCheetah-v5": (-280.178953, 12135.0),
    "Hopper-v5": (-20.272305, 3234.3),
    "Walker2d-v5": (1.629008, 4592.3),
}
