"""Multi-agent environments (PettingZoo parallel API) for games and risk.

- :class:`MatrixGameEnv`: a normal-form game played once (one step).
- :class:`RepeatedTrustDilemma`: the stag hunt played for several rounds, each player seeing the
  last round's joint action.
- :class:`TrustDilemmaEnv` (Gymnasium, ``rewarddesign/TrustDilemma-v0``): one player of the
  repeated stag hunt against a partner who hunts stag with a fixed probability, with an optional
  mean-variance (risk-averse) reward.
- :class:`IntersectionDriving`: two cars approach an intersection on crossing roads; each step
  each car goes (one cell forward) or yields (waits). Progress pays, two cars in the intersection
  at once crash, which pays a large negative reward to both and ends the episode.

Example:
    >>> from rewarddesign.envs.games import IntersectionDriving
    >>> env = IntersectionDriving()
    >>> observations, infos = env.reset(seed=0)
    >>> env.agents
    ['car_0', 'car_1']
    >>> observations, rewards, terminations, truncations, infos = env.step({"car_0": 1, "car_1": 0})
    >>> rewards
    {'car_0': 0.75, 'car_1': -0.25}
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from rewarddesign.games import NormalFormGame, stag_hunt

__all__ = ["MatrixGameEnv", "RepeatedTrustDilemma", "IntersectionDriving", "TrustDilemmaEnv"]


class MatrixGameEnv(ParallelEnv):
    """A normal-form game as a one-step parallel env.

    Each player observes a constant ``[0.0]`` and picks an action; the rewards are the game's
    payoffs for the joint action, and the episode ends.

    Args:
        game: The game; two or more players.
    """

    metadata = {"name": "matrix_game_v0", "render_modes": []}

    def __init__(self, game: NormalFormGame | None = None) -> None:
        self.game = game or stag_hunt()
        self.possible_agents = [f"player_{i}" for i in range(self.game.n_players)]
        self.agents: list[str] = []
        self._observation = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self._actions = {a: gym.spaces.Discrete(n) for a, n in zip(self.possible_agents, self.game.n_actions)}

    def observation_space(self, agent: str) -> gym.Space:
        return self._observation

    def action_space(self, agent: str) -> gym.Space:
        return self._actions[agent]

    def _obs(self) -> dict[str, np.ndarray]:
        return {a: np.zeros(1, np.float32) for a in self.agents}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        self.agents = list(self.possible_agents)
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        joint = tuple(int(actions[a]) for a in self.possible_agents)
        payoffs = self.game.payoffs[(slice(None), *joint)]
        observations = self._obs()
        rewards = {a: float(payoffs[i]) for i, a in enumerate(self.possible_agents)}
        terminations = {a: True for a in self.agents}
        truncations = {a: False for a in self.agents}
        infos = {a: {"joint_action": joint} for a in self.agents}
        self.agents = []
        return observations, rewards, terminations, truncations, infos


class RepeatedTrustDilemma(ParallelEnv):
    """The stag hunt (or any symmetric 2 x 2 game) repeated for ``rounds`` rounds.

    Each player observes a one-hot code of the last round's joint action (all zeros in the first
    round) and the fraction of rounds played; rewards are the round's payoffs.

    Args:
        rounds: Rounds per episode.
        game: A two-player game; the stag hunt by default.
    """

    metadata = {"name": "repeated_trust_dilemma_v0", "render_modes": []}

    def __init__(self, rounds: int = 10, game: NormalFormGame | None = None) -> None:
        self.game = game or stag_hunt()
        if self.game.n_players != 2:
            raise ValueError("RepeatedTrustDilemma needs a two-player game")
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        self.rounds = int(rounds)
        self.possible_agents = ["player_0", "player_1"]
        self.agents: list[str] = []
        n_joint = self.game.n_actions[0] * self.game.n_actions[1]
        self._observation = gym.spaces.Box(0.0, 1.0, (n_joint + 1,), np.float32)
        self._actions = {a: gym.spaces.Discrete(n) for a, n in zip(self.possible_agents, self.game.n_actions)}
        self._last: int | None = None
        self._t = 0

    def observation_space(self, agent: str) -> gym.Space:
        return self._observation

    def action_space(self, agent: str) -> gym.Space:
        return self._actions[agent]

    def _obs(self) -> dict[str, np.ndarray]:
        out = {}
        for i, agent in enumerate(self.agents):
            obs = np.zeros(self._observation.shape, np.float32)
            if self._last is not None:
                a, b = divmod(self._last, self.game.n_actions[1])
                # each player sees (own action, other's action)
                mine, theirs = (a, b) if i == 0 else (b, a)
                obs[mine * self.game.n_actions[1] + theirs] = 1.0
            obs[-1] = self._t / self.rounds
            out[agent] = obs
        return out

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        self.agents = list(self.possible_agents)
        self._last, self._t = None, 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        a, b = int(actions["player_0"]), int(actions["player_1"])
        payoffs = self.game.payoffs[:, a, b]
        self._last, self._t = a * self.game.n_actions[1] + b, self._t + 1
        done = self._t >= self.rounds
        observations = self._obs()
        rewards = {"player_0": float(payoffs[0]), "player_1": float(payoffs[1])}
        terminations = {agent: False for agent in self.agents}
        truncations = {agent: done for agent in self.agents}
        infos = {agent: {"joint_action": (a, b)} for agent in self.agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


class IntersectionDriving(ParallelEnv):
    """Two cars on crossing roads, each choosing to go or yield at every step.

    Car ``i`` starts ``distance`` cells before the intersection (cell 0 of its road is the
    intersection, so it starts at ``-distance``) and is done once it reaches ``exit`` cells past
    it. Action 1 (go) moves the car one cell and pays ``progress``; with probability ``slip`` it
    fails to move (a hesitant driver). Action 0 (yield) waits. Every step costs ``time_cost``. If both cars stand in the
    intersection (cell 0) after a step they crash: both get ``crash`` and the episode ends. The
    episode is truncated after ``horizon`` steps.

    Observations (per car, in its own frame): its position, the other car's position (both
    divided by ``distance``), whether the other car has passed the intersection, and the time
    fraction.

    Args:
        distance: Cells from the start to the intersection.
        exit: Cells past the intersection to finish.
        progress: Reward per cell moved.
        crash: Reward for a crash (negative).
        horizon: Steps before truncation.
        slip: Probability that a car told to go stays put.
        time_cost: Paid by each car every step until it finishes, so waiting costs something.
    """

    metadata = {"name": "intersection_driving_v0", "render_modes": []}

    def __init__(
        self,
        distance: int = 3,
        exit: int = 2,
        progress: float = 1.0,
        crash: float = -20.0,
        horizon: int = 12,
        slip: float = 0.0,
        time_cost: float = 0.25,
    ) -> None:
        if distance < 1 or exit < 1 or horizon < 1 or not 0.0 <= slip < 1.0:
            raise ValueError(
                f"need distance, exit, horizon >= 1 and 0 <= slip < 1, got {distance, exit, horizon, slip}"
            )
        self.distance, self.exit, self.horizon = int(distance), int(exit), int(horizon)
        self.progress, self.crash, self.slip = float(progress), float(crash), float(slip)
        self.time_cost = float(time_cost)
        self.possible_agents = ["car_0", "car_1"]
        self.agents: list[str] = []
        self._observation = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self._action = gym.spaces.Discrete(2)
        self._rng = np.random.default_rng()
        self._pos = {a: -self.distance for a in self.possible_agents}
        self._t = 0

    def observation_space(self, agent: str) -> gym.Space:
        return self._observation

    def action_space(self, agent: str) -> gym.Space:
        return self._action

    def _other(self, agent: str) -> str:
        return "car_1" if agent == "car_0" else "car_0"

    def _obs(self) -> dict[str, np.ndarray]:
        out = {}
        for agent in self.agents:
            other = self._pos[self._other(agent)]
            out[agent] = np.array(
                [self._pos[agent] / self.distance, other / self.distance, float(other > 0), self._t / self.horizon],
                np.float32,
            )
        return out

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._pos = {a: -self.distance for a in self.possible_agents}
        self._t = 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        rewards = {a: -self.time_cost for a in self.agents}
        for agent in self.agents:
            if int(actions[agent]) == 1 and self._rng.random() >= self.slip:
                self._pos[agent] += 1
                rewards[agent] += self.progress
        self._t += 1
        active = [a for a in self.possible_agents if a in self.agents]
        crashed = len(active) == 2 and all(self._pos[a] == 0 for a in active)  # both in the intersection
        terminations = {a: False for a in self.agents}
        if crashed:
            for a in active:
                rewards[a] += self.crash
                terminations[a] = True
        else:
            for a in active:
                terminations[a] = self._pos[a] >= self.exit
        truncations = {a: (self._t >= self.horizon and not terminations[a]) for a in self.agents}
        observations = self._obs()
        infos = {a: {"crash": crashed, "position": self._pos[a]} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos


class TrustDilemmaEnv(gym.Env):
    """The repeated stag hunt from one player's side, against a partner who trembles.

    Each round the partner hunts stag with probability ``partner_stag`` (else hare). The
    observation is the one-hot last joint action (own, partner's) and the fraction of rounds played.
    The reward is the round's payoff; with ``risk_aversion = lambda > 0`` it is the mean-variance
    reward ``payoff - lambda (payoff - mu(a))^2``, where ``mu(a)`` is the expected payoff of the
    chosen action against the partner, whose expectation is the risk-averse utility
    ``mu(a) - lambda Var(a)`` of that action. ``info["payoff"]`` keeps the game's payoff.

    Args:
        rounds: Rounds per episode.
        partner_stag: The partner's probability of hunting stag.
        risk_aversion: ``lambda >= 0`` of the reward.
        game: A symmetric two-player 2 x 2 game; the stag hunt by default.
        render_mode: ``"rgb_array"`` (the 2 x 2 table of joint actions, the last one marked, 16
            pixels a cell; SB3's ``make_vec_env`` asks for it) or None.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        rounds: int = 10,
        partner_stag: float = 0.8,
        risk_aversion: float = 0.0,
        game: NormalFormGame | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.game = game or stag_hunt()
        if self.game.n_actions != (2, 2):
            raise ValueError(f"TrustDilemmaEnv needs a 2 x 2 game, got {self.game.n_actions}")
        if rounds < 1 or not 0.0 <= partner_stag <= 1.0 or not risk_aversion >= 0.0:
            raise ValueError(
                f"need rounds >= 1, partner_stag in [0, 1], risk_aversion >= 0, got {rounds, partner_stag}"
            )
        self.rounds, self.partner_stag, self.risk_aversion = int(rounds), float(partner_stag), float(risk_aversion)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (5,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        partner = np.array([self.partner_stag, 1.0 - self.partner_stag])
        self._mu = self.game.payoffs[0] @ partner  # expected payoff of each own action
        self._last: tuple[int, int] | None = None
        self._t = 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(5, np.float32)
        if self._last is not None:
            obs[self._last[0] * 2 + self._last[1]] = 1.0
        obs[4] = self._t / self.rounds
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._last, self._t = None, 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = int(action)
        b = 0 if self.np_random.random() < self.partner_stag else 1
        payoff = float(self.game.payoffs[0, a, b])
        reward = float(payoff - self.risk_aversion * (payoff - self._mu[a]) ** 2)
        self._last, self._t = (a, b), self._t + 1
        return self._obs(), reward, False, self._t >= self.rounds, {"payoff": payoff, "partner": b}

    def render(self) -> np.ndarray | None:
        """The 2 x 2 table of joint actions (own action the row), the last one marked; None without a render mode."""
        if self.render_mode is None:
            return None
        cells = np.full((2, 2, 3), 235, np.uint8)
        if self._last is not None:
            cells[self._last] = (200, 60, 60)
        return np.kron(cells, np.ones((16, 16, 1), np.uint8))
