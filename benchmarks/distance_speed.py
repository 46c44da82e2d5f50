"""Speed and memory of the reward-distance code, side by side with a loop reference and a naive dense version.

Reproduce (about 3 minutes on 2 cores, peak about 10 GB for the largest size)::

    .venv/bin/python benchmarks/distance_speed.py

1. Canonicalisation time, ``rewarddesign.distances.canonicalize`` against a loop reference (the
   tests' definition, written with Python loops) and a naive dense implementation (per reward,
   an explicit inverse for VAL and the full ``S x S x S x S`` tensor for DARD), on small MDPs
   where all three run; then VAL, EPIC and DARD for ``S = 1000, A = 10`` with 10 successors per
   state-action pair (target: VAL and EPIC under 1 s).
2. A 256 x 256 STARC (VAL, L2, L2) distance matrix for ``S = 32, A = 4`` (target: under 1 s), and
   the same pairs one ``starc_distance`` call at a time.
3. Peak memory (resident set size, each case in a fresh process) of VAL and EPIC for ``S = 5000, A = 10``.

Writes ``benchmarks/results/distance_speed.md``.
"""

from __future__ import annotations

import itertools
import json
import platform
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from rewarddesign.distances import canonicalize, distance_matrix, starc_distance
from rewarddesign.mdp import random_mdp

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def loop_val(reward, mdp):
    T, g, n_s, n_a = mdp.transitions, mdp.gamma, mdp.n_states, mdp.n_actions
    v = np.zeros(n_s)
    for _ in range(400):
        v = np.array(
            [
                sum(T[s, a, t] * (reward[s, a, t] + g * v[t]) for a in range(n_a) for t in range(n_s)) / n_a
                for s in range(n_s)
            ]
        )
    out = np.zeros_like(reward)
    for s, a, t in itertools.product(range(n_s), range(n_a), range(n_s)):
        out[s, a, t] = sum(T[s, a, u] * (reward[s, a, u] - v[s] + g * v[u]) for u in range(n_s))
    return out


def loop_epic(reward, mdp):
    n_s, n_a, g = mdp.n_states, mdp.n_actions, mdp.gamma
    mean = reward.mean((1, 2))
    total = reward.mean()
    out = np.zeros_like(reward)
    for s, a, t in itertools.product(range(n_s), range(n_a), range(n_s)):
        out[s, a, t] = reward[s, a, t] + g * mean[t] - mean[s] - g * total
    return out


def naive_val(reward, mdp):
    T, g = mdp.transitions, mdp.gamma
    pi = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    expected = (reward * T).sum(-1)
    v = np.linalg.inv(np.eye(mdp.n_states) - g * np.einsum("sa,sat->st", pi, T)) @ (pi * expected).sum(1)
    q = expected + g * T @ v
    return np.broadcast_to((q - v[:, None])[:, :, None], reward.shape).copy()


def naive_dard(reward, mdp):
    T, g = mdp.transitions, mdp.gamma
    da = np.full(mdp.n_actions, 1.0 / mdp.n_actions)
    u = np.einsum("xat,xat,a->x", reward, T, da)
    # per action, the full S x S x S x S tensor of joint next-state probabilities T(s, a, x) T(t, a, y)
    term = sum(
        da[a] * np.einsum("stxy,xy->st", np.einsum("sx,ty->stxy", T[:, a], T[:, a]), reward[:, a])
        for a in range(mdp.n_actions)
    )
    return reward + g * u[None, None, :] - u[:, None, None] - g * term[:, None, :]


def peak_memory(case: str) -> float:
    """Peak RSS in GB of one case, in a fresh process."""
    code = (
        "import resource, sys, numpy as np\n"
        "from rewarddesign.distances import canonicalize\n"
        "from rewarddesign.mdp import random_mdp\n"
        "mdp = random_mdp(5000, 10, 0.95, rng=0, branching=10)\n"
        "reward = np.random.default_rng(1).normal(size=(5000, 10, 5000))\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"canonicalize(reward, mdp, {case!r})\n"
        "print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) / 1e6, int(out[1]) / 1e6  # kB -> GB


def main() -> None:
    rows = []
    # 1a. small MDPs: all three implementations
    for n_s, n_a in ((12, 3), (24, 4)):
        mdp = random_mdp(n_s, n_a, 0.95, rng=0, branching=min(10, n_s))
        reward = np.random.default_rng(1).normal(size=(n_s, n_a, n_s))
        for method, loop, naive in (
            ("val", loop_val, naive_val),
            ("epic", loop_epic, None),
            ("dard", None, naive_dard),
        ):
            ours = timed(partial(canonicalize, reward, mdp, method))
            row = {"case": f"{method}, S={n_s}, A={n_a}", "ours_s": ours}
            if loop is not None:
                np.testing.assert_allclose(loop(reward, mdp), canonicalize(reward, mdp, method), atol=1e-6)
                row["loop_s"] = timed(partial(loop, reward, mdp), 1)
            if naive is not None:
                np.testing.assert_allclose(naive(reward, mdp), canonicalize(reward, mdp, method), atol=1e-8)
                row["naive_s"] = timed(partial(naive, reward, mdp))
            rows.append(row)
            print(row, flush=True)
    # 1b. S = 1000, A = 10, 10 successors
    mdp = random_mdp(1000, 10, 0.95, rng=0, branching=10)
    reward = np.random.default_rng(1).normal(size=(1000, 10, 1000))
    for method in ("val", "epic", "dard"):
        row = {"case": f"{method}, S=1000, A=10", "ours_s": timed(partial(canonicalize, reward, mdp, method), 2)}
        if method == "val":
            row["naive_s"] = timed(lambda: naive_val(reward, mdp), 2)
        rows.append(row)
        print(row, flush=True)
    # 2. 256 x 256 STARC matrix on S = 32, A = 4
    mdp = random_mdp(32, 4, 0.95, rng=0)
    batch = np.random.default_rng(2).normal(size=(256, 32, 4, 32))
    matrix_s = timed(lambda: distance_matrix(batch, mdp), 3)
    pairs = [(i, j) for i in range(256) for j in range(i + 1, 256)][:2000]
    start = time.perf_counter()
    for i, j in pairs:
        starc_distance(batch[i], batch[j], mdp)
    per_pair = (time.perf_counter() - start) / len(pairs)
    rows.append({"case": "STARC matrix 256 x 256, S=32, A=4", "ours_s": matrix_s, "naive_s": per_pair * 256 * 255 / 2})
    print(rows[-1], flush=True)
    # 3. peak memory at S = 5000, A = 10
    memory = {case: peak_memory(case) for case in ("val", "epic")}
    print(memory, flush=True)

    def cell(row, key):
        return f"{row[key]:.4f}" if key in row else "-"

    lines = [
        "# Reward-distance speed and memory",
        "",
        f"Command: `.venv/bin/python benchmarks/distance_speed.py` ({platform.machine()}, numpy {np.__version__}). "
        "Seconds, best of a few runs. 'loop': the Python-loop reference; 'naive dense': per reward, an explicit "
        "matrix inverse (VAL), the full S x S x S x S joint tensor (DARD), or one `starc_distance` call per pair "
        "(the matrix row, extrapolated from 2,000 pairs). Random MDPs with 10 successors per (s, a) where S >= 10.",
        "",
        "| case | ours (s) | loop (s) | naive dense (s) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['case']} | {cell(r, 'ours_s')} | {cell(r, 'loop_s')} | {cell(r, 'naive_s')} |" for r in rows]
    lines += [
        "",
        "Peak resident memory for S = 5000, A = 10 (one dense reward and the dense transitions are 2 GB each; "
        "'before' is after building them, 'peak' includes the canonicalisation):",
        "",
        "| canonicalisation | before (GB) | peak (GB) |",
        "|---|---|---|",
    ]
    lines += [f"| {case} | {before:.2f} | {peak:.2f} |" for case, (before, peak) in memory.items()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distance_speed.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "distance_speed.json").write_text(json.dumps({"rows": rows, "memory_gb": memory}, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
