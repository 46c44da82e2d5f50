"""GPU check: CUDA training and the batched distance code, each timed beside the CPU.

Reproduce on a machine with CUDA (about 2 minutes)::

    .venv/bin/python benchmarks/gpu_check.py

``benchmarks/gpu_check.sh`` runs it (and the full-length Ant coverage benchmark) on a lent GPU
machine that has no package registry. Checks, each on CUDA and on CPU in the same run:

1. SB3 PPO through ``rewarddesign.train.train`` (CartPole-v1, 20k steps): the model lands on
   CUDA, and the wall time.
2. ``rewarddesign.distances.distance_matrix``: 256 x 256 STARC (VAL) distances for S = 32, A = 4,
   and EPIC / DARD / STARC for 64 rewards on S = 200, A = 5; CUDA results must equal CPU ones.
3. ``rewarddesign.submodular.SubPO`` with ``device="cuda"`` on the coverage grid (20 updates).
4. ``rewarddesign.rewards.MLPRewardNet`` on CUDA: a batch of a million transitions.

Writes ``benchmarks/results/gpu_check.md`` (or ``--out``) and fails when CUDA is missing or a
CUDA result differs from the CPU one.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn, repeats: int = 1):
    """The result of ``fn()`` and its best wall time over ``repeats`` calls (CUDA synchronised)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "gpu_check.md"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check needs a GPU")

    import gymnasium as gym

    from rewarddesign.distances import distance_matrix
    from rewarddesign.mdp import random_mdp
    from rewarddesign.rewards import MLPRewardNet
    from rewarddesign.submodular import SubPO
    from rewarddesign.train import train

    rows: list[tuple[str, str, str, str]] = []  # check, CUDA, CPU, note
    failures: list[str] = []

    # 1. PPO training
    gpu, gpu_time = timed(lambda: train("CartPole-v1", "ppo", 20_000, seed=0, device="cuda", n_envs=4))
    cpu, cpu_time = timed(lambda: train("CartPole-v1", "ppo", 20_000, seed=0, device="cpu", n_envs=4))
    if not gpu.device.startswith("cuda"):
        failures.append(f"PPO trained on {gpu.device}")
    rows.append(("PPO CartPole-v1, 20k steps, 4 envs", f"{gpu_time:.1f} s ({gpu.device})", f"{cpu_time:.1f} s", ""))

    # 2. distances
    def compare(name, rewards, mdp, repeats=3, **kwargs):
        on_gpu, t_gpu = timed(lambda: distance_matrix(rewards, mdp, device="cuda", **kwargs), repeats)
        on_cpu, t_cpu = timed(lambda: distance_matrix(rewards, mdp, **kwargs), repeats)
        error = float(np.abs(on_gpu - on_cpu).max())
        if not error < 1e-8:
            failures.append(f"{name}: CUDA and CPU differ by {error:.2e}")
        rows.append((name, f"{1e3 * t_gpu:.1f} ms", f"{1e3 * t_cpu:.1f} ms", f"max abs difference {error:.1e}"))

    rng = np.random.default_rng(0)
    small = random_mdp(32, 4, gamma=0.9, rng=0)
    compare("STARC (VAL) 256 x 256, S = 32, A = 4", rng.normal(size=(256, 32, 4, 32)), small)
    big = random_mdp(200, 5, gamma=0.9, rng=1)
    batch = rng.normal(size=(64, 200, 5, 200))
    for kind in ("starc", "epic", "dard"):
        compare(f"{kind.upper()} 64 x 64, S = 200, A = 5", batch, big, kind=kind)

    # 3. SubPO
    def subpo(device):
        task = gym.make("rewarddesign/CoverageGrid-v0", observation=None).unwrapped
        agent = SubPO(task.base, task.objective, task.horizon, natural=True, seed=0, device=device)
        agent.learn(20)
        return agent

    agent, t_gpu = timed(lambda: subpo("cuda"))
    _, t_cpu = timed(lambda: subpo("cpu"))
    if agent.device.type != "cuda":
        failures.append(f"SubPO ran on {agent.device}")
    rows.append(("SubPO (natural, MLP 64-64) coverage grid, 20 x 32 episodes", f"{t_gpu:.1f} s", f"{t_cpu:.1f} s", ""))

    # 4. reward network
    space = gym.spaces.Box(-1.0, 1.0, (17,), np.float32)
    action = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)
    obs = rng.uniform(-1, 1, (1_000_000, 17)).astype(np.float32)
    act = rng.uniform(-1, 1, (1_000_000, 6)).astype(np.float32)
    times = []
    for device in ("cuda", "cpu"):
        net = MLPRewardNet(space, action, device=device)
        x, a = torch.as_tensor(obs, device=net.device), torch.as_tensor(act, device=net.device)
        done = torch.zeros(len(x), device=net.device)
        with torch.no_grad():
            _, t = timed(lambda net=net, x=x, a=a, done=done: net(x, a, x, done), 3)
        times.append(t)
    rows.append(("MLPRewardNet forward, 1M transitions", f"{1e3 * times[0]:.1f} ms", f"{1e3 * times[1]:.1f} ms", ""))

    lines = [
        "# GPU check",
        "",
        f"`.venv/bin/python benchmarks/gpu_check.py` on {torch.cuda.get_device_name()} "
        f"(torch {torch.__version__}, CPU {platform.processor() or platform.machine()}); "
        "CUDA and CPU side by side in the same run, best of 3 where timed repeatedly.",
        "",
        "| check | CUDA | CPU | note |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "All checks passed." if not failures else "FAILED: " + "; ".join(failures),
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
