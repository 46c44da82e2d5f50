"""HERON labelling speed: the vectorised hierarchical comparison against a Python loop over pairs.

Reproduce (about 30 seconds)::

    .venv/bin/python benchmarks/preference_labels_speed.py

Random factor sums of 3 factors; the vectorised ``hierarchical_labels`` labels 10^4 to 10^6 pairs
(median of 5 runs), the per-pair loop (the reference implementation's approach) 10^4 pairs, and
``HeronGatherer.all_pairs`` labels every pair of 1,415 fragments (about 10^6 pairs).
Target: 10^6 pairs in under 1 s on CPU. Writes ``benchmarks/results/preference_labels_speed.md``.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from rewarddesign.preferences import Fragments, HeronGatherer, hierarchical_labels

RESULTS = Path(__file__).resolve().parent / "results"
RANKING, SIGNS, MARGINS = [0, 1, 2], [-1.0, -1.0, -1.0], [0.1, 0.1, 0.1]


def loop_labels(zi: np.ndarray, zj: np.ndarray) -> np.ndarray:
    out = np.empty(len(zi), dtype=np.int64)
    for p in range(len(zi)):
        label = -1
        for level, k in enumerate(RANKING):
            a, b = SIGNS[k] * zi[p, k], SIGNS[k] * zj[p, k]
            if a > b + MARGINS[level]:
                label = 1
                break
            if b > a + MARGINS[level]:
                label = 0
                break
        out[p] = label
    return out


def median_time(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    lines = [
        "# HERON labelling speed",
        "",
        f"`.venv/bin/python benchmarks/preference_labels_speed.py` ({platform.processor() or platform.machine()}, "
        "CPU). Three factors; median of 5 runs.",
        "",
        "| pairs | vectorised (s) | Python loop (s) | speed-up |",
        "|---|---|---|---|",
    ]
    for n in (10**4, 10**5, 10**6):
        zi, zj = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        vec = median_time(lambda zi=zi, zj=zj: hierarchical_labels(zi, zj, RANKING, SIGNS, MARGINS))
        if n == 10**4:
            loop = median_time(lambda zi=zi, zj=zj: loop_labels(zi, zj), repeats=3)
            assert np.array_equal(loop_labels(zi, zj), hierarchical_labels(zi, zj, RANKING, SIGNS, MARGINS))
            per_pair = loop / n
            lines.append(f"| {n:,} | {vec:.4f} | {loop:.3f} | {loop / vec:.0f}x |")
        else:
            lines.append(f"| {n:,} | {vec:.4f} | {per_pair * n:.1f} (extrapolated) | {per_pair * n / vec:.0f}x |")
        print(lines[-1], flush=True)
    fragments = Fragments(np.zeros((1415, 1, 1)), np.zeros((1415, 1)), factors=rng.normal(size=(1415, 1, 3)))
    gatherer = HeronGatherer(RANKING, SIGNS, [0.1, 0.1, 0.1])
    seconds = median_time(lambda: gatherer.all_pairs(fragments), repeats=3)
    lines += ["", f"`HeronGatherer.all_pairs` on 1,415 fragments ({1415 * 1414 // 2:,} pairs): {seconds:.3f} s."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "preference_labels_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
