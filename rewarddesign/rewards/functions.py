"""Reward functions: the batched numpy protocol, tabular rewards, and torch reward networks.

Every reward in the library, designed, learned or tabular, answers one call::

    reward_fn(obs, act, next_obs, done) -> rewards   # arrays with a leading batch axis B; float [B]

:class:`TabularReward` wraps an array ``[S, A, S']``; :class:`RewardNet` is the torch twin, a
``torch.nn.Module`` whose ``forward`` takes tensors and whose :meth:`RewardNet.predict` takes and
returns numpy arrays, so a network is a reward function too. Networks pick their device as SB3
does (``device="auto"``: CUDA when there is one).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, preprocess_obs
from stable_baselines3.common.torch_layers import create_mlp
from torch import nn

from rewarddesign._validation import check_device
from rewarddesign.mdp import TabularMDP, broadcast_reward

__all__ = ["RewardFunction", "TabularReward", "RewardNet", "MLPRewardNet", "check_rewards"]


@runtime_checkable
class RewardFunction(Protocol):
    """``(obs [B, ...], act [B, ...], next_obs [B, ...], done [B]) -> float [B]``."""

    def __call__(self, obs: Any, act: Any, next_obs: Any, done: Any) -> np.ndarray: ...


def check_rewards(values: Any, batch_size: int, name: str = "reward function") -> np.ndarray:
    """Validate the output of a reward function: finite floats of shape ``[batch_size]``."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (batch_size,):
        raise ValueError(f"{name} must return shape [B]={(batch_size,)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        index = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise ValueError(f"{name} returned a non-finite reward {array[index]!r} at batch index {index}")
    return array


class TabularReward:
    """A tabular reward ``R[s, a, s']`` as a batched reward function of integer observations.

    Args:
        reward: ``[S]``, ``[S, A]`` or ``[S, A, S']``.
        mdp: The model whose sizes the reward takes (or give ``n_states`` and ``n_actions``).

    Example:
        >>> import numpy as np
        >>> reward = TabularReward(np.arange(2.0), n_states=2, n_actions=3)
        >>> reward(np.array([0, 1]), np.array([2, 0]), np.array([1, 1]), np.array([False, True]))
        array([0., 1.])
    """

    def __init__(
        self, reward: Any, mdp: TabularMDP | None = None, *, n_states: int | None = None, n_actions: int | None = None
    ) -> None:
        if mdp is not None:
            n_states, n_actions = mdp.n_states, mdp.n_actions
        if n_states is None or n_actions is None:
            raise TypeError("TabularReward needs mdp, or both n_states and n_actions")
        self.table = broadcast_reward(reward, n_states, n_actions)
        self.table.setflags(write=False)

    def __call__(self, obs: Any, act: Any, next_obs: Any, done: Any = None) -> np.ndarray:
        indices = [np.asarray(x) for x in (obs, act, next_obs)]
        for name, index, size in zip(("obs", "act", "next_obs"), indices, self.table.shape):
            if not np.issubdtype(index.dtype, np.integer) or np.any((index < 0) | (index >= size)):
                raise ValueError(f"{name} must hold integers in [0, {size}), got {index!r}")
        return self.table[indices[0], indices[1], indices[2]]


class RewardNet(nn.Module, abc.ABC):
    """A torch reward model ``r(s, a, s', done)`` on Gymnasium spaces.

    Subclasses implement :meth:`forward` on preprocessed tensors. :meth:`preprocess` turns numpy
    batches into tensors on the network's device (one-hot for discrete spaces, as SB3 does), and
    :meth:`predict` is the numpy reward-function protocol.

    Args:
        observation_space: The env's observation space.
        action_space: The env's action space.
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        super().__init__()
        self.observation_space = observation_space
        self.action_space = action_space

    @property
    def device(self) -> torch.device:
        try:
            return next(self.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    @abc.abstractmethod
    def forward(self, obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        """Rewards ``[B]`` from preprocessed float tensors ``[B, features]`` and ``done [B]``."""

    def preprocess(self, obs: Any, act: Any, next_obs: Any, done: Any) -> tuple[torch.Tensor, ...]:
        """Numpy batches to float tensors on :attr:`device`: flattened, one-hot for discrete spaces."""
        device = self.device

        def tensor(x: Any, space: gym.Space) -> torch.Tensor:
            t = torch.as_tensor(np.asarray(x), device=device)
            out = preprocess_obs(t, space, normalize_images=False)
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"RewardNet takes flat (Box, Discrete, ...) spaces, not {space}")
            return out.float().reshape(t.shape[0], -1)

        done_t = torch.as_tensor(np.asarray(done, dtype=np.float32), device=device).reshape(-1)
        return (
            tensor(obs, self.observation_space),
            tensor(act, self.action_space),
            tensor(next_obs, self.observation_space),
            done_t,
        )

    def predict(self, obs: Any, act: Any, next_obs: Any, done: Any) -> np.ndarray:
        """The reward-function protocol: numpy in, float64 numpy ``[B]`` out, no gradient."""
        with torch.no_grad():
            rewards = self(*self.preprocess(obs, act, next_obs, done))
        return rewards.detach().cpu().numpy().astype(np.float64).reshape(-1)


class MLPRewardNet(RewardNet):
    """An MLP reward on the concatenation of the chosen inputs.

    Args:
        observation_space: The env's observation space.
        action_space: The env's action space.
        use_state: Feed ``s``.
        use_action: Feed ``a``.
        use_next_state: Feed ``s'``.
        use_done: Feed ``done``.
        hidden_sizes: Widths of the hidden layers, positive integers (empty for a linear model).
        activation: Activation class between layers.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or a ``torch.device``.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> net = MLPRewardNet(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2), device="cpu")
        >>> net.predict(np.zeros((4, 3)), np.zeros(4, dtype=int), np.zeros((4, 3)), np.zeros(4)).shape
        (4,)
    """

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        use_state: bool = True,
        use_action: bool = True,
        use_next_state: bool = False,
        use_done: bool = False,
        hidden_sizes: Sequence[int] = (32, 32),
        activation: type[nn.Module] = nn.ReLU,
        device: torch.device | str = "auto",
    ) -> None:
        super().__init__(observation_space, action_space)
        self.use = (use_state, use_action, use_next_state, use_done)
        if not any(self.use):
            raise ValueError("MLPRewardNet needs at least one of use_state, use_action, use_next_state, use_done")
        sizes = list(hidden_sizes) if isinstance(hidden_sizes, Sequence) and not isinstance(hidden_sizes, str) else None
        if sizes is None or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in sizes):
            raise ValueError(f"hidden_sizes must be a sequence of positive integers, got {hidden_sizes!r}")
        obs_dim = get_flattened_obs_dim(observation_space)
        act_dim = get_flattened_obs_dim(action_space)
        input_dim = sum(size for size, used in zip((obs_dim, act_dim, obs_dim, 1), self.use) if used)
        self.mlp = nn.Sequential(*create_mlp(input_dim, 1, [int(w) for w in sizes], activation))
        self.to(check_device(device))

    def forward(self, obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        inputs = [x for x, used in zip((obs, act, next_obs, done.reshape(-1, 1)), self.use) if used]
        return self.mlp(torch.cat(inputs, dim=1)).squeeze(1)
