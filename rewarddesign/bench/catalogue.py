"""The built-in suites (``quick``, ``control``, ``shaping``) and the reference scores that normalise them."""

from __future__ import annotations

from rewarddesign._references import D4RL_REFERENCE_SCORES
from rewarddesign.bench.schema import Design, Suite

__all__ = ["SUITES", "REFERENCE_SCORES", "CONTROL_TIMESTEPS"]

_MAZE_PPO = {"n_steps": 128, "batch_size": 128, "n_epochs": 4, "ent_coef": 0.01}
_MAZE = ("rewarddesign/GridMaze-v0",)
_COVERAGE = ("rewarddesign/CoverageGrid-v0",)
_TRUST = ("rewarddesign/TrustDilemma-v0",)
_GRID = ("rewarddesign/ContinuousGrid-v0",)
_PENDULUM = ("Pendulum-v1",)

_CONTROL = (
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "dm_control/cartpole-swingup-v0",
    "dm_control/reacher-easy-v0",
    "dm_control/cheetah-run-v0",
    "dm_control/walker-walk-v0",
)

#: ``(low, high)`` returns that normalise each task's score to ``[0, 1]``: D4RL's random and expert
#: references for the Gymnasium MuJoCo tasks (Fu et al. 2020), 0 and the most a 1000-step episode
#: can earn for dm-control.
REFERENCE_SCORES: dict[str, tuple[float, float]] = {
    **D4RL_REFERENCE_SCORES,
    **{env_id: (0.0, 1000.0) for env_id in _CONTROL if env_id.startswith("dm_control/")},
}

#: The control suite's budget per run: what two CPU cores train 70 runs in within about 50 minutes.
CONTROL_TIMESTEPS = 30_000

#: Built-in suites by name.
SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        env_ids=_MAZE + _COVERAGE + _TRUST + _GRID + _PENDULUM,
        designs=(
            Design("original"),
            Design("maze_distance", "maze_distance", envs=_MAZE),
            Design("modular", env_kwargs=(("credit", "modular"),), envs=_COVERAGE),
            Design("risk_averse", env_kwargs=(("risk_aversion", 0.5),), envs=_TRUST),
            Design("naive_heuristic", wrapper="grid_centre_naive", envs=_GRID),
            Design("barfi", wrapper="grid_centre_barfi", envs=_GRID),
            Design("heron", wrapper="pendulum_heron", envs=_PENDULUM),
        ),
        algos=("ppo",),
        seeds=(0, 1, 2),
        timesteps=20_000,
        eval_freq=2_000,
        eval_episodes=1,
        n_envs=4,
        solved_at={_MAZE[0]: 1.0, _GRID[0]: 90.0},
        algo_kwargs={"ppo": _MAZE_PPO},
    ),
    "control": Suite(
        name="control",
        env_ids=_CONTROL,
        designs=(Design("original"), Design("posture", "control_posture")),
        algos=("ppo",),
        seeds=(0, 1, 2, 3, 4),
        timesteps=CONTROL_TIMESTEPS,
        eval_freq=CONTROL_TIMESTEPS // 5,
        eval_episodes=2,
        n_envs=1,
        reference_scores=REFERENCE_SCORES,
    ),
    "shaping": Suite(
        name="shaping",
        env_ids=("rewarddesign/GridMaze-v0",),
        designs=(
            Design("original"),
            Design("maze_distance", "maze_distance"),
            Design("maze_manhattan", "maze_manhattan"),
            Design("optimal_value", "optimal_value"),
        ),
        algos=("ppo",),
        seeds=(0, 1, 2, 3, 4),
        timesteps=40_000,
        eval_freq=2_000,
        eval_episodes=1,
        n_envs=4,
        solved_at=1.0,
        algo_kwargs={"ppo": _MAZE_PPO},
    ),
}
