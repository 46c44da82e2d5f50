"""PSRO with uniform, Nash and risk-averse (RAE) meta-solvers on the intersection driving game.

Reproduce (20 seeds x 4 meta-solvers, about 2 minutes of one core per run; finished runs are kept)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/psro_driving.py --workers 1 --seeds 20

``--report-only`` writes the table from the runs finished so far (it names the missing ones).

Protocol (fixed before seeds 10-19 were run; seeds 0-9 were run earlier with the same settings):

- Task: ``rewarddesign.envs.games.IntersectionDriving`` (two cars, go or yield, progress +1 a cell,
  -0.25 a step, -20 each for a crash).
- Learners: PSRO with the meta-solvers ``uniform``, ``nash`` and ``rae`` at lambda = 0.1 (the
  headline: about 1 / crash penalty, so that variance and mean weigh alike) and lambda = 1, the RAE
  meta-solver counting the episode variance within each meta-game entry.
- Nash meta-solver's selection: the first equilibrium in the output of Gambit's vertex enumeration
  (``enummixed``) of the 5 x 5 meta-game, as ``PSRO`` documents; no welfare or risk criterion.
- RAE meta-solver: pinned to fictitious play (``rae_method="fictitious-play"``, 2000 iterations),
  the solver seeds 0-9 were run with, so that all 20 seeds share one solver (the homotopy solver,
  now the library default, would need all 40 RAE runs again).
- Budget: 4 PSRO iterations, PPO best responses of 16,384 steps against the current
  meta-strategy, 30 rollouts per meta-game entry.
- Seeds: 0-19 for every meta-solver.
- Measure: the crash rate of the final meta-strategy profile over 500 episodes, per seed; mean
  return per car beside it.
- Statistics (``rewarddesign.bench.stats``): per meta-solver, the median, the IQM and the mean over
  seeds with 95% stratified-bootstrap percentile intervals (2000 replicates, seed 0); the
  probability that a seed of RAE (lambda = 0.1) crashes less than one of Nash, with its interval;
  the Mann-Whitney tests below (``stats.mann_whitney``).
- Test (primary, fixed in advance): one-sided Mann-Whitney U test of H1 "the crash rates of
  RAE (lambda = 0.1) lie below those of Nash" over the 20 + 20 seeds, at alpha = 0.05. The other
  comparisons (RAE vs uniform, lambda = 1 vs Nash) are reported without a claim.
- The claim is stated from the test and the intervals, whatever they show; the ratio of IQMs is
  descriptive only.

Runs go through ``rewarddesign.bench.run_experiment``: each run's record (crash rate, mean return
per car, PSRO's history) lands in ``benchmarks/results/psro_driving/runs/`` the moment it
finishes, and a rerun skips finished runs; PSRO keeps its own checkpoints of a run in progress
(``benchmarks/results/psro_driving/<solver>_s<seed>/``, ``rae<lambda>_s<seed>`` for RAE), so an
interrupted run resumes within itself. ``--smoke`` runs one tiny run into a temporary directory.
Writes ``benchmarks/results/psro_driving.md`` and ``benchmarks/results/psro_driving.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np

from rewarddesign.bench import Experiment, RunOutput, RunRecord, run_experiment, stats
from rewarddesign.envs.games import IntersectionDriving
from rewarddesign.games import PSRO, NormalFormGame, nash_equilibria

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "psro_driving"
SOLVERS = ("uniform", "nash", "rae")
AGGREGATE_NAMES = ("median", "IQM", "mean")


def label(solver: str, risk_aversion: float) -> str:
    """The meta-solver's name in the report: ``nash``, ``uniform``, ``rae0.1``."""
    return f"rae{risk_aversion:g}" if solver == "rae" else solver


def make_env() -> IntersectionDriving:
    """The two-car intersection game."""
    return IntersectionDriving()


def run(
    seed: int,
    solver: str,
    risk_aversion: float,
    iterations: int,
    oracle_timesteps: int,
    final_episodes: int = 500,
    out: str | None = None,
) -> RunOutput:
    """One PSRO run (PSRO resumes it from its checkpoints in ``out``, by default the run's directory
    under ``results/psro_driving/``); the final meta-strategy profile evaluated over ``final_episodes``."""
    directory = Path(out) if out is not None else OUT / f"{label(solver, risk_aversion)}_s{seed}"
    psro = PSRO(
        make_env,
        solver,
        risk_aversion=risk_aversion,
        oracle_timesteps=oracle_timesteps,
        eval_episodes=30,
        out_dir=directory,
        seed=seed,
        device="cpu",
        rae_method="fictitious-play",
    ).run(iterations)
    evaluation = psro.evaluate(final_episodes, seed=12345)
    return RunOutput(
        {"crash_rate": evaluation.crash_rate, "crash_ci": evaluation.crash_ci},
        data={
            "mean_return": list(evaluation.mean_return),
            "return_ci": list(evaluation.return_ci),
            "history": psro.history,
        },
    )


def experiment(seeds: int, lambdas: list[float], iterations: int, oracle_timesteps: int) -> Experiment:
    """Every (solver, lambda) over the seeds; the headline pair (Nash and the first RAE) first."""
    pairs = [("nash", 0.0), ("rae", lambdas[0]), ("uniform", 0.0), *(("rae", lam) for lam in lambdas[1:])]
    grid = tuple(
        {"solver": solver, "risk_aversion": lam, "iterations": iterations, "oracle_timesteps": oracle_timesteps}
        for solver, lam in pairs
    )
    return Experiment("psro_driving", run, grid, tuple(range(seeds)), definition=(make_env, label))


def as_report(record: RunRecord) -> dict:
    """A run record as the tables read it."""
    params = record.params
    return {
        "solver": label(params["solver"], params["risk_aversion"]),
        "seed": record.seed,
        **record.metrics,
        **record.data,
    }


def summarise(values: list[float]) -> dict[str, tuple[float, float, float]]:
    """Median, IQM and mean over seeds, each with its 95% stratified-bootstrap percentile interval."""
    scores = [np.asarray(values, dtype=float)]
    return {name: stats.interval_estimate(scores, stats.AGGREGATES[name], reps=2000, rng=0) for name in AGGREGATE_NAMES}


def mann_whitney(better: list[float], worse: list[float]) -> float:
    """p-value of the one-sided Mann-Whitney U test that ``better``'s crash rates lie below ``worse``'s."""
    return stats.mann_whitney(better, worse, alternative="less")


def diagnostics(reports: list[dict], labels: list[str]) -> list[str]:
    """Descriptive notes (no test): the Nash meta-solver's selection in the final meta-game of each
    seed, and how far the RAE meta-solver's last answer was from an RAE."""
    notes = []
    for r in reports:
        if r["solver"] != "nash":
            continue
        state = json.loads((OUT / f"nash_s{r['seed']}" / "state.json").read_text())
        game = NormalFormGame(np.array(state["payoffs"]))
        chosen = [np.array(s) for s in state["meta_strategies"].values()]
        equilibria = nash_equilibria(game, "enumerate")
        welfare = [float(sum(game.expected_payoffs(e))) for e in equilibria]
        mine = float(sum(game.expected_payoffs(chosen)))
        rank = 1 + sum(w > mine + 1e-9 for w in welfare)
        notes.append(f"s{r['seed']}: {len(equilibria)} equilibria, taken one ranks {rank} by welfare")
    lines = []
    if notes:
        lines += [
            "Nash selection (descriptive): in the final meta-game of each seed, the number of extreme Nash equilibria "
            "and the welfare rank (1 = highest summed meta-game payoff) of the one the meta-solver took (the first "
            "of Gambit's vertex enumeration): " + "; ".join(notes) + ".",
            "",
        ]
    for name in labels[2:]:
        final = [r["history"][-1]["meta_residual"] for r in reports if r["solver"] == name]
        if final:
            above = sum(v >= 1e-4 for v in final)
            lines += [
                f"{name} (descriptive): the last meta-game solve by fictitious play ended above its tolerance 1e-4 "
                f"(not an RAE) in {above} of {len(final)} seeds; largest residual {max(final):.3f}.",
                "",
            ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--oracle-timesteps", type=int, default=16_384)
    parser.add_argument("--risk-aversion", type=float, nargs="+", default=[0.1, 1.0], help="first: the headline")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--report-only", action="store_true", help="report the finished runs, run nothing")
    parser.add_argument("--smoke", action="store_true", help="one tiny run into a temporary directory")
    args = parser.parse_args()

    if args.smoke:
        with tempfile.TemporaryDirectory() as out:
            params = {"solver": "nash", "risk_aversion": 0.0, "iterations": 1, "oracle_timesteps": 256}
            tiny = Experiment("psro_smoke", run, ({**params, "final_episodes": 5, "out": f"{out}/psro"},), (0,))
            (record,) = run_experiment(tiny, f"{out}/store", progress=False)
        print(f"smoke run: crash rate {record.metrics['crash_rate']:.2f}, {record.seconds:.1f} s")
        return
    full = experiment(args.seeds, args.risk_aversion, args.iterations, args.oracle_timesteps)
    if args.report_only:
        paths = [OUT / "runs" / f"{r.key}.json" for r in full.runs()]
        records = [RunRecord.from_json(path.read_text()) for path in paths if path.exists()]
    else:
        records = run_experiment(full, OUT, workers=args.workers, device="cpu")
    reports = sorted((as_report(r) for r in records), key=lambda r: r["seed"])
    labels = ["uniform", "nash", *(label("rae", lam) for lam in args.risk_aversion)]
    headline = labels[2]
    crash = {name: [r["crash_rate"] for r in reports if r["solver"] == name] for name in labels}
    seeds_of = {name: sorted(r["seed"] for r in reports if r["solver"] == name) for name in labels}
    missing = {name: sorted(set(range(args.seeds)) - set(seeds_of[name])) for name in labels}
    lambdas = ", ".join(f"{lam:g}" for lam in args.risk_aversion)
    lines = [
        "# PSRO meta-solvers on the intersection driving game",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/psro_driving.py --workers 1 --seeds {args.seeds}` "
        f"({args.iterations} PSRO iterations, PPO best responses of {args.oracle_timesteps:,} steps, RAE lambda = "
        f"{lambdas}, episode variance counted, RAE meta-solver by fictitious play; Nash meta-solver: the first "
        f"equilibrium of Gambit's vertex enumeration; {platform.processor() or platform.machine()}, CPU).",
        "",
        "Crash rate of the final meta-strategy profile (500 episodes per seed) over seeds: median, IQM and mean with "
        "95% stratified-bootstrap intervals (`rewarddesign.bench.stats`, 2000 replicates); mean return per car "
        "(mean over seeds).",
        "",
        "| meta-solver | seeds | crash rate: median | IQM | mean | mean return car 0 | mean return car 1 |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for name in labels:
        mine = [r for r in reports if r["solver"] == name]
        if not mine:
            lines.append(f"| {name} | 0 | - | - | - | - | - |")
            continue
        summary[name] = summarise(crash[name])
        cells = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in (summary[name][k] for k in AGGREGATE_NAMES)]
        car0 = np.mean([r["mean_return"][0] for r in mine])
        car1 = np.mean([r["mean_return"][1] for r in mine])
        pretty = name.replace("rae", "rae, lambda = ") if name.startswith("rae") else name
        lines.append(f"| {pretty} | {len(mine)} | " + " | ".join(cells) + f" | {car0:.2f} | {car1:.2f} |")
    lines.append("")
    if crash["nash"] and crash[headline]:
        p = mann_whitney(crash[headline], crash["nash"])
        # P(RAE crashes less than Nash) = P(-RAE > -Nash)
        poi = stats.improvement_estimate([-np.asarray(crash[headline])], [-np.asarray(crash["nash"])], rng=0)
        verdict = "rejected at alpha = 0.05" if p < 0.05 else "not rejected at alpha = 0.05"
        lines += [
            f"Primary test (fixed in advance): one-sided Mann-Whitney U, H1 {headline} crash rate < nash crash rate, "
            f"{len(crash[headline])} + {len(crash['nash'])} seeds: p = {p:.3f}; the null hypothesis is {verdict}. "
            f"P({headline} crashes less than nash) = {poi[0]:.2f} [{poi[1]:.2f}, {poi[2]:.2f}].",
            "",
        ]
        others = [(headline, "uniform"), *((name, "nash") for name in labels[3:])]
        extra = [f"{a} < {b}: p = {mann_whitney(crash[a], crash[b]):.3f}" for a, b in others if crash[a] and crash[b]]
        if extra:
            lines += ["Secondary one-sided Mann-Whitney tests (no claim): " + "; ".join(extra) + ".", ""]
        if summary[headline]["IQM"][0] > 0:
            ratio = summary["nash"]["IQM"][0] / summary[headline]["IQM"][0]
            lines += [f"Descriptive only: IQM crash rate of nash over {headline}'s: {ratio:.1f}x.", ""]
    lines += diagnostics(reports, labels)
    if any(missing.values()):
        lines += [
            "Not run (yet): " + "; ".join(f"{k} seeds {v}" for k, v in missing.items() if v) + ".",
            "",
        ]
    lines.append(
        "Per seed (crash rate, seeds in order): "
        + "; ".join(f"{s}: " + ", ".join(f"{c:.3f}" for c in crash[s]) for s in labels)
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "psro_driving.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for k, name in enumerate(labels):
        mine = [r for r in reports if r["solver"] == name]
        if not mine:
            continue
        value, low, high = summary[name]["IQM"]
        axes[0].bar(k, value, yerr=[[value - low], [high - value]], color=f"C{k}", capsize=4)
        axes[0].scatter([k] * len(mine), crash[name], color="k", s=8, zorder=3)
        ret = [np.mean(r["mean_return"]) for r in mine]
        axes[1].bar(k, np.mean(ret), color=f"C{k}")
        axes[1].scatter([k] * len(ret), ret, color="k", s=8, zorder=3)
    for ax, title in zip(axes, ("crash rate (IQM, 95% bootstrap CI; dots: seeds)", "mean return (both cars)")):
        ax.set_xticks(range(len(labels)), labels)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "psro_driving.png", dpi=120)


if __name__ == "__main__":
    main()
