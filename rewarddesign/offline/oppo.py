"""OPPO: offline preference-guided policy optimisation (Kang et al., ICML 2023).

OPPO learns a policy from a fixed dataset and preferences between its segments without a reward
model. Three pieces train together:

- a **context encoder** ``E``: a transformer over the ``(s, a)`` tokens of a segment, mean-pooled
  into a context ``z`` (:class:`ContextEncoder`);
- a **contextual policy** ``pi(a_t | s_{<=t}, z)``: a causal transformer over the last states,
  conditioned on ``z`` (:class:`ContextualPolicy`); "hindsight information matching" trains it to
  reproduce a segment's actions from that segment's own context;
- the **optimal context** ``z*``, a free vector: the triplet loss pulls it towards the contexts of
  preferred segments and away from the others (:attr:`OPPOConfig.z_star_norm` can hold it on the
  contexts' sphere).

The loss of encoder and policy is ``recon + pref_weight * triplet(z*, z+, z-) + norm_weight * norm``
(action reconstruction as mean squared error, the triplet margin loss with ``z*`` held fixed, and
``(||z|| - 1)^2`` against the contexts' collapse or growth); after each such step ``z*`` takes a
step on the triplet loss with the contexts held fixed. To act, the policy conditions on ``z*``.

Reconstruction uses windows of all the data (unlabelled trajectories teach the policy what it can
do), the triplet loss the labelled pairs. Windows near an episode's start are left-padded and the
padding masked, so short episodes and the first steps of a rollout are handled alike.

Where the context comes from (:attr:`OPPOConfig.context`): the paper encodes the very window the
policy reconstructs (``"window"``, the default). That context holds the window's actions, so the
policy can learn to read the actions back out of it instead of learning what behaviour it stands
for; acting with ``z*``, which is no window's encoding, it then falls apart. With ``"episode"`` the
context is encoded from another window of the same episode, drawn uniformly: it can only carry
what the episode's steps share (which policy made it, how well it moves), the information ``z*`` is
meant to select; ``"adjacent"`` encodes the window just before or after. On Hopper medium-replay
(the offline benchmark) the paper's policy reconstructs with action error 0.09 given its own
context but 0.50 given another window's (worse than the actions' variance, 0.32) and 0.35 given
``z*``; with episode contexts the errors are 0.12, 0.16 and 0.15, and the context steers behaviour
(the best episodes' context scores 16-25, the worst episodes' 11). Where one policy made every
episode, a context from elsewhere in the episode carries nothing and OPPO reduces to behaviour
cloning over sequences; the guide (``docs/offline.md``) has the measurements.

Example:
    >>> import numpy as np
    >>> from rewarddesign.offline import OfflineData, OPPO, OPPOConfig, preference_pairs
    >>> rng = np.random.default_rng(0)
    >>> data = OfflineData(rng.normal(size=(200, 3)), rng.uniform(-1, 1, (200, 2)), rng.normal(size=200),
    ...     rng.normal(size=(200, 3)), np.zeros(200, bool), np.arange(200) % 50 == 49, np.full(4, 50))
    >>> pairs = preference_pairs(data, length=10, n_pairs=20)
    >>> oppo = OPPO(data, pairs, OPPOConfig(context_length=10, embed_dim=16, n_layers=1, batch_size=8), device="cpu")
    >>> history = oppo.train(5)
    >>> window = np.zeros((10, 4), np.float32)  # an episode's first step: one observation, nine padding rows
    >>> window[-1] = [*data.observations[0], 1.0]
    >>> oppo.act(window).shape
    (2,)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray
from torch import nn

from rewarddesign._seeding import TorchStream
from rewarddesign._validation import check_device, check_positive_int
from rewarddesign.offline.acting import ObservationWindow
from rewarddesign.offline.data import OfflineData
from rewarddesign.offline.scaling import Scaling
from rewarddesign.offline.segments import window_index
from rewarddesign.preferences import PreferenceDataset

#: Where a reconstructed window's context comes from (:attr:`OPPOConfig.context`).
ContextSource = Literal["window", "episode", "adjacent"]

#: The values of :data:`ContextSource`.
CONTEXTS: tuple[ContextSource, ...] = get_args(ContextSource)

#: How the norm term keeps contexts near the unit sphere (:attr:`OPPOConfig.norm`).
NormLoss = Literal["squared", "relu"]

#: What the triplet loss does with tied pairs (:attr:`OPPOConfig.ties`).
TieHandling = Literal["drop", "triplet"]

#: What the contextual policy reads besides the context (:attr:`OPPOConfig.policy_inputs`).
PolicyInputs = Literal["states", "history"]

#: ``(obs [B, K, obs_dim], acts [B, K, act_dim], valid [B, K], timesteps [B, K])``: windows of the
#: dataset, as tensors (``timesteps``: each step's index in its episode).
Windows = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

__all__ = [
    "CONTEXTS",
    "ContextSource",
    "NormLoss",
    "TieHandling",
    "PolicyInputs",
    "Windows",
    "OPPOConfig",
    "ContextEncoder",
    "ContextualPolicy",
    "OPPO",
    "reconstruction_loss",
    "triplet_loss",
    "norm_loss",
]


@dataclass(frozen=True)
class OPPOConfig:
    """OPPO's settings (defaults after the paper's code where it has them).

    Attributes:
        context_length: Steps the policy sees (its window) and the longest segment the encoder reads.
        z_dim: Size of a context.
        embed_dim, n_layers, n_heads, dropout: The transformers' width, depth, heads and dropout.
        batch_size: Windows for reconstruction and labelled pairs for the triplet loss per step.
        lr, weight_decay: AdamW of encoder and policy; z_lr: Adam of ``z*``.
        margin: The triplet loss's margin.
        pref_weight, norm_weight: Weights of the triplet and norm terms.
        grad_clip: Gradient-norm clip of encoder and policy.
        context: What a reconstructed window's context is encoded from: ``"window"``, the window
            itself (the paper); ``"episode"``, another window of the same episode drawn uniformly;
            ``"adjacent"``, the window just before or just after it (``context_length`` steps away,
            either at random where both fit; episodes too short for either fall back to
            ``"episode"``). The last two cannot pass the window's actions to the policy (see the
            module's notes).
        norm: The norm term on the contexts: ``"squared"``, ``(||z|| - 1)^2`` (the paper's code for
            scripted labels); ``"relu"``, ``max(0, ||z|| - 1)`` (its code for human labels), which
            only keeps contexts from growing past the unit sphere.
        ties: Tied pairs (label 0.5): ``"drop"``, left out (the paper's code for scripted labels);
            ``"triplet"``, kept in the triplet loss with margin 0, the first segment as the positive
            (its code for human labels): a tie then asks that ``z*`` be no nearer the second
            segment's context than the first's. Batches draw from all pairs, strict and tied.
        policy_inputs: ``"states"``: the policy reads the window's states and the context;
            ``"history"`` (the paper): also each step's previous action within the window and a
            learned embedding of the step's index in its episode (the paper's decoder reads the
            window's states, actions and timesteps); its env is then
            ``ObservationWindow(env, K, history=True)``.
        max_timestep: Size of the timestep embedding (``"history"``); later steps share its last row.
        z_star_norm: ``None`` (the paper): ``z*`` moves freely; a number: after each of its steps
            ``z*`` is scaled back to this norm (1: the sphere near which the norm term keeps the
            contexts). Where no context separates the preferred segments from the others, the
            triplet loss keeps pushing a free ``z*`` outwards, past every context, and the policy
            then acts on a context unlike any it was trained with (see the guide).
    """

    context_length: int = 20
    z_dim: int = 16
    embed_dim: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.1
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 1e-4
    z_lr: float = 1e-3
    margin: float = 1.0
    pref_weight: float = 0.1
    norm_weight: float = 0.1
    grad_clip: float = 0.25
    context: ContextSource = "window"
    z_star_norm: float | None = None
    norm: NormLoss = "squared"
    ties: TieHandling = "drop"
    policy_inputs: PolicyInputs = "states"
    max_timestep: int = 1000

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, got {self.context!r}")
        for name, kind in (("norm", NormLoss), ("ties", TieHandling), ("policy_inputs", PolicyInputs)):
            if getattr(self, name) not in get_args(kind):
                raise ValueError(f"{name} must be one of {', '.join(get_args(kind))}, got {getattr(self, name)!r}")
        if self.z_star_norm is not None and not self.z_star_norm > 0:
            raise ValueError(f"z_star_norm must be positive or None, got {self.z_star_norm!r}")
        for name in ("context_length", "z_dim", "embed_dim", "n_layers", "n_heads", "batch_size", "max_timestep"):
            check_positive_int(getattr(self, name), name)
        if self.embed_dim % self.n_heads:
            raise ValueError(f"embed_dim ({self.embed_dim}) must be divisible by n_heads ({self.n_heads})")
        for name in ("lr", "z_lr", "grad_clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("dropout", "weight_decay", "margin", "pref_weight", "norm_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)!r}")


class _Transformer(nn.Module):
    """Learned positions, pre-norm transformer layers, a final layer norm."""

    def __init__(self, config: OPPOConfig, causal: bool) -> None:
        super().__init__()
        d = config.embed_dim
        self.causal = causal
        self.n_heads = config.n_heads
        self.positions = nn.Parameter(torch.randn(1, config.context_length, d) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d, config.n_heads, 4 * d, config.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        batch, length = tokens.shape[:2]
        if length > self.positions.shape[1]:
            raise ValueError(f"sequences of {length} steps exceed the context length {self.positions.shape[1]}")
        x = tokens + self.positions[:, :length]
        # a query sees the valid keys (and, if causal, only earlier ones); every position sees itself, so
        # no row is all masked (left padding would otherwise give NaN rows that leak through 0 * NaN)
        eye = torch.eye(length, dtype=torch.bool, device=x.device)
        blocked = ~valid[:, None, :]
        if self.causal:
            blocked = blocked | torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)
        mask = torch.zeros(blocked.shape, dtype=x.dtype, device=x.device).masked_fill(blocked & ~eye, float("-inf"))
        x = self.layers(x, mask=mask.repeat_interleave(self.n_heads, dim=0))
        return self.norm(x)


class ContextEncoder(nn.Module):
    """``E(s_{1:H}, a_{1:H}) -> z``: a transformer over ``(s, a)`` tokens, mean-pooled over the valid steps."""

    def __init__(self, obs_dim: int, act_dim: int, config: OPPOConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(obs_dim + act_dim, config.embed_dim)
        self.body = _Transformer(config, causal=False)
        self.head = nn.Linear(config.embed_dim, config.z_dim)

    def forward(
        self,
        obs: torch.Tensor,
        acts: torch.Tensor,
        valid: torch.Tensor | None = None,
        timesteps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``obs [B, H, obs_dim]``, ``acts [B, H, act_dim]``, ``valid [B, H]`` -> ``z [B, z_dim]``
        (``timesteps`` is accepted, so that :data:`Windows` unpack into it, and not read)."""
        if valid is None:
            valid = torch.ones(obs.shape[:2], dtype=torch.bool, device=obs.device)
        x = self.body(self.embed(torch.cat([obs, acts], dim=-1)), valid)
        weights = valid.unsqueeze(-1).to(x.dtype)
        return self.head((x * weights).sum(1) / weights.sum(1).clamp_min(1.0))


class ContextualPolicy(nn.Module):
    """``pi(a_t | s_{<=t}, z)``: a causal transformer over state tokens plus the context, actions in ``[-1, 1]``.

    With ``config.policy_inputs == "history"`` the token of step ``t`` also holds the action of step
    ``t - 1`` in the window (zero at the window's first step) and an embedding of ``t``'s index in
    its episode, so the policy reads past states, past actions and timesteps, as the paper's decoder.
    """

    def __init__(self, obs_dim: int, act_dim: int, config: OPPOConfig) -> None:
        super().__init__()
        self.history = config.policy_inputs == "history"
        self.max_timestep = config.max_timestep
        self.embed_obs = nn.Linear(obs_dim, config.embed_dim)
        self.embed_z = nn.Linear(config.z_dim, config.embed_dim)
        if self.history:
            self.embed_act = nn.Linear(act_dim, config.embed_dim)
            self.embed_time = nn.Embedding(config.max_timestep, config.embed_dim)
        self.body = _Transformer(config, causal=True)
        self.head = nn.Linear(config.embed_dim, act_dim)

    def forward(
        self,
        obs: torch.Tensor,
        z: torch.Tensor,
        valid: torch.Tensor | None = None,
        acts: torch.Tensor | None = None,
        timesteps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``obs [B, K, obs_dim]``, ``z [B, z_dim]``, ``valid [B, K]`` -> actions ``[B, K, act_dim]``.

        ``acts [B, K, act_dim]`` (in ``[-1, 1]``) and ``timesteps [B, K]`` are needed with
        ``"history"`` inputs (the prediction at step ``t`` reads the actions before ``t`` only).
        """
        if valid is None:
            valid = torch.ones(obs.shape[:2], dtype=torch.bool, device=obs.device)
        tokens = self.embed_obs(obs) + self.embed_z(z).unsqueeze(1)
        if self.history:
            if acts is None or timesteps is None:
                raise ValueError("a policy with 'history' inputs needs the window's acts and timesteps")
            previous = torch.cat([torch.zeros_like(acts[:, :1]), acts[:, :-1]], dim=1)
            previous = previous * valid[..., None].to(acts.dtype)
            steps = timesteps.long().clamp(0, self.max_timestep - 1)
            tokens = tokens + self.embed_act(previous) + self.embed_time(steps)
        return torch.tanh(self.head(self.body(tokens, valid)))


def reconstruction_loss(predicted: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared action error over the valid steps: ``predicted, target [B, K, A]``, ``valid [B, K]``."""
    error = ((predicted - target) ** 2).mean(-1)
    return (error * valid).sum() / valid.sum().clamp_min(1)


def triplet_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float | torch.Tensor
) -> torch.Tensor:
    """``mean(max(0, ||a - p|| - ||a - n|| + margin))`` (torch's triplet margin loss, Euclidean).

    ``margin`` is a number or one per row ``[B]`` (0 for tied pairs, :attr:`OPPOConfig.ties`).
    """
    if not isinstance(margin, torch.Tensor):
        return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=2.0)
    gap = F.pairwise_distance(anchor, positive, p=2.0) - F.pairwise_distance(anchor, negative, p=2.0)
    return torch.clamp_min(gap + margin, 0.0).mean()


def norm_loss(z: torch.Tensor, kind: NormLoss = "squared") -> torch.Tensor:
    """``mean((||z|| - 1)^2)`` (``"squared"``) or ``mean(max(0, ||z|| - 1))`` (``"relu"``): keeps
    contexts near (or inside) the unit sphere."""
    gap = z.norm(dim=-1) - 1.0
    if kind == "squared":
        return (gap**2).mean()
    if kind == "relu":
        return torch.relu(gap).mean()
    raise ValueError(f"kind must be one of {', '.join(get_args(NormLoss))}, got {kind!r}")


class OPPO:
    """OPPO on an offline dataset and labelled pairs of its segments.

    OPPO acts on windows of the episode's last observations: roll it out in
    :meth:`wrap_env`'s env (an :class:`~rewarddesign.offline.ObservationWindow`), e.g.
    ``rollout(oppo, oppo.wrap_env(env), n_episodes=10, seed=0, deterministic=True)``.

    Args:
        data: The dataset (its rewards are not used).
        preferences: Labelled pairs of segments (:func:`~rewarddesign.offline.preference_pairs`);
            segments longer than ``config.context_length`` are refused; ties are dropped or kept
            as ``config.ties`` says (at least one strict label is needed).
        config: :class:`OPPOConfig`.
        seed: Seeds the networks, ``z*``, the batches and the training's dropout (all owned by this
            OPPO: the process's generators are neither read nor changed).
        device: ``"auto"`` (CUDA when there is one), ``"cpu"``, ...

    Attributes:
        z_star: The optimal context ``[z_dim]`` (a parameter).
        steps: Training steps taken so far.
        rng: The generator of the batches (:meth:`sample_windows`, the labelled pairs), saved with a checkpoint.
    """

    def __init__(
        self,
        data: OfflineData | None,
        preferences: PreferenceDataset | None,
        config: OPPOConfig | None = None,
        *,
        seed: int = 0,
        device: torch.device | str = "auto",
        _dims: tuple[int, int] | None = None,
        _scaling: Scaling | None = None,
    ) -> None:
        self.config = config = config or OPPOConfig()
        self.device = check_device(device)
        self.data = data
        self.seed = seed
        self.env_id = None if data is None else data.env_id
        if data is not None:
            obs_dim, act_dim = data.observations.shape[1], data.actions.shape[1]
            self.scaling = Scaling.fit(data)
        elif _dims is not None and _scaling is not None:
            (obs_dim, act_dim), self.scaling = _dims, _scaling
        else:
            raise ValueError("OPPO needs a dataset (or, through OPPO.load, a checkpoint)")
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self._torch = TorchStream(seed, self.device)
        with self._torch.active():
            self.encoder = ContextEncoder(obs_dim, act_dim, config).to(self.device)
            self.policy = ContextualPolicy(obs_dim, act_dim, config).to(self.device)
            z = torch.randn(config.z_dim)
        self.z_star = nn.Parameter((z / z.norm() * (config.z_star_norm or 1.0)).to(self.device))
        self.optimizer = torch.optim.AdamW(
            [*self.encoder.parameters(), *self.policy.parameters()], lr=config.lr, weight_decay=config.weight_decay
        )
        self.z_optimizer = torch.optim.Adam([self.z_star], lr=config.z_lr)
        self.rng = np.random.default_rng(seed)
        self.steps = 0
        #: ``(obs, acts)`` of the labelled segments, the preferred and other segment of each kept pair,
        #: and each pair's triplet margin (0 for kept ties).
        self.pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        if data is not None:
            self._prepare(data, preferences)

    # --- data -----------------------------------------------------------------------------
    def _prepare(self, data: OfflineData, preferences: PreferenceDataset | None) -> None:
        self._obs = torch.as_tensor(self.scaling.obs(data.observations), device=self.device)
        self._acts = torch.as_tensor(self.scaling.to_unit(data.actions), device=self.device)
        self._episode_of = np.repeat(data.episode_starts, data.episode_lengths)
        self._episode_length_of = np.repeat(data.episode_lengths, data.episode_lengths)
        self._timesteps = torch.as_tensor(np.arange(len(data)) - self._episode_of, device=self.device)
        if preferences is None:
            return
        if preferences.fragments.obs.shape[2:] != data.observations.shape[1:]:
            raise ValueError(
                f"the preference segments' observations {preferences.fragments.obs.shape[2:]} do not match the "
                f"dataset's {data.observations.shape[1:]}"
            )
        if preferences.fragments.length > self.config.context_length:
            raise ValueError(
                f"segments of {preferences.fragments.length} steps exceed context_length {self.config.context_length}"
            )
        strict = preferences.labels != 0.5
        if not np.any(strict):
            raise ValueError("the preferences hold no strict label (all ties): nothing to learn from")
        kept = strict if self.config.ties == "drop" else np.ones_like(strict)
        first, second = preferences.first[kept], preferences.second[kept]
        first_wins = preferences.labels[kept] != 0.0  # a kept tie: the first segment is the positive
        better, worse = np.where(first_wins, first, second), np.where(first_wins, second, first)
        margins = np.where(strict[kept], self.config.margin, 0.0).astype(np.float32)
        fragments = preferences.fragments
        obs = torch.as_tensor(self.scaling.obs(fragments.obs), device=self.device)
        acts = torch.as_tensor(self.scaling.to_unit(fragments.acts.astype(np.float32)), device=self.device)
        margin_t = torch.as_tensor(margins, device=self.device)
        self.pairs = (obs, acts, torch.as_tensor(better), torch.as_tensor(worse), margin_t)

    def sample_windows(self, size: int) -> tuple[Windows, Windows]:
        """``size`` windows of the dataset ending at uniformly drawn steps (from :attr:`rng`), and the
        windows their contexts are encoded from (see :attr:`OPPOConfig.context`), as in training."""
        self._need_data()
        check_positive_int(size, "size")
        ends = self.rng.integers(len(self._episode_of), size=size)
        starts = self._episode_of[ends]
        windows = self.windows_at(ends)
        if self.config.context == "window":
            return windows, windows
        lengths = self._episode_length_of[ends]
        others = starts + (self.rng.random(size) * lengths).astype(np.int64)
        if self.config.context == "adjacent":
            k = self.config.context_length
            before, after = ends - k, ends + k
            has_before, has_after = before >= starts, after < starts + lengths
            take_after = has_after & (~has_before | (self.rng.random(size) < 0.5))
            others = np.where(take_after, after, np.where(has_before, before, others))
        return windows, self.windows_at(others)

    def windows_at(self, ends: ArrayLike) -> Windows:
        """The dataset's windows of ``context_length`` steps that end at rows ``ends [B]``, normalised as
        in training and left-padded at their episode's start (encode them with :attr:`encoder`)."""
        self._need_data()
        ends = np.asarray(ends, dtype=np.int64).reshape(-1)
        if len(ends) and (ends.min() < 0 or ends.max() >= len(self._episode_of)):
            raise ValueError(f"ends must be rows of the dataset (0 to {len(self._episode_of) - 1}), got {ends}")
        rows, valid = window_index(ends, self._episode_of[ends], self.config.context_length)
        rows_t = torch.as_tensor(rows, device=self.device)
        valid_t = torch.as_tensor(valid, device=self.device)
        return self._obs[rows_t], self._acts[rows_t], valid_t, self._timesteps[rows_t] * valid_t

    def _need_data(self) -> None:
        if self.data is None:
            raise RuntimeError("this OPPO has no dataset (loaded for acting only?)")

    # --- training -------------------------------------------------------------------------
    def losses(
        self,
        windows: Windows,
        positive: tuple[torch.Tensor, torch.Tensor],
        negative: tuple[torch.Tensor, torch.Tensor],
        contexts: Windows | None = None,
        margins: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The loss terms on one batch (inputs already normalised, actions in ``[-1, 1]``).

        Args:
            windows: ``(obs [B, K, obs_dim], acts [B, K, act_dim], valid [B, K], timesteps [B, K])``
                for reconstruction.
            positive: ``(obs, acts)`` ``[P, H, ...]`` of the preferred segments; negative: of the others.
            contexts: The windows the reconstruction's contexts are encoded from, shaped as ``windows``
                (default: ``windows`` themselves).
            margins: ``[P]`` the triplet margin of each pair (default: ``config.margin`` for all).

        Returns:
            ``recon``, ``triplet`` (anchor ``z*`` held fixed), ``norm`` and their weighted ``total``.
        """
        return self._terms(windows, positive, negative, contexts, margins)[0]

    def _terms(
        self,
        windows: Windows,
        positive: tuple[torch.Tensor, torch.Tensor],
        negative: tuple[torch.Tensor, torch.Tensor],
        contexts: Windows | None = None,
        margins: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        obs, acts, valid, timesteps = windows
        z = self.encoder(*(windows if contexts is None else contexts))
        recon = reconstruction_loss(self.policy(obs, z, valid, acts, timesteps), acts, valid)
        z_pos, z_neg = self.encoder(*positive), self.encoder(*negative)
        anchor = self.z_star.detach().expand_as(z_pos)
        triplet = triplet_loss(anchor, z_pos, z_neg, self.config.margin if margins is None else margins)
        norm = norm_loss(torch.cat([z, z_pos, z_neg]), self.config.norm)
        total = recon + self.config.pref_weight * triplet + self.config.norm_weight * norm
        return {"total": total, "recon": recon, "triplet": triplet, "norm": norm}, z_pos, z_neg

    def z_star_loss(
        self, z_pos: torch.Tensor, z_neg: torch.Tensor, margins: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The triplet loss as a function of ``z*`` alone, the contexts ``[P, z_dim]`` held fixed."""
        margin = self.config.margin if margins is None else margins
        return triplet_loss(self.z_star.expand_as(z_pos), z_pos.detach(), z_neg.detach(), margin)

    def train_step(self) -> dict[str, float]:
        """One step of encoder and policy, then one of ``z*``; returns the loss terms."""
        if self.data is None or self.pairs is None:
            raise RuntimeError("this OPPO has no dataset and preferences to train on (loaded for acting only?)")
        with self._torch.active():
            return self._train_step()

    def _train_step(self) -> dict[str, float]:
        assert self.pairs is not None
        self.encoder.train()
        self.policy.train()
        obs, acts, better, worse, margins = self.pairs
        picks = torch.as_tensor(self.rng.integers(len(better), size=self.config.batch_size))
        positive = (obs[better[picks]], acts[better[picks]])
        negative = (obs[worse[picks]], acts[worse[picks]])
        margin = margins[picks.to(margins.device)] if self.config.ties == "triplet" else None
        windows, contexts = self.sample_windows(self.config.batch_size)
        terms, z_pos, z_neg = self._terms(windows, positive, negative, contexts, margin)
        self.optimizer.zero_grad()
        terms["total"].backward()
        nn.utils.clip_grad_norm_([*self.encoder.parameters(), *self.policy.parameters()], self.config.grad_clip)
        self.optimizer.step()
        # z* steps on this batch's contexts (the paper's code encodes them again after the step above:
        # one step of lag, for a third less encoder work)
        z_loss = self.z_star_loss(z_pos, z_neg, margin)
        self.z_optimizer.zero_grad()
        z_loss.backward()
        self.z_optimizer.step()
        if self.config.z_star_norm is not None:
            with torch.no_grad():
                self.z_star.mul_(self.config.z_star_norm / self.z_star.norm().clamp_min(1e-12))
        self.steps += 1
        return {**{name: float(value.detach()) for name, value in terms.items()}, "z_star": float(z_loss.detach())}

    def train(
        self,
        steps: int,
        *,
        log_every: int = 100,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 1000,
        callback: Callable[[dict[str, float]], bool | None] | None = None,
    ) -> list[dict[str, float]]:
        """Train until :attr:`steps` reaches ``steps`` (so a resumed run continues where it stopped).

        Args:
            steps: Total training steps.
            log_every: Average the loss terms over this many steps per history entry.
            checkpoint: Directory to save to every ``checkpoint_every`` steps and at the end.
            checkpoint_every: Steps between checkpoints.
            callback: Called with each history entry; returning False stops training.

        Returns:
            History entries: ``step`` and the mean loss terms since the previous entry.
        """
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        history: list[dict[str, float]] = []
        window: list[dict[str, float]] = []
        while self.steps < steps:
            window.append(self.train_step())
            if len(window) == log_every or self.steps == steps:
                entry = {"step": float(self.steps), **{k: float(np.mean([w[k] for w in window])) for k in window[0]}}
                history.append(entry)
                window = []
                if callback is not None and callback(entry) is False:
                    break
            if checkpoint is not None and self.steps % checkpoint_every == 0:
                self.save(checkpoint)
        if checkpoint is not None:
            self.save(checkpoint)
        return history

    # --- acting ---------------------------------------------------------------------------
    def wrap_env(self, env: gym.Env) -> ObservationWindow:
        """``env`` as OPPO acts in it: observations become windows of the last ``context_length`` steps
        (with the steps' actions and timesteps for ``"history"`` inputs)."""
        return ObservationWindow(env, self.config.context_length, history=self.config.policy_inputs == "history")

    @torch.no_grad()
    def act(self, windows: ArrayLike, z: torch.Tensor | None = None) -> NDArray[np.float32]:
        """The actions for windows of observations, conditioned on ``z*`` (or on the context ``z``).

        Args:
            windows: ``[B, context_length, obs_dim + 1]`` or one ``[context_length, obs_dim + 1]``:
                :class:`~rewarddesign.offline.ObservationWindow`'s observations (a last column of 1
                marks the steps, 0 the padding); with ``"history"`` inputs ``obs_dim + act_dim + 2``
                columns (observation, the step's action, its timestep, the mark).
            z: A context ``[z_dim]`` (or ``[B, z_dim]``) to act on instead of ``z*``.

        Returns:
            ``[B, act_dim]`` actions in the env's bounds (``[act_dim]`` for one window).
        """
        windows = np.asarray(windows, dtype=np.float32)
        single = windows.ndim == 2
        batch = windows[None] if single else windows
        history = self.config.policy_inputs == "history"
        columns = self.obs_dim + (self.act_dim + 2 if history else 1)
        expected = (self.config.context_length, columns)
        if batch.ndim != 3 or batch.shape[1:] != expected:
            raise ValueError(f"windows must have shape [B, {expected[0]}, {expected[1]}], got {windows.shape}")
        self.policy.eval()
        valid = batch[..., -1] > 0.5
        obs = np.where(valid[..., None], self.scaling.obs(batch[..., : self.obs_dim]), 0.0).astype(np.float32)
        context = (self.z_star if z is None else z).to(self.device).reshape(-1, self.config.z_dim)
        context = context.expand(len(batch), -1)
        valid_t = torch.as_tensor(valid, device=self.device)
        acts_t = steps_t = None
        if history:
            acts = self.scaling.to_unit(batch[..., self.obs_dim : self.obs_dim + self.act_dim])
            acts_t = torch.as_tensor(np.where(valid[..., None], acts, 0.0).astype(np.float32), device=self.device)
            steps_t = torch.as_tensor(np.rint(batch[..., -2]).astype(np.int64), device=self.device)
        unit = self.policy(torch.as_tensor(obs, device=self.device), context, valid_t, acts_t, steps_t)[:, -1]
        actions = self.scaling.from_unit(unit.cpu().numpy())
        return actions[0] if single else actions

    def predict(
        self,
        observation: ArrayLike,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        """SB3's ``predict`` on windows of :meth:`wrap_env`'s env: ``(act(observation), None)`` (no state)."""
        return self.act(observation), None

    # --- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``path/oppo.pt`` (tensors: networks, ``z*``, optimisers, scaling) and ``path/oppo.json``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {
            "encoder": self.encoder.state_dict(),
            "policy": self.policy.state_dict(),
            "z_star": self.z_star.detach().cpu(),
            "optimizer": self.optimizer.state_dict(),
            "z_optimizer": self.z_optimizer.state_dict(),
            "scaling": self.scaling.state_dict(),
            "torch_rng": self._torch.state_dict(),
        }
        tmp = path / "oppo.pt.tmp"
        torch.save(state, tmp)
        tmp.replace(path / "oppo.pt")
        meta = {
            "algo": "oppo",
            "config": asdict(self.config),
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "steps": self.steps,
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "env_id": self.env_id,
        }
        (path / "oppo.json").write_text(json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(
        cls,
        path: str | Path,
        data: OfflineData | None = None,
        preferences: PreferenceDataset | None = None,
        device: torch.device | str = "auto",
    ) -> OPPO:
        """Restore a checkpoint (``torch.load(weights_only=True)``); with data and preferences it can train on."""
        path = Path(path)
        meta = json.loads((path / "oppo.json").read_text())
        state = torch.load(path / "oppo.pt", map_location="cpu", weights_only=True)
        scaling = Scaling.from_state_dict(state["scaling"])
        oppo = cls(
            None,
            None,
            OPPOConfig(**meta["config"]),
            seed=meta["seed"],
            device=device,
            _dims=(meta["obs_dim"], meta["act_dim"]),
            _scaling=scaling,
        )
        oppo.encoder.load_state_dict(state["encoder"])
        oppo.policy.load_state_dict(state["policy"])
        with torch.no_grad():
            oppo.z_star.copy_(state["z_star"].to(oppo.device))
        oppo.optimizer.load_state_dict(state["optimizer"])
        oppo.z_optimizer.load_state_dict(state["z_optimizer"])
        if "torch_rng" in state:
            oppo._torch.load_state_dict(state["torch_rng"])
        oppo.steps = int(meta["steps"])
        oppo.rng.bit_generator.state = meta["rng"]
        oppo.env_id = meta.get("env_id")
        if data is not None:
            if (data.observations.shape[1], data.actions.shape[1]) != (oppo.obs_dim, oppo.act_dim):
                raise ValueError("the dataset's dimensions differ from the checkpoint's")
            oppo.data = data
            oppo._prepare(data, preferences)
        return oppo
