"""Training with Stable-Baselines3 on designed rewards, reporting the true return beside it.

The env stack is ``env -> Monitor -> designed-reward wrappers``: ``Monitor`` sits inside, so the
episode statistics SB3 logs (``rollout/ep_rew_mean``) are the *true* return, while the agent
learns from the designed reward. :class:`RewardDesignCallback` adds the designed return
(``rollout/designed_return_mean``) and evaluates the policy on the true reward at fixed
intervals (``eval/true_return``); both go to TensorBoard and CSV.

Example:
    >>> result = train("CartPole-v1", "ppo", timesteps=256, shaping="cartpole_upright",
    ...                algo_kwargs={"n_steps": 128, "batch_size": 64, "n_epochs": 1}, device="cpu")
    >>> result.model.num_timesteps
    256
"""

from __future__ import annotations

import json
import os
import pickle
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv

from rewarddesign._seeding import GlobalRandomStream, isolated_global_random
from rewarddesign._validation import check_device, check_gamma, check_positive_int
from rewarddesign.rollouts import episode_returns, rollout
from rewarddesign.shaping import Potential, PotentialShaping, get_potential

__all__ = [
    "AlgoName",
    "ALGORITHMS",
    "make_env_factory",
    "make_vec_env",
    "RewardDesignCallback",
    "TrainResult",
    "train",
    "Evaluation",
    "evaluate",
    "save_policy",
    "load_policy",
]

#: The names of the SB3 algorithms.
AlgoName = Literal["ppo", "a2c", "dqn", "sac", "td3"]

#: SB3 algorithms by the names the command line uses.
ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "sac": SAC, "td3": TD3}

Shaping = str | Potential | Callable[[Any], float] | None


#: The action spaces each algorithm handles (SB3's own lists).
_ACTION_SPACES: dict[str, tuple[type[gym.spaces.Space], ...]] = {
    "ppo": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "a2c": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "dqn": (gym.spaces.Discrete,),
    "sac": (gym.spaces.Box,),
    "td3": (gym.spaces.Box,),
}

#: Seeds reach numpy's legacy ``RandomState``, which takes 32-bit seeds.
_MAX_SEED = 2**32 - 1


def _algorithm(name: str) -> type[BaseAlgorithm]:
    try:
        return ALGORITHMS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"algo must be one of {sorted(ALGORITHMS)}, got {name!r}") from None


def _check_action_space(algo: AlgoName, action_space: gym.spaces.Space, env_id: str = "the env") -> None:
    """Raise ``ValueError`` when ``algo`` cannot act in ``action_space`` (DQN needs Discrete, SAC and TD3 Box).

    Raises:
        ValueError: ``algo`` is unknown, or does not handle the action space.
    """
    _algorithm(algo)
    accepted = _ACTION_SPACES[algo.lower()]
    if not isinstance(action_space, accepted):
        names = " or ".join(cls.__name__ for cls in accepted)
        raise ValueError(f"algo {algo!r} needs a {names} action space, but {env_id} has {action_space}")


def _check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as an int after checking that it lies in [0, 2**32 - 1] (numpy's seeds are 32-bit).

    Raises:
        ValueError: ``seed`` is not an integer in that range.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"{name} must be an integer in [0, 2**32 - 1], got {seed!r}")
    return int(seed)


def _algo_kwargs(algo_kwargs: dict[str, Any] | None, gamma: float) -> dict[str, Any]:
    """``algo_kwargs`` with ``gamma`` as the algorithm's discount; another discount there is refused."""
    kwargs = dict(algo_kwargs or {})
    if "gamma" in kwargs:
        theirs = check_gamma(kwargs["gamma"], "algo_kwargs['gamma']", allow_zero=True)
        if theirs != gamma:
            raise ValueError(
                f"algo_kwargs['gamma'] = {kwargs['gamma']!r} conflicts with gamma = {gamma!r}: the algorithm and "
                f"the shaping share one discount; pass gamma={kwargs['gamma']!r} instead"
            )
    kwargs["gamma"] = gamma
    return kwargs


def register_dm_control() -> None:
    """Register dm-control's ``dm_control/...`` env ids (shimmy), rendering headless unless told otherwise."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # before dm-control imports mujoco's GL
    try:
        import shimmy  # noqa: F401
    except ImportError as error:
        raise ImportError("dm-control tasks need shimmy and dm-control: pip install 'rewarddesign[control]'") from error


def _register_namespace(env_id: str) -> None:
    """Import what registers ``env_id``'s namespace: shimmy for ``dm_control/...`` ids (one import per process)."""
    if env_id.startswith("dm_control/"):
        register_dm_control()


def make_env_factory(
    env_id: str,
    *,
    shaping: Shaping = None,
    gamma: float = 0.99,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
    env_kwargs: dict[str, Any] | None = None,
) -> Callable[[gym.Env], gym.Env]:
    """The ``wrapper_class`` that puts designed rewards around a monitored env.

    Args:
        env_id: Only for error messages; the env itself comes from SB3's ``make_vec_env``.
        shaping: A registered potential name (see :data:`rewarddesign.shaping.POTENTIALS`), a
            potential, or None (``"none"`` too) for the env's own reward.
        gamma: The learner's discount, which shaping must share.
        wrappers: Further wrappers, applied outside the shaping in order.
        env_kwargs: Keyword arguments of ``gym.make``, to check a named potential against the env early.
    """
    gamma = check_gamma(gamma)
    _register_namespace(env_id)

    flatten = env_id.startswith("dm_control/")

    def wrap(env: gym.Env) -> gym.Env:
        if flatten:  # dm-control's dicts of feature vectors (some of them scalars) as one vector, for MlpPolicy
            env = gym.wrappers.FlattenObservation(env)
        if isinstance(shaping, str) and shaping != "none":
            env = PotentialShaping(env, get_potential(shaping, env, gamma), gamma)
        elif shaping is not None and shaping != "none":
            env = PotentialShaping(env, shaping, gamma)
        for wrapper in wrappers:
            env = wrapper(env)
        return env

    if isinstance(shaping, str) and shaping != "none":  # fail early on an unknown name or a potential for another env
        probe = gym.make(env_id, **(env_kwargs or {}))
        probe = gym.wrappers.FlattenObservation(probe) if flatten else probe
        try:
            get_potential(shaping, probe, gamma)
        finally:
            probe.close()
    return wrap


def _policy(venv: VecEnv | gym.Env) -> str:
    return "MultiInputPolicy" if isinstance(venv.observation_space, gym.spaces.Dict) else "MlpPolicy"


def make_vec_env(
    env_id: str,
    n_envs: int = 1,
    seed: int | None = 0,
    *,
    shaping: Shaping = None,
    gamma: float = 0.99,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
    env_kwargs: dict[str, Any] | None = None,
    monitor_dir: str | None = None,
    vec_env_cls: type | None = None,
) -> VecEnv:
    """An SB3 VecEnv of ``env -> Monitor -> shaping -> wrappers`` (Monitor records the true return).

    Example:
        >>> venv = make_vec_env("CartPole-v1", n_envs=2, shaping="cartpole_upright")
        >>> venv.num_envs
        2
    """
    check_positive_int(n_envs, "n_envs")
    wrap = make_env_factory(env_id, shaping=shaping, gamma=gamma, wrappers=wrappers, env_kwargs=env_kwargs)
    return sb3_make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        env_kwargs=env_kwargs,
        monitor_dir=monitor_dir,
        wrapper_class=wrap,
        vec_env_cls=vec_env_cls,
    )


class RewardDesignCallback(BaseCallback):
    """Logs the designed return beside the true one, and evaluates on the true reward.

    Records ``rollout/designed_return_mean`` and ``rollout/true_return_mean`` (means over the last
    ``window`` training episodes) and, every ``eval_freq`` env steps, ``eval/true_return`` from
    ``n_eval_episodes`` deterministic episodes of ``eval_env`` (an env without designed rewards).
    The evaluations are kept in :attr:`evaluations` as ``(step, mean, std, designed_mean)``.
    """

    def __init__(
        self, eval_env: VecEnv | None = None, eval_freq: int = 0, n_eval_episodes: int = 10, window: int = 100
    ) -> None:
        super().__init__()
        self.eval_env = eval_env
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.designed_returns: deque[float] = deque(maxlen=window)
        self.true_returns: deque[float] = deque(maxlen=window)
        self.evaluations: list[tuple[int, float, float, float]] = []
        self.eval_time = 0.0  # seconds spent in evaluations
        self._running: np.ndarray | None = None
        self._next_eval = 0

    def _on_training_start(self) -> None:
        self._running = np.zeros(self.training_env.num_envs)
        self._next_eval = 0
        if self.eval_env is not None and self.eval_freq > 0:
            self._evaluate()

    def _designed_mean(self) -> float:
        return float(np.mean(self.designed_returns)) if self.designed_returns else float("nan")

    def _evaluate(self) -> None:
        assert self.eval_env is not None
        start = time.perf_counter()
        returns, _ = evaluate_policy(
            self.model,
            self.eval_env,
            n_eval_episodes=self.n_eval_episodes,
            deterministic=True,
            warn=False,
            return_episode_rewards=True,
        )
        self.eval_time += time.perf_counter() - start
        mean, std = float(np.mean(returns)), float(np.std(returns))
        self.evaluations.append((int(self.num_timesteps), mean, std, self._designed_mean()))
        self.logger.record("eval/true_return", mean)
        self.logger.record("eval/true_return_std", std)
        self._next_eval = self.num_timesteps + self.eval_freq

    def _on_step(self) -> bool:  # every env step: keep it cheap
        running = self._running
        assert running is not None  # set when training starts
        running += self.locals["rewards"]  # VecEnv arrays [n_envs]
        dones = self.locals["dones"]
        if dones.any():
            for i in np.flatnonzero(dones):
                self.designed_returns.append(float(running[i]))
                episode = self.locals["infos"][i].get("episode")
                if episode is not None:
                    self.true_returns.append(float(episode["r"]))
                running[i] = 0.0
        if self.eval_env is not None and self.eval_freq > 0 and self.num_timesteps >= self._next_eval:
            self._evaluate()
        return True

    def _on_rollout_end(self) -> None:  # SB3 logs its rollout statistics at this point too
        if self.designed_returns:
            self.logger.record("rollout/designed_return_mean", self._designed_mean())
            self.logger.record("rollout/true_return_mean", float(np.mean(self.true_returns)))

    def _on_training_end(self) -> None:
        if (
            self.eval_env is not None
            and self.eval_freq > 0
            and (not self.evaluations or self.evaluations[-1][0] < self.num_timesteps)
        ):
            self._evaluate()


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: BaseAlgorithm
    #: ``(step, true mean, true std, designed mean)`` for each evaluation.
    evaluations: list[tuple[int, float, float, float]] = field(default_factory=list)
    designed_returns: list[float] = field(default_factory=list)
    true_returns: list[float] = field(default_factory=list)
    #: Seconds of ``learn``, evaluations included.
    wall_time: float = 0.0
    #: Seconds of the evaluations on the true reward within ``learn``.
    eval_time: float = 0.0
    device: str = "cpu"
    log_dir: str | None = None


def train(
    env_id: str,
    algo: AlgoName = "ppo",
    timesteps: int = 100_000,
    *,
    seed: int = 0,
    shaping: Shaping = None,
    gamma: float = 0.99,
    n_envs: int = 1,
    device: torch.device | str = "auto",
    log_dir: str | Path | None = None,
    eval_freq: int = 0,
    eval_episodes: int = 10,
    progress_bar: bool = False,
    algo_kwargs: dict[str, Any] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    design_kwargs: dict[str, Any] | None = None,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
    verbose: int = 0,
) -> TrainResult:
    """Train an SB3 agent on a designed reward and report the true return beside it.

    Args:
        env_id: A Gymnasium env id.
        algo: One of ``ppo``, ``a2c``, ``dqn``, ``sac``, ``td3``.
        timesteps: Env steps to train for.
        seed: Seeds the algorithm, the envs and the run's draws from the process's global generators
            (SB3's ``seed`` calls ``set_random_seed``, and ``learn`` draws from Python's ``random``,
            ``np.random`` and torch's generators): the run swaps a state of those generators of
            its own in, so the same seed gives the same model whatever the process drew before,
            and the caller's generators are left as they were. The returned model's later
            ``learn`` and ``predict(deterministic=False)`` draw from the caller's generators, as
            any SB3 model's do.
        shaping: A registered potential name, a potential, or None for the env's own reward.
        gamma: Discount of the algorithm and of the shaping.
        n_envs: Parallel envs (a ``DummyVecEnv``).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (an error
            where there is no such CUDA device, not a fall-back to the CPU).
        log_dir: Where TensorBoard and CSV logs go (``progress.csv``, ``events.*``); None for no logs.
        eval_freq: Evaluate on the true reward every this many env steps (0: never).
        eval_episodes: Episodes per evaluation.
        progress_bar: Show SB3's progress bar.
        algo_kwargs: Further keyword arguments of the algorithm. The discount is ``gamma``: a
            ``"gamma"`` entry must equal it.
        env_kwargs: Keyword arguments of ``gym.make``.
        design_kwargs: Further keyword arguments of ``gym.make`` for the training envs only, for a
            reward design that the env itself offers (``credit="modular"`` of the submodular envs);
            evaluation uses the env without them. The training Monitor then reports the designed return.
        wrappers: Reward-design wrappers of the training envs, applied outside the shaping (the
            ``Monitor`` inside them reports the true return); evaluation uses the env without them.
        verbose: SB3 verbosity.

    Dict observations get SB3's ``MultiInputPolicy``, others ``MlpPolicy``; dm-control's dict
    observations (``dm_control/...`` ids, through shimmy) are flattened into one vector first.

    Raises:
        ValueError: A bad argument (named in the message): an unknown ``algo`` or one that does not
            fit the env's action space, ``timesteps`` or ``eval_episodes`` below 1, a negative
            ``eval_freq``, ``seed`` outside [0, 2**32 - 1], ``gamma`` outside (0, 1], an
            ``algo_kwargs`` discount other than ``gamma``, or a ``device`` this machine lacks.
    """
    algorithm = _algorithm(algo)
    check_positive_int(timesteps, "timesteps")
    check_positive_int(eval_episodes, "eval_episodes")
    if isinstance(eval_freq, bool) or not isinstance(eval_freq, (int, np.integer)) or eval_freq < 0:
        raise ValueError(f"eval_freq must be a non-negative integer (0: no evaluation), got {eval_freq!r}")
    seed = _check_seed(seed)
    gamma = check_gamma(gamma)
    kwargs = _algo_kwargs(algo_kwargs, gamma)
    torch_device = check_device(device)
    train_kwargs = {**(env_kwargs or {}), **(design_kwargs or {})} or None
    # SB3 seeds and draws from the process's global generators: the run gets a stream of its own
    with GlobalRandomStream(seed).active():
        venv = make_vec_env(
            env_id, n_envs, seed, shaping=shaping, gamma=gamma, wrappers=wrappers, env_kwargs=train_kwargs
        )
        _check_action_space(algo, venv.action_space, env_id)
        eval_env = make_vec_env(env_id, 1, seed + 10_000, env_kwargs=env_kwargs) if eval_freq > 0 else None
        model = algorithm(_policy(venv), venv, seed=seed, device=torch_device, verbose=verbose, **kwargs)
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            model.set_logger(configure(str(log_dir), ["csv", "tensorboard"] + (["stdout"] if verbose else [])))
        callback = RewardDesignCallback(eval_env, eval_freq, eval_episodes)
        start = time.perf_counter()
        model.learn(total_timesteps=timesteps, callback=callback, progress_bar=progress_bar)
        wall = time.perf_counter() - start
    venv.close()
    return TrainResult(
        model=model,
        evaluations=callback.evaluations,
        designed_returns=list(callback.designed_returns),
        true_returns=list(callback.true_returns),
        wall_time=wall,
        eval_time=callback.eval_time,
        device=str(model.device),
        log_dir=None if log_dir is None else str(log_dir),
    )


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` returns: the true return of each episode, float ``[n_episodes]``."""

    returns: NDArray[np.float64]

    @property
    def mean(self) -> float:
        """The mean return."""
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        """The standard deviation of the returns (population, as SB3's ``evaluate_policy`` reports it)."""
        return float(np.std(self.returns))


def evaluate(
    model: BaseAlgorithm, env_id: str, n_episodes: int = 10, seed: int = 0, env_kwargs: dict[str, Any] | None = None
) -> Evaluation:
    """The true (undesigned) return of ``n_episodes`` deterministic episodes, by :func:`rewarddesign.rollouts.rollout`.

    The env is made as for training, without designed rewards (:func:`make_vec_env`, one env),
    and reset with ``seed`` once, at the start.

    Args:
        model: A trained SB3 model.
        env_id: A Gymnasium env id.
        n_episodes: Episodes to run.
        seed: Seeds the env.
        env_kwargs: Keyword arguments of ``gym.make``.

    Raises:
        ValueError: ``n_episodes`` is not a positive int.
    """
    check_positive_int(n_episodes, "n_episodes")
    env = make_vec_env(env_id, 1, None, env_kwargs=env_kwargs)
    try:
        trajectories = rollout(model, env, n_episodes=n_episodes, seed=seed, deterministic=True, record_infos=False)
    finally:
        env.close()
    return Evaluation(episode_returns(trajectories))


def save_policy(model: BaseAlgorithm, path: str | Path, env_id: str | None, **metadata: Any) -> Path:
    """Save a trained policy as tensors and JSON, which load without unpickling code.

    Writes ``path/policy.pt`` (the policy's ``state_dict``) and ``path/metadata.json`` (algorithm,
    env id, ``policy_kwargs`` and the given ``metadata``). SB3's own ``model.save`` pickles
    objects; use it to resume training, and this to share or deploy a policy.

    ``policy_kwargs`` are stored as JSON: numbers, strings, booleans, None, lists (``net_arch``)
    and dicts with string keys (``net_arch=dict(pi=[64], vf=[64])``), and classes of ``torch.nn``
    and ``torch.optim`` by name (``activation_fn=nn.ReLU``, ``optimizer_class=torch.optim.Adam``).
    Anything else (a custom features extractor, a function) is refused here, before anything is
    written, since the policy would come back with another network.

    Args:
        model: A model of one of :data:`ALGORITHMS`.
        path: Directory to write (created).
        env_id: The Gymnasium env id :func:`load_policy` builds the model on; None when the env
            has no id (the loader then passes ``env``).
        **metadata: Further JSON-able facts to keep (values JSON cannot hold are stored as text).

    Raises:
        TypeError: ``model`` is not one of :data:`ALGORITHMS`.
        ValueError: A ``policy_kwargs`` entry cannot be stored by name (the message names its key).
    """
    name = next((key for key, cls in ALGORITHMS.items() if isinstance(model, cls)), None)
    if name is None:
        raise TypeError(f"model must be one of {sorted(ALGORITHMS)}, got {type(model).__name__}")
    policy_kwargs = {
        key: _encode_kwarg(value, f"policy_kwargs[{key!r}]") for key, value in (model.policy_kwargs or {}).items()
    }
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.policy.state_dict().items()}, path / "policy.pt")
    meta = {"algo": name, "env_id": env_id, "policy_kwargs": policy_kwargs, **metadata}
    (path / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    return path


#: The modules whose classes ``policy_kwargs`` may name, with the base class a named one must have.
_NAMED_CLASSES: dict[str, tuple[Any, type]] = {
    "torch.nn": (torch.nn, torch.nn.Module),
    "torch.optim": (torch.optim, torch.optim.Optimizer),
}
_CLASS_KEY = "$class"


def _encode_kwarg(value: Any, key: str) -> Any:
    """``value`` as JSON, classes of ``torch.nn``/``torch.optim`` as ``{"$class": "torch.nn.ReLU"}``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_encode_kwarg(item, f"{key}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode_kwarg(item, f"{key}[{k!r}]") for k, item in value.items()}
    if isinstance(value, type):
        for module_name, (module, base) in _NAMED_CLASSES.items():
            if issubclass(value, base) and getattr(module, value.__name__, None) is value:
                return {_CLASS_KEY: f"{module_name}.{value.__name__}"}
    raise ValueError(
        f"{key} = {value!r} cannot be saved: save_policy stores JSON values (numbers, strings, lists, dicts with "
        "string keys) and classes of torch.nn and torch.optim by name, so the policy loads without unpickling"
    )


def _decode_kwarg(value: Any, key: str) -> Any:
    """The inverse of :func:`_encode_kwarg`: named classes are looked up in ``torch.nn``/``torch.optim`` only."""
    if isinstance(value, list):
        return [_decode_kwarg(item, f"{key}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        if set(value) == {_CLASS_KEY}:
            module_name, _, name = str(value[_CLASS_KEY]).rpartition(".")
            module, base = _NAMED_CLASSES.get(module_name, (None, object))
            cls = getattr(module, name, None) if module is not None else None
            if not (isinstance(cls, type) and issubclass(cls, base)):
                raise ValueError(f"{key} names {value[_CLASS_KEY]!r}, which is no class of torch.nn or torch.optim")
            return cls
        return {k: _decode_kwarg(item, f"{key}[{k!r}]") for k, item in value.items()}
    return value


def _read_metadata(path: Path) -> dict[str, Any]:
    """``path/metadata.json`` of a saved policy, with clear errors for a missing or damaged one."""
    if not path.exists():
        raise FileNotFoundError(f"no saved policy at {path}")
    if not path.is_dir():
        raise ValueError(f"{path} is a file: a saved policy is a directory holding metadata.json and policy.pt")
    file = path / "metadata.json"
    if not file.is_file():
        raise FileNotFoundError(f"{path} holds no metadata.json: it is not a policy written by save_policy")
    try:
        meta = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file} is damaged or not written by save_policy: {err}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("algo"), str):
        raise ValueError(f"{file} is not written by save_policy: it names no algorithm ('algo')")
    if not isinstance(meta.get("policy_kwargs") or {}, dict):
        raise ValueError(f"{file} is damaged: its policy_kwargs are not a JSON object")
    return meta


def _read_weights(file: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """The state dict in ``file``, read with ``weights_only=True``; anything else is refused with our message."""
    if not file.is_file():
        raise FileNotFoundError(f"{file.parent} holds no policy.pt: it is not a policy written by save_policy")
    try:
        state = torch.load(file, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError):
        state = None  # torch's message would suggest weights_only=False, which runs code from the file
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{file} is not a weights file written by save_policy (it is damaged, or holds more than named "
            "tensors); it was not loaded, since loading anything else could run code from the file"
        )
    return state


def load_policy(
    path: str | Path,
    device: torch.device | str = "auto",
    env_kwargs: dict[str, Any] | None = None,
    *,
    env: gym.Env | VecEnv | None = None,
) -> BaseAlgorithm:
    """Load what :func:`save_policy` wrote, with ``torch.load(weights_only=True)``.

    Returns a model ready to ``predict`` (the policy only; optimiser state is not saved).

    Args:
        path: The directory :func:`save_policy` wrote.
        device: Where the model lives: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (an error
            where there is no such CUDA device).
        env_kwargs: Keyword arguments of ``gym.make`` for the saved env id.
        env: The env to build the model on, instead of the saved env id (for an env without one).

    Raises:
        FileNotFoundError: ``path``, or a file in it, is missing.
        ValueError: ``path`` holds no policy written by :func:`save_policy` (damaged, of another
            format, or weights that do not fit the network it describes).
    """
    path = Path(path)
    meta = _read_metadata(path)
    algorithm: Any = _algorithm(meta["algo"])  # a concrete algorithm, whose own arguments have defaults
    policy_kwargs = _decode_kwarg(meta.get("policy_kwargs") or {}, "policy_kwargs") or None
    torch_device = check_device(device)
    if env is None:
        if not isinstance(meta.get("env_id"), str):
            raise ValueError(f"the policy at {path} names no env id: pass env")
        env = make_vec_env(meta["env_id"], 1, 0, env_kwargs=env_kwargs)
    with isolated_global_random():  # the initial weights, replaced below, are not drawn from the caller's generators
        model = algorithm(_policy(env), env, policy_kwargs=policy_kwargs, device=torch_device)
    state = _read_weights(path / "policy.pt", model.device)
    try:
        model.policy.load_state_dict(state)
    except RuntimeError:
        raise ValueError(
            f"the weights in {path / 'policy.pt'} do not fit the {meta['algo']} network that {path / 'metadata.json'} "
            "describes (another architecture, or other observation or action spaces)"
        ) from None
    return model
