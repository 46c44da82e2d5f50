"""Potential-based shaping for batches of envs: Gymnasium vector envs and SB3 VecEnvs.

Both are :class:`~rewarddesign.shaping.wrappers.PotentialShapingTerm` driven by the batched forms
of the reward-wrapper family (:class:`~rewarddesign.rewards.wrappers.VectorDesignedReward` and
:class:`~rewarddesign.rewards.wrappers.VecDesignedReward`), so env by env they give exactly the
rewards of :class:`~rewarddesign.shaping.wrappers.PotentialShaping`, across automatic resets. The
potential is evaluated on the whole batch (:meth:`~rewarddesign.shaping.potentials.Potential.batch`),
and the episode-end rule is read from each API's own signals:

- Gymnasium ``NEXT_STEP`` autoreset (the default): the step that ends an episode returns the final
  observation; the next step resets that env and returns reward 0, to which no shaping is added.
- Gymnasium ``SAME_STEP`` autoreset: the final observation is in ``info["final_obs"]``.
- Gymnasium ``DISABLED`` autoreset: the user resets finished envs with
  ``reset(options={"reset_mask": mask})``, and the potential restarts for exactly those.
- SB3: ``dones`` with ``infos[i]["terminal_observation"]``, and ``infos[i]["TimeLimit.truncated"]``
  to tell truncation (phi of the final observation stays) from termination (it counts as 0).
"""

from __future__ import annotations

from gymnasium.vector import VectorEnv
from stable_baselines3.common.vec_env import VecEnv

from rewarddesign.rewards.wrappers import VecDesignedReward, VectorDesignedReward
from rewarddesign.shaping.potentials import PotentialLike
from rewarddesign.shaping.wrappers import PotentialShapingTerm, _PotentialShapingForm

__all__ = ["VectorPotentialShaping", "VecPotentialShaping"]


class VectorPotentialShaping(_PotentialShapingForm, VectorDesignedReward):
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

    def __init__(self, env: VectorEnv, potential: PotentialLike, gamma: float = 0.99) -> None:
        VectorDesignedReward.__init__(self, env, PotentialShapingTerm(potential, gamma))


class VecPotentialShaping(_PotentialShapingForm, VecDesignedReward):
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

    def __init__(self, venv: VecEnv, potential: PotentialLike, gamma: float = 0.99) -> None:
        VecDesignedReward.__init__(self, venv, PotentialShapingTerm(potential, gamma))
