"""Proxy rewards that overoptimise for a real reason.

A learned proxy is fitted to a limited number of preference labels on fragments of the
reference policy's episodes, with :mod:`rewarddesign.preferences`' reward models: a
:class:`~rewarddesign.preferences.RewardModel` on the one-hot ``(s, a)`` vector of each step (with
no hidden layer that is a tabular reward plus a constant), trained by the Bradley-Terry loss on
labels of a simulated annotator (:class:`~rewarddesign.preferences.SyntheticGatherer`) or on
HERON's hierarchical labels of reward components
(:class:`~rewarddesign.preferences.HeronGatherer`). Pairs the reference visits are learned from
the labels; pairs it never visits keep their initial weights, so the proxy is accurate where the
reference goes and wrong elsewhere, and optimising it hard leaves the reference's support.

Ensembles come in two kinds (after Eisenstein et al., "Helping or Herding?"): ``"pretrain"``
members start from different initial weights (the analogue of different pretraining seeds: they
disagree off the reference's support), ``"finetune"`` members share one initialisation and differ
only in their minibatch order (they agree off the support, where no label moves them).

A hand-made proxy, :func:`bonus_proxy`, is the gold reward plus an exploitable bonus on the
state-action pairs the reference takes least often.
"""

from __future__ import annotations

import copy
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewarddesign._validation import check_positive_int, check_real
from rewarddesign.mdp import TabularEnv, TabularMDP, check_mdp
from rewarddesign.overoptimization._curves import TabularPolicy
from rewarddesign.overoptimization._solve import _check_reference
from rewarddesign.preferences import (
    Fragments,
    HeronGatherer,
    PreferenceDataset,
    RewardEnsemble,
    RewardModel,
    SyntheticGatherer,
    random_pairs,
    train_reward_model,
)
from rewarddesign.rollouts import rollout

__all__ = [
    "reference_fragments",
    "preference_labels",
    "first_pairs",
    "fit_tabular_rewards",
    "bonus_proxy",
    "EnsembleKind",
    "LabelKind",
]

EnsembleKind = Literal["pretrain", "finetune"]
LabelKind = Literal["bradley-terry", "heron"]


def reference_fragments(
    mdp: TabularMDP,
    gold: ArrayLike,
    reference: ArrayLike,
    n_fragments: int,
    *,
    length: int = 10,
    per_episode: int = 4,
    seed: int = 0,
) -> Fragments:
    """Fragments of the reference's episodes, each step's factors the one-hot ``(s, a)`` vector ``[S A]``.

    Episodes of ``length * per_episode`` steps are rolled out (:func:`rewarddesign.rollouts.rollout`
    on a :class:`~rewarddesign.mdp.TabularEnv` with the gold reward) and cut into fragments at random
    offsets (:meth:`rewarddesign.preferences.Fragments.from_trajectories`), so the fragments cover the
    reference's visits beyond the start. ``rewards`` holds the gold reward of each step.

    Raises:
        ValueError: A count below 1.
    """
    check_mdp(mdp)
    n_fragments = check_positive_int(n_fragments, "n_fragments")
    length = check_positive_int(length, "length")
    per_episode = check_positive_int(per_episode, "per_episode")
    ref = _check_reference(mdp, reference)
    env = TabularEnv(mdp, mdp.reward_array(gold, "gold"), horizon=length * per_episode)
    n_episodes = -(-n_fragments // per_episode)
    trajectories = rollout(TabularPolicy(ref, seed), env, n_episodes=n_episodes, seed=seed, record_infos=False)
    cut = Fragments.from_trajectories(trajectories, length, np.random.default_rng(seed))
    obs = cut.obs[:n_fragments].astype(np.int64)
    acts = cut.acts[:n_fragments].astype(np.int64)
    factors = np.zeros((*obs.shape, mdp.n_states * mdp.n_actions))
    np.put_along_axis(factors, (obs * mdp.n_actions + acts)[..., None], 1.0, axis=2)
    rewards = None if cut.rewards is None else cut.rewards[:n_fragments]
    return Fragments(cut.obs[:n_fragments], cut.acts[:n_fragments], factors, rewards)


def preference_labels(
    fragments: Fragments,
    n_pairs: int,
    *,
    labels: LabelKind = "bradley-terry",
    temperature: float = 1.0,
    components: ArrayLike | None = None,
    ranking: ArrayLike | None = None,
    sigmas: ArrayLike | None = None,
    seed: int = 0,
) -> PreferenceDataset:
    """Label random pairs of fragments (from :func:`reference_fragments`) for a tabular reward model.

    Args:
        fragments: Fragments whose factors are one-hot ``(s, a)`` vectors and whose rewards are gold.
        n_pairs: Pairs drawn (HERON drops the pairs no level decides, so it may return fewer).
        labels: ``"bradley-terry"``: :class:`~rewarddesign.preferences.SyntheticGatherer` on the
            gold returns with ``temperature``; ``"heron"``: :class:`~rewarddesign.preferences.HeronGatherer`
            on the reward ``components [K, S, A]`` ranked by ``ranking`` with margins ``sigmas``
            (all signs +1: more of each component is better).
        temperature: The annotator's Bradley-Terry temperature.
        components: ``[K, S, A]`` reward components (HERON only).
        ranking: Component indices from the most to the least important (HERON; default ``0..K-1``).
        sigmas: Margins per level (HERON; default 0.1 each).
        seed: Seeds the pairs and the annotator.

    Returns:
        A dataset over ``fragments`` (the one-hot factors the tabular model reads).

    Raises:
        ValueError: An unknown label kind, or HERON without components.
    """
    if labels not in ("bradley-terry", "heron"):
        raise ValueError(f"labels must be 'bradley-terry' or 'heron', got {labels!r}")
    rng = np.random.default_rng(seed)
    first, second = random_pairs(len(fragments), check_positive_int(n_pairs, "n_pairs"), rng)
    if labels == "bradley-terry":
        return SyntheticGatherer(temperature=temperature, seed=seed)(fragments, first, second)
    if components is None or fragments.factors is None:
        raise ValueError("labels='heron' needs components [K, S, A] and fragments with one-hot factors")
    parts = np.asarray(components, dtype=np.float64)
    k = parts.shape[0]
    flat = parts.reshape(k, -1)  # [K, S A]
    per_step = np.einsum("nlf,kf->nlk", fragments.factors, flat)
    heron = HeronGatherer(
        ranking=list(range(k)) if ranking is None else [int(i) for i in np.asarray(ranking)],
        signs=[1.0] * k,
        sigmas=[0.1] * k if sigmas is None else [float(x) for x in np.asarray(sigmas)],
    )
    labelled = heron(Fragments(fragments.obs, fragments.acts, per_step, fragments.rewards), first, second)
    return PreferenceDataset(fragments, labelled.first, labelled.second, labelled.labels)


def first_pairs(dataset: PreferenceDataset, n: int) -> PreferenceDataset:
    """The first ``n`` labelled pairs: nested datasets, so that more labels extend fewer."""
    n = check_positive_int(n, "n")
    if n > len(dataset):
        raise ValueError(f"n must be at most the {len(dataset)} pairs of the dataset, got {n}")
    return PreferenceDataset(dataset.fragments, dataset.first[:n], dataset.second[:n], dataset.labels[:n])


def fit_tabular_rewards(
    dataset: PreferenceDataset,
    n_states: int,
    n_actions: int,
    *,
    members: int = 1,
    ensemble: EnsembleKind = "pretrain",
    epochs: int = 30,
    batch_size: int = 128,
    lr: float = 0.05,
    seed: int = 0,
    device: str = "cpu",
) -> NDArray[np.float64]:
    """Fit tabular reward models to preference labels; their normalised rewards ``[M, S, A]``.

    Each member is a :class:`~rewarddesign.preferences.RewardModel` on the ``S A`` one-hot factors
    with no hidden layer (a weight per state-action pair and a bias), trained by
    :func:`~rewarddesign.preferences.train_reward_model` and read out on every pair, normalised by
    the statistics of the steps it was trained on. Member ``k`` is initialised from ``seed + k``
    (``"pretrain"``; as :meth:`~rewarddesign.preferences.RewardEnsemble.of`) or from ``seed`` for
    all (``"finetune"``), and trained with minibatch seed ``seed + k``.

    Raises:
        ValueError: An unknown ensemble kind or a count below 1.
    """
    members = check_positive_int(members, "members")
    if ensemble not in ("pretrain", "finetune"):
        raise ValueError(f"ensemble must be 'pretrain' or 'finetune', got {ensemble!r}")
    n_factors = check_positive_int(n_states, "n_states") * check_positive_int(n_actions, "n_actions")
    base = RewardModel(n_factors=n_factors, hidden_sizes=(), device=device, seed=seed)
    if members == 1:
        models = [base]
    elif ensemble == "pretrain":
        models = list(RewardEnsemble.of(base, members, seed=seed).members)
    else:
        models = [copy.deepcopy(base) for _ in range(members)]
    out = []
    eye = np.eye(n_factors)
    for k, model in enumerate(models):
        assert isinstance(model, RewardModel)
        train_reward_model(model, dataset, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed + k)
        out.append(model.predict_factors(eye).reshape(n_states, n_actions))
    return np.stack(out)


def bonus_proxy(gold: ArrayLike, reference: ArrayLike, *, size: float = 2.0, share: float = 0.1) -> NDArray[np.float64]:
    """The gold reward ``[S, A]`` plus a bonus of ``size`` gold standard deviations on the rarest pairs.

    The bonus goes to the ``share`` of state-action pairs with the lowest reference probability
    (ties broken by index): a proxy that agrees with gold wherever the reference goes and pays for
    what it rarely does, an exploitable error.

    Raises:
        ValueError: ``gold`` and ``reference`` differ in shape, ``size`` is negative or ``share``
            lies outside (0, 1].
    """
    g = np.asarray(gold, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if g.shape != ref.shape or g.ndim != 2:
        raise ValueError(f"gold and reference must both be [S, A], got {g.shape} and {ref.shape}")
    size = check_real(size, "size", low=0.0)
    share = check_real(share, "share", low=0.0, high=1.0, low_open=True)
    count = max(1, int(round(share * g.size)))
    rare = np.argsort(ref.reshape(-1), kind="stable")[:count]
    out = g.copy().reshape(-1)
    out[rare] += size * float(g.std() if g.std() > 0 else 1.0)
    return out.reshape(g.shape)
