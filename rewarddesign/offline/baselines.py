"""Baselines of offline preference learning: behaviour cloning and IQL.

- :class:`BehaviorCloning`: an MLP regressing the dataset's actions (in ``[-1, 1]``) on the
  standardised observations, on all data, or (:func:`top_fraction`) on the segments the
  preferences rank highest ("top-fraction BC": it uses the labels, not the rewards).
- :class:`IQL`: implicit Q-learning (Kostrikov et al., 2022) through TorchRL's ``IQLLoss``, on the
  dataset's true reward or on a reward relabelled by a model learned from the preferences
  (:func:`relabel_rewards` with a Bradley-Terry :class:`~rewarddesign.preferences.RewardModel`).

d3rlpy, the usual home of IQL, pins ``gymnasium==1.0.0`` (and pulls the old ``gym``), which
cannot install beside this project's Gymnasium 1.x stack; TorchRL's IQL installs cleanly
(``pip install 'rewarddesign[offline]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from stable_baselines3.common.torch_layers import create_mlp
from torch import nn

from rewarddesign._seeding import seeded_torch
from rewarddesign._validation import check_device, check_finite, check_positive_int
from rewarddesign.offline.data import OfflineData
from rewarddesign.offline.scaling import Scaling
from rewarddesign.preferences import PreferenceDataset, RewardModel

__all__ = ["BehaviorCloning", "IQL", "top_fraction", "relabel_rewards"]


def top_fraction(
    preferences: PreferenceDataset, fraction: float = 0.25
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The observations and actions of the preferred segments: those with the highest win rate.

    Each segment's win rate is its share of wins (ties count half) among the pairs it is in, equal
    rates ranked by the number of wins; segments in no pair are left out. Returns
    ``obs [M, obs_dim]`` and ``acts [M, act_dim]`` of the top ``fraction`` of the compared
    segments, all their steps.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    n = len(preferences.fragments)
    wins = np.bincount(preferences.first, preferences.labels, n) + np.bincount(
        preferences.second, 1.0 - preferences.labels, n
    )
    games = np.bincount(preferences.first, minlength=n) + np.bincount(preferences.second, minlength=n)
    compared = np.flatnonzero(games > 0)
    if len(compared) == 0:
        raise ValueError("the preferences compare no segment")
    rate = wins[compared] / games[compared]
    order = np.lexsort((-wins[compared], -rate))  # by rate, then by wins
    keep = compared[order[: max(1, int(round(fraction * len(compared))))]]
    fragments = preferences.fragments
    return fragments.obs[keep].reshape(-1, fragments.obs.shape[-1]), fragments.acts[keep].reshape(
        -1, fragments.acts.shape[-1]
    )


class BehaviorCloning:
    """Behaviour cloning: ``min E ||pi(s) - a||^2`` with actions scaled to ``[-1, 1]``.

    Args:
        data: The dataset (fits the observation scaling and the action bounds).
        obs: The observations to imitate; default: all of ``data``'s.
        acts: The actions to imitate; default: all of ``data``'s.
        hidden_sizes: Widths of the MLP.
        lr: Adam's step size.
        batch_size: The batch.
        seed: Seeds the network and the batches (this learner's own generators: the process's are
            neither read nor changed).
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...
    """

    algo = "bc"

    def __init__(
        self,
        data: OfflineData,
        obs: ArrayLike | None = None,
        acts: ArrayLike | None = None,
        *,
        hidden_sizes: tuple[int, ...] = (256, 256),
        lr: float = 1e-3,
        batch_size: int = 256,
        seed: int = 0,
        device: torch.device | str = "auto",
        _scaling: Scaling | None = None,
    ) -> None:
        self.scaling = _scaling or Scaling.fit(data)
        self.device = check_device(device)
        self.env_id = data.env_id if data is not None else None
        obs = data.observations if obs is None else np.asarray(obs, dtype=np.float32)
        acts = data.actions if acts is None else np.asarray(acts, dtype=np.float32)
        if len(obs) != len(acts) or len(obs) == 0:
            raise ValueError(f"obs and acts must be non-empty with one row each, got {len(obs)} and {len(acts)}")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.hidden_sizes = tuple(hidden_sizes)
        self.rng = np.random.default_rng(seed)
        obs_dim, act_dim = obs.shape[-1], acts.shape[-1]
        with seeded_torch(seed):
            net = nn.Sequential(*create_mlp(obs_dim, act_dim, list(hidden_sizes), nn.ReLU), nn.Tanh())
        self.net = net.to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self._obs = torch.as_tensor(self.scaling.obs(obs), device=self.device)
        self._acts = torch.as_tensor(self.scaling.to_unit(acts), device=self.device)
        self.steps = 0

    def train(self, steps: int) -> list[float]:
        """Take ``steps`` gradient steps; return the loss of each."""
        losses = []
        for _ in range(check_positive_int(steps, "steps")):
            batch = torch.as_tensor(self.rng.integers(len(self._obs), size=self.batch_size), device=self.device)
            loss = ((self.net(self._obs[batch]) - self._acts[batch]) ** 2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.detach()))
            self.steps += 1
        return losses

    def wrap_env(self, env: gym.Env) -> gym.Env:
        """``env`` as it is: the policy is Markov."""
        return env

    @torch.no_grad()
    def act(self, obs: ArrayLike) -> NDArray[np.float32]:
        """Actions ``[B, act_dim]`` for observations ``[B, obs_dim]`` (``[act_dim]`` for one ``[obs_dim]``)."""
        batch, single = _obs_batch(obs, len(self.scaling.obs_mean))
        unit = self.net(torch.as_tensor(self.scaling.obs(batch), device=self.device))
        actions = self.scaling.from_unit(unit.cpu().numpy())
        return actions[0] if single else actions

    def predict(
        self, observation: ArrayLike, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[NDArray[np.float32], None]:
        """SB3's ``predict``: ``(act(observation), None)`` (the policy is deterministic and keeps no state)."""
        return self.act(observation), None

    def save(self, path: str | Path) -> Path:
        """Write ``path/policy.pt`` (the network's tensors and the scaling) and ``path/policy.json``."""
        return _save(self, path, self.net)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "auto") -> BehaviorCloning:
        """Restore what :meth:`save` wrote (``torch.load(weights_only=True)``), ready to act."""
        agent, state = _restore(cls, path, device)
        obs_dim, act_dim = len(agent.scaling.obs_mean), len(agent.scaling.act_low)
        agent.net = nn.Sequential(*create_mlp(obs_dim, act_dim, list(agent.hidden_sizes), nn.ReLU), nn.Tanh())
        agent.net.load_state_dict(state["module"])
        agent.net.to(agent.device)
        return agent


def relabel_rewards(data: OfflineData, model: RewardModel, batch_size: int = 65_536) -> NDArray[np.float64]:
    """``[T]`` the learned reward of every transition of ``data`` (normalised as the model normalises)."""
    rewards = np.empty(len(data))
    for start in range(0, len(data), batch_size):
        end = start + batch_size
        rewards[start:end] = model.predict(data.observations[start:end], data.actions[start:end])
    return rewards


class IQL:
    """Implicit Q-learning on an offline dataset through TorchRL's ``IQLLoss``.

    Observations are standardised and actions scaled to ``[-1, 1]``; the actor is a tanh-Gaussian
    policy, the critics two Q networks and a value network (MLPs), the target Q a Polyak average.

    Args:
        data: The dataset.
        rewards: ``[T]`` rewards to learn from (default: the dataset's own, the true reward).
        gamma: The discount.
        expectile: IQL's expectile ``tau`` (the paper's MuJoCo setting 0.7).
        temperature: IQL's inverse temperature ``beta`` (the paper's MuJoCo setting 3.0).
        hidden_sizes: Widths of the networks.
        lr: Adam's step size.
        batch_size: The batch.
        tau: The Polyak rate of the target networks.
        normalize_rewards: Standardise the rewards (mean 0, standard deviation 1) first.
        reward_scale: Multiplies the rewards (standardised first when ``normalize_rewards``).
        seed: Seeds the networks and the batches (this learner's own generators).
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...
    """

    algo = "iql"

    def __init__(
        self,
        data: OfflineData,
        rewards: ArrayLike | None = None,
        *,
        gamma: float = 0.99,
        expectile: float = 0.7,
        temperature: float = 3.0,
        hidden_sizes: tuple[int, ...] = (256, 256),
        lr: float = 3e-4,
        batch_size: int = 256,
        tau: float = 0.005,
        normalize_rewards: bool = False,
        reward_scale: float = 1.0,
        seed: int = 0,
        device: torch.device | str = "auto",
    ) -> None:
        try:
            from tensordict import TensorDict
            from torchrl.modules import MLP, ValueOperator
            from torchrl.objectives import IQLLoss, SoftUpdate
        except ImportError as error:  # pragma: no cover - torchrl is in the offline extra
            raise ImportError("IQL needs torchrl: pip install 'rewarddesign[offline]'") from error
        learned = data.rewards if rewards is None else np.asarray(rewards, dtype=np.float32).reshape(-1)
        if len(learned) != len(data):
            raise ValueError(f"rewards need one entry per transition ({len(data)}), got {len(learned)}")
        check_finite(learned, "rewards")
        if normalize_rewards:
            learned = (learned - learned.mean()) / max(float(learned.std()), 1e-8)
        self.scaling = Scaling.fit(data)
        self.device = check_device(device)
        self.env_id = data.env_id
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.rng = np.random.default_rng(seed)
        obs_dim, act_dim = data.observations.shape[1], data.actions.shape[1]
        self._TensorDict = TensorDict
        self.hidden_sizes = tuple(hidden_sizes)
        with seeded_torch(seed):  # the loss draws the initial weights of its second Q network
            self.actor = _iql_actor(obs_dim, act_dim, self.hidden_sizes).to(self.device)
            qvalue = ValueOperator(
                MLP(obs_dim + act_dim, 1, num_cells=list(hidden_sizes)), in_keys=["observation", "action"]
            )
            value = ValueOperator(MLP(obs_dim, 1, num_cells=list(hidden_sizes)), in_keys=["observation"])
            self.loss = IQLLoss(self.actor, qvalue.to(self.device), value.to(self.device), num_qvalue_nets=2,
                                expectile=expectile, temperature=temperature, loss_function="l2")  # fmt: skip
        self.loss.make_value_estimator(gamma=gamma)
        self.target_updater = SoftUpdate(self.loss, tau=tau)
        self.optimizer = torch.optim.Adam(self.loss.parameters(), lr=lr)
        as_t = lambda array, dtype=torch.float32: torch.as_tensor(array, dtype=dtype, device=self.device)  # noqa: E731
        self._data = {
            "observation": as_t(self.scaling.obs(data.observations)),
            "action": as_t(self.scaling.to_unit(data.actions)),
            "next_observation": as_t(self.scaling.obs(data.next_observations)),
            "reward": as_t(learned * reward_scale).unsqueeze(-1),
            "terminated": as_t(data.terminations, torch.bool).unsqueeze(-1),
            "done": as_t(data.terminations | data.truncations, torch.bool).unsqueeze(-1),
        }
        self.steps = 0

    def _batch(self) -> Any:
        index = torch.as_tensor(self.rng.integers(len(self._data["reward"]), size=self.batch_size), device=self.device)
        d = {key: value[index] for key, value in self._data.items()}
        return self._TensorDict(
            {
                "observation": d["observation"],
                "action": d["action"],
                "next": {
                    "observation": d["next_observation"],
                    "reward": d["reward"],
                    "done": d["done"],
                    "terminated": d["terminated"],
                },  # fmt: skip
            },
            batch_size=[self.batch_size],
            device=self.device,
        )

    def train(self, steps: int) -> list[dict[str, float]]:
        """Take ``steps`` gradient steps (actor, Q and value losses summed); return the losses of each."""
        history = []
        for _ in range(check_positive_int(steps, "steps")):
            out = self.loss(self._batch())
            total = out["loss_actor"] + out["loss_qvalue"] + out["loss_value"]
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
            self.target_updater.step()
            self.steps += 1
            history.append({key: float(out[key].detach()) for key in ("loss_actor", "loss_qvalue", "loss_value")})
        return history

    def wrap_env(self, env: gym.Env) -> gym.Env:
        """``env`` as it is: the policy is Markov."""
        return env

    @torch.no_grad()
    def act(self, obs: ArrayLike, deterministic: bool = True) -> NDArray[np.float32]:
        """Actions ``[B, act_dim]`` for observations ``[B, obs_dim]`` (``[act_dim]`` for one ``[obs_dim]``).

        Args:
            obs: The observations.
            deterministic: The mode of the tanh-Gaussian policy; False: a draw from it (from torch's
                generator: :func:`~rewarddesign.rollouts.rollout` gives it one of its own).
        """
        from tensordict.nn import InteractionType, set_interaction_type

        batch, single = _obs_batch(obs, len(self.scaling.obs_mean))
        td = self._TensorDict(
            {"observation": torch.as_tensor(self.scaling.obs(batch), device=self.device)}, batch_size=[len(batch)]
        )
        mode = InteractionType.DETERMINISTIC if deterministic else InteractionType.RANDOM
        with set_interaction_type(mode):
            unit = self.actor(td)["action"]
        actions = self.scaling.from_unit(unit.cpu().numpy())
        return actions[0] if single else actions

    def predict(
        self, observation: ArrayLike, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[NDArray[np.float32], None]:
        """SB3's ``predict``: ``(act(observation, deterministic), None)`` (no state)."""
        return self.act(observation, deterministic), None

    def save(self, path: str | Path) -> Path:
        """Write ``path/policy.pt`` (the actor's tensors and the scaling) and ``path/policy.json``."""
        return _save(self, path, self.actor)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "auto") -> IQL:
        """Restore the actor that :meth:`save` wrote (``torch.load(weights_only=True)``), ready to act."""
        from tensordict import TensorDict

        agent, state = _restore(cls, path, device)
        agent._TensorDict = TensorDict
        obs_dim, act_dim = len(agent.scaling.obs_mean), len(agent.scaling.act_low)
        agent.actor = _iql_actor(obs_dim, act_dim, agent.hidden_sizes)
        agent.actor.load_state_dict(state["module"])
        agent.actor.to(agent.device)
        return agent


def _obs_batch(obs: ArrayLike, obs_dim: int) -> tuple[NDArray[np.float32], bool]:
    """``obs`` as a batch ``[B, obs_dim]``, and whether it was one observation."""
    array = np.asarray(obs, dtype=np.float32)
    single = array.ndim == 1
    batch = array[None] if single else array
    if batch.ndim != 2 or batch.shape[1] != obs_dim:
        raise ValueError(f"obs must have shape [B, {obs_dim}] or [{obs_dim}], got {array.shape}")
    return batch, single


def _save(agent: Any, path: str | Path, module: nn.Module) -> Path:
    """``path/policy.pt``: the module's tensors and the scaling; ``path/policy.json``: what rebuilds it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    torch.save({"module": module.state_dict(), "scaling": agent.scaling.state_dict()}, path / "policy.pt")
    meta = {"algo": agent.algo, "hidden_sizes": list(agent.hidden_sizes), "env_id": agent.env_id, "steps": agent.steps}
    (path / "policy.json").write_text(json.dumps(meta, indent=1))
    return path


def _restore(cls: type, path: str | Path, device: torch.device | str) -> tuple[Any, dict[str, Any]]:
    """An agent of ``cls`` with what :func:`_save` wrote (scaling, device, env, sizes), and the saved tensors."""
    path = Path(path)
    meta = json.loads((path / "policy.json").read_text())
    state = torch.load(path / "policy.pt", map_location="cpu", weights_only=True)
    agent: Any = object.__new__(cls)
    agent.scaling = Scaling.from_state_dict(state["scaling"])
    agent.device, agent.env_id, agent.steps = check_device(device), meta.get("env_id"), int(meta["steps"])
    agent.hidden_sizes = tuple(meta["hidden_sizes"])
    return agent, state


def _iql_actor(obs_dim: int, act_dim: int, hidden_sizes: tuple[int, ...]) -> Any:
    """A tanh-Gaussian TorchRL actor on ``observation`` with actions in ``[-1, 1]``."""
    from tensordict.nn import NormalParamExtractor, TensorDictModule
    from torchrl.data import Bounded
    from torchrl.modules import MLP, ProbabilisticActor, TanhNormal

    net = nn.Sequential(MLP(obs_dim, 2 * act_dim, num_cells=list(hidden_sizes)), NormalParamExtractor())
    return ProbabilisticActor(
        TensorDictModule(net, in_keys=["observation"], out_keys=["loc", "scale"]),
        in_keys=["loc", "scale"],
        spec=Bounded(-torch.ones(act_dim), torch.ones(act_dim), torch.Size([act_dim])),
        distribution_class=TanhNormal,
        return_log_prob=False,
    )
