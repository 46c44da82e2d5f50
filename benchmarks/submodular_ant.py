"""Area covered by the MuJoCo Ant: PPO on the marginal-gain reward against PPO on the modular reward.

Reproduce (short CPU run, about 10 minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/submodular_ant.py --timesteps 50000 --seeds 3 --workers 2

Longer where a larger machine is lent: ``benchmarks/gpu_check.sh`` runs it for 300k steps with 6
workers (on the CPU cores: PPO with an MLP policy trains faster there than on CUDA).

``rewarddesign/AntCoverage-v0``: the Ant's x-y position marks a cell of a 100 x 100 grid over
``[-20, 20]^2``; ``F`` is the number of distinct cells visited in an episode (up to 1000 steps).
SB3 PPO trains on

- **marginal gain** (submodular RL): reward 1 for a step onto a cell not visited before;
- **modular**: reward 1 for every step (``F({s_t})``, the modular-RL baseline, blind to repeats),

and every evaluation measures ``F`` of the visited cells (the marginal-gain return) over
deterministic episodes. Each run writes its rows under ``benchmarks/results/submodular_ant/``
(a rerun skips finished runs); the table goes to ``benchmarks/results/submodular_ant.md`` and the
curves to ``benchmarks/results/submodular_ant.png`` (named after ``--out``'s last folder).
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

from rewarddesign.bench import Design, Suite, format_table, plot_curves, run_suite, summarize

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(RESULTS / "submodular_ant"))
    args = parser.parse_args()

    suite = Suite(
        name=f"ant_coverage_{args.timesteps}",
        env_ids=("rewarddesign/AntCoverage-v0",),
        designs=(Design("marginal_gain"), Design("modular", env_kwargs=(("credit", "modular"),))),
        algos=("ppo",),
        seeds=tuple(range(args.seeds)),
        timesteps=args.timesteps,
        eval_freq=max(args.timesteps // 10, 1000),
        eval_episodes=3,
        n_envs=4,
        gamma=0.99,
    )
    rows = run_suite(suite, args.out, workers=args.workers, device=args.device)
    table = format_table(summarize(rows))
    devices = sorted({row["device"] for row in rows})
    text = "\n".join(
        [
            "# Ant coverage: PPO on the marginal-gain reward against the modular reward",
            "",
            f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/submodular_ant.py --timesteps {args.timesteps} "
            f"--seeds {args.seeds} --workers {args.workers}` ({platform.processor() or platform.machine()}, "
            f"device {', '.join(devices)}).",
            "",
            "True return = F of the visited cells of a 100 x 100 grid over [-20, 20]^2 (cells of 0.4 x 0.4), "
            "mean of 3 deterministic episodes per evaluation; mean ± std over seeds.",
            "",
            table,
            "",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    stem = Path(args.out).name  # submodular_ant by default
    (RESULTS / f"{stem}.md").write_text(text)
    plot_curves(rows, RESULTS / f"{stem}.png", title="Ant coverage: cells visited")
    print(text)


if __name__ == "__main__":
    main()
