"""Potential-based shaping for batches of envs: Gymnasium vector envs and SB3 VecEnvs.

Both give, env by env, exactly the rewards of :class:`~rewarddesign.shaping.wrappers.PotentialShaping`,
across automatic resets. The potential is evaluated once per step on the whole batch
(:meth:`~rewarddesign.shaping.potentials.Potential.batch`), and the episode-end rule is read from
each API's own signals:

- Gymnasium ``NEXT_STEP`` autoreset (the default): the step that ends an episode returns the final
  observation; the next step resets that env and returns reward 0, to which no shaping is added.
- Gymnasium ``SAME_STEP`` autoreset: the final observation is in ``info["final_obs"]``.
- Gymnasium ``DISABLED`` autoreset: the user resets finished envs with
  ``reset(options={"reset_mask": mask})``, and the potential restarts for exactly those.
- SB3: ``dones`` with ``infos[i]["terminal_observation"]``, and ``infos[i]["TimeLimit.truncated"]``
  to tell truncation (phi of the final observation stays) from termination (it counts as 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import concatenate, create_empty_array
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewarddesign._validation import check_gamma
from rewarddesign.shaping.potentials import Potential, as_potential

__all__ = ["VectorPotentialShaping", "VecPotentialShaping"]


class VectorPotentialShaping(VectorWrapper):
    """Potential-based shaping for a Gymnasium ``VectorEnv`` (any autoreset mode).

    ``info["original_reward"]`` and ``info["shaping_reward"]`` hold the env rewards and the added
    terms, arrays ``[num_envs]``.

    Args:
        env: The vector env.
        potential: Anything :func:`~rewarddesign.shaping.potentials.as_potential` accepts.
        gamma: The learner's discount, in [0, 1].

    Example:
        >>> import gymnasium as gym
        >>> envs = VectorPotentialShaping(gym.make_vec("CartPole-v1", num_envs=2), lambda o: -abs(o[2]), 0.99)
        >>> obs, info = envs.reset(seed=0)
        >>> obs, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
        >>> rewards.shape
        (2,)
    """

    def __init__(self, env: VectorEnv, potential: Any, gamma: float = 0.99) -> None:
        super().__init__(env)
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.potential: Potential = as_potential(potential)
        self.potential.check_space(env.single_observation_space)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self._last_phi = np.zeros(self.num_envs)
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._resetting = np.zeros(self.num_envs, dtype=bool)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        mask = np.ones(self.num_envs, dtype=bool)
        if options is not None and "reset_mask" in options:  # read first: vector envs pop it from options
            mask = np.array(options["reset_mask"], dtype=bool)
        obs, info = self.env.reset(seed=seed, options=options)
        phi = self.potential.batch(obs, np.zeros(self.num_envs, dtype=np.int64))
        self._last_phi = np.where(mask, phi, self._last_phi)
        self._t[mask] = 0
        self._resetting[mask] = False
        return obs, info

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        resetting = self._resetting if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.zeros_like(done)
        same_step_reset = done if self.autoreset_mode == AutoresetMode.SAME_STEP else np.zeros_like(done)
        # obs holds a fresh reset observation (t = 0) where an env reset during this step
        fresh = resetting | same_step_reset
        steps = np.where(fresh, 0, self._t + 1)
        phi = self.potential.batch(obs, steps)

        next_phi = np.where(terminated, 0.0, phi)
        if same_step_reset.any():
            cut = np.flatnonzero(same_step_reset & ~terminated)
            if cut.size:
                final = create_empty_array(self.single_observation_space, cut.size)
                final = concatenate(self.single_observation_space, [info["final_obs"][i] for i in cut], final)
                next_phi[cut] = self.potential.batch(final, self._t[cut] + 1)
        shaping = np.where(resetting, 0.0, self.gamma * next_phi - self._last_phi)

        self._last_phi = phi
        self._t = steps
        self._resetting = done
        info = dict(info)
        info["original_reward"], info["_original_reward"] = rewards, np.ones(self.num_envs, dtype=bool)
        info["shaping_reward"], info["_shaping_reward"] = shaping, np.ones(self.num_envs, dtype=bool)
        return obs, rewards + shaping, terminated, truncated, info


class VecPotentialShaping(VecEnvWrapper):
    """Potential-based shaping for a Stable-Baselines3 ``VecEnv``.

    Place ``Monitor`` inside (as ``make_vec_env`` does) so episode statistics report the true
    return; ``infos[i]["original_reward"]`` and ``infos[i]["shaping_reward"]`` hold both parts of
    each reward.

    Args:
        venv: The SB3 vectorised env.
        potential: Anything :func:`~rewarddesign.shaping.potentials.as_potential` accepts.
        gamma: The learner's discount, in [0, 1].

    Example:
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> venv = VecPotentialShaping(make_vec_env("CartPole-v1", n_envs=2), lambda o: -abs(o[2]), 0.99)
        >>> obs = venv.reset()
        >>> obs, rewards, dones, infos = venv.step([0, 1])
        >>> sorted(k for k in infos[0] if k.endswith("_reward"))
        ['original_reward', 'shaping_reward']
    """

    def __init__(self, venv: VecEnv, potential: Any, gamma: float = 0.99) -> None:
        super().__init__(venv)
        self.gamma = check_gamma(gamma, allow_zero=True)
        self.potential: Potential = as_potential(potential)
        self.potential.check_space(venv.observation_space)
        self._last_phi = np.zeros(self.num_envs)
        self._t = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self) -> Any:
        obs = self.venv.reset()
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._last_phi = self.potential.batch(obs, self._t)
        return obs

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        steps = np.where(dones, 0, self._t + 1)  # a done env's obs is already the reset observation
        phi = self.potential.batch(obs, steps)
        next_phi = phi.copy()
        for i in np.flatnonzero(dones):
            if infos[i].get("TimeLimit.truncated", False):
                next_phi[i] = self.potential(infos[i]["terminal_observation"], int(self._t[i]) + 1)
            else:
                next_phi[i] = 0.0
        shaping = self.gamma * next_phi - self._last_phi
        self._last_phi = phi
        self._t = steps
        for info, original, added in zip(infos, rewards.tolist(), shaping.tolist()):
            info["original_reward"] = original
            info["shaping_reward"] = added
        return obs, (rewards + shaping).astype(rewards.dtype, copy=False), dones, infos
