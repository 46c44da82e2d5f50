"""Offline preference learning: datasets, scripted preferences, OPPO and the baselines."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from rewarddesign.envs import with_reward_factors
from rewarddesign.factors import factor_spec
from rewarddesign.offline import (
    IQL,
    OPPO,
    BehaviorCloning,
    ContextualPolicy,
    ObservationWindow,
    OfflineData,
    OPPOConfig,
    dataset_id,
    generate_datasets,
    horizon_segments,
    load_dataset,
    make_gatherer,
    norm_loss,
    preference_pairs,
    reconstruction_loss,
    relabel_rewards,
    sample_segments,
    save_dataset,
    segments_at,
    top_fraction,
    triplet_loss,
    window_index,
)
from rewarddesign.offline.pipeline import load_agent, train_offline
from rewarddesign.preferences import Fragments, PreferenceDataset, RewardModel, SyntheticGatherer
from rewarddesign.rollouts import episode_returns, rollout

TINY = OPPOConfig(context_length=8, z_dim=4, embed_dim=16, n_layers=1, n_heads=2, dropout=0.0, batch_size=16)


def _toy(n_episodes: int = 6, length: int = 30, seed: int = 0) -> OfflineData:
    """Two behaviours: actions near +0.8 (reward 1 a step) in even episodes, near -0.8 (reward 0) in odd ones."""
    rng = np.random.default_rng(seed)
    n = n_episodes * length
    sign = np.repeat(np.where(np.arange(n_episodes) % 2 == 0, 1.0, -1.0), length)
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    acts = (0.8 * sign[:, None] + 0.05 * rng.normal(size=(n, 1))).clip(-1, 1)
    ends = np.zeros(n, bool)
    ends[length - 1 :: length] = True
    return OfflineData(
        obs, acts, (sign > 0).astype(float), obs + 0.1, np.zeros(n, bool), ends, np.full(n_episodes, length)
    )


def _pendulum(n_steps: int, seed: int = 0) -> OfflineData:
    """Uniformly random Pendulum data (200-step episodes, the last one cut)."""
    return OfflineData.from_trajectories(rollout(None, gym.make("Pendulum-v1"), n_steps=n_steps, seed=seed),
                                         env_id="Pendulum-v1")  # fmt: skip


def _episode_windows(observations: np.ndarray, length: int) -> np.ndarray:
    """What an ObservationWindow shows at each step of an episode of these observations."""
    windows = np.zeros((len(observations), length, observations.shape[1] + 1), np.float32)
    for t in range(len(observations)):
        recent = observations[max(0, t - length + 1) : t + 1]
        windows[t, length - len(recent) :, :-1] = recent
        windows[t, length - len(recent) :, -1] = 1.0
    return windows


# --- datasets ---------------------------------------------------------------------------------


def test_dataset_round_trip_offline(tmp_path, monkeypatch):
    env = with_reward_factors(gym.make("Pendulum-v1"))
    trajectories = rollout(None, env, n_steps=450, seed=3)  # 200-step episodes: the last one is cut
    assert [len(t) for t in trajectories] == [200, 200, 50] and trajectories[-1].truncated
    spec = factor_spec(env)
    data = OfflineData.from_trajectories(trajectories, env_id="Pendulum-v1", ref_scores=(-1500.0, -150.0),
                                         factor_names=spec.names, factor_signs=spec.signs)  # fmt: skip
    assert data.factors.shape == (450, 3) and data.truncations[[199, 399, 449]].all()
    import minari.storage.hosting as hosting

    def no_network(*args, **kwargs):
        raise AssertionError("loading must not touch the network")

    monkeypatch.setattr(hosting, "download_dataset", no_network)
    save_dataset("rewarddesign/pendulum/random-v0", data, root=tmp_path)
    loaded = load_dataset("rewarddesign/pendulum/random-v0", root=tmp_path)
    for name in ("observations", "next_observations", "actions", "rewards", "terminations", "truncations", "factors"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(data, name), err_msg=name)
    np.testing.assert_array_equal(loaded.episode_lengths, [200, 200, 50])
    assert loaded.env_id == "Pendulum-v1" and loaded.ref_scores == (-1500.0, -150.0)
    assert loaded.factor_names == spec.names and loaded.factor_signs == (-1.0, -1.0, -1.0)
    assert list(make_gatherer("heron", loaded).signs) == [-1.0, -1.0, -1.0]  # the signs stored with the data
    np.testing.assert_allclose(loaded.normalized_score([-1500.0, -150.0]), [0.0, 100.0])
    # a dataset directory works as well as an id
    again = load_dataset(tmp_path / "rewarddesign/pendulum/random-v0")
    np.testing.assert_array_equal(again.actions, loaded.actions)


def test_generate_datasets_makes_every_kind(tmp_path):
    ids = generate_datasets(
        lambda: with_reward_factors(gym.make("Pendulum-v1")),
        kinds=("random", "medium", "medium-replay", "medium-expert", "mixed"),
        medium_steps=400,
        expert_steps=600,
        n_transitions=200,
        root=tmp_path,
        device="cpu",
        ref_scores=(-1500.0, -150.0),
        algo_kwargs={"learning_starts": 100, "train_freq": 10, "policy_kwargs": {"net_arch": [32, 32]}},  # cheap
    )
    assert (
        ids["medium-replay"] == dataset_id("Pendulum-v1", "medium-replay") == "rewarddesign/pendulum/medium-replay-v0"
    )
    sizes = {kind: len(load_dataset(identifier, root=tmp_path)) for kind, identifier in ids.items()}
    assert sizes == {"random": 200, "medium": 200, "medium-replay": 400, "medium-expert": 400, "mixed": 600}
    medium = load_dataset(ids["medium"], root=tmp_path)
    mixed = load_dataset(ids["mixed"], root=tmp_path)  # random, medium, expert episodes in that order
    np.testing.assert_array_equal(mixed.actions[:200], load_dataset(ids["random"], root=tmp_path).actions)
    np.testing.assert_array_equal(mixed.actions[200:400], medium.actions)
    assert medium.ref_scores == (-1500.0, -150.0) and medium.factor_signs == (-1.0, -1.0, -1.0)
    assert medium.factors.shape == (200, 3)
    with pytest.raises(FileExistsError, match="overwrite"):
        generate_datasets("Pendulum-v1", kinds=("random",), n_transitions=10, root=tmp_path)
    generate_datasets("Pendulum-v1", kinds=("random",), n_transitions=50, root=tmp_path, ref_scores=(-1.0, 0.0),
                      overwrite=True)  # fmt: skip
    random = load_dataset(ids["random"], root=tmp_path)
    assert len(random) == 50 and random.factors is None and random.factor_signs is None  # an env id: no factors


def test_medium_policy_stops_at_its_score(tmp_path):
    # a small, rarely trained SAC: the test needs its scores, not its learning
    sac = {"learning_starts": 100, "train_freq": 10, "policy_kwargs": {"net_arch": [32, 32]}}
    common = dict(kinds=("medium-replay",), check_every=400, check_episodes=1, root=tmp_path, device="cpu",
                  ref_scores=(-1500.0, -150.0), algo_kwargs=sac, overwrite=True)  # fmt: skip
    # A score below random is reached at the first check: SAC stops after 400 of its 1,000 steps.
    ids = generate_datasets("Pendulum-v1", medium_steps=1_000, medium_score=-1_000.0, **common)
    assert len(load_dataset(ids["medium-replay"], root=tmp_path)) == 400
    # A score above expert is never reached: SAC trains to the cap, checked at 400, 800 and 1,000 steps.
    generate_datasets("Pendulum-v1", medium_steps=1_000, medium_score=1_000.0, **common)
    data = load_dataset(ids["medium-replay"], root=tmp_path)
    assert len(data) == 1_000 and data.episode_lengths.tolist() == [200] * 5
    with pytest.raises(ValueError, match="needs reference scores"):
        generate_datasets("Pendulum-v1", kinds=("medium",), medium_score=30.0, root=tmp_path)
    with pytest.raises(ValueError, match="expert > random"):
        generate_datasets("Pendulum-v1", kinds=("medium",), ref_scores=(1.0, 0.0), root=tmp_path)


def test_bad_datasets_are_refused(tmp_path):
    good = _toy()
    with pytest.raises(ValueError, match="one row per transition"):
        OfflineData(good.observations, good.actions[:-1], good.rewards, good.next_observations,
                    good.terminations, good.truncations, good.episode_lengths)  # fmt: skip
    with pytest.raises(ValueError, match="sum to"):
        OfflineData(good.observations, good.actions, good.rewards, good.next_observations,
                    good.terminations, good.truncations, [30, 30])  # fmt: skip
    with pytest.raises(ValueError, match="holds no step"):
        OfflineData.from_trajectories([])
    with pytest.raises(ValueError, match="factor_signs must be"):
        OfflineData(good.observations, good.actions, good.rewards, good.next_observations, good.terminations,
                    good.truncations, good.episode_lengths, np.zeros((180, 2)), factor_signs=(1.0,))  # fmt: skip
    with pytest.raises(ValueError, match="unknown dataset kind"):
        dataset_id("Hopper-v5", "expert-replay")
    with pytest.raises(FileNotFoundError, match="offline generate"):
        load_dataset("rewarddesign/nothing/random-v0", root=tmp_path)
    with pytest.raises(ValueError, match="longer than every episode"):
        sample_segments(good, 31, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="labels must be 0, 0.5 or 1"):
        PreferenceDataset(sample_segments(good, 5, 4, np.random.default_rng(0)), [0], [1], [0.7])
    with pytest.raises(ValueError, match="reward factors"):
        make_gatherer("heron", good)


# --- segments and labels ----------------------------------------------------------------------


def test_segments_stay_inside_episodes_and_scripted_labels_follow_returns():
    data = _toy(n_episodes=4, length=10)
    data.rewards[:] = np.arange(len(data), dtype=np.float32)  # a known reward: the row number
    fragments = sample_segments(data, 4, 500, np.random.default_rng(1))
    starts = fragments.rewards[:, 0].astype(int)
    assert np.all(np.diff(fragments.rewards, axis=1) == 1)  # consecutive steps
    assert np.all(starts // 10 == (starts + 3) // 10)  # never across an episode boundary
    assert set(starts % 10) == set(range(7))  # every start inside an episode occurs
    # the scripted teacher prefers the higher return over the horizon: here, the later segment
    pairs = preference_pairs(data, 4, 50, "return", seed=2)
    returns = pairs.fragments.returns()
    expected = np.where(returns[pairs.first] > returns[pairs.second], 1.0, 0.0)
    expected[returns[pairs.first] == returns[pairs.second]] = 0.5
    np.testing.assert_array_equal(pairs.labels, expected)
    # HERON on factors: the first factor decides, the second only breaks its ties
    data.factors = np.stack([np.repeat([0.0, 1.0, 0.0, 1.0], 10), -np.arange(len(data))], axis=1)
    heron = preference_pairs(data, 4, 200, "heron", seed=3)
    first_factor = heron.fragments.factor_sums()[:, 0]
    decided = first_factor[heron.first] != first_factor[heron.second]
    np.testing.assert_array_equal(
        heron.labels[decided], (first_factor[heron.first] > first_factor[heron.second])[decided].astype(float)
    )


def test_horizon_labels_count_what_follows_a_segment():
    # episode 0 falls (terminates) after 10 steps, episode 1 is cut by a time limit; one factor, the reward
    n = 20
    rewards = np.concatenate([np.full(10, 2.0), np.arange(10.0)])
    terminations, truncations = np.arange(n) == 9, np.arange(n) == 19
    obs = np.arange(n, dtype=np.float32)[:, None]
    data = OfflineData(obs, np.zeros((n, 1)), rewards, obs + 1, terminations, truncations, np.full(2, 10))
    data.factors = rewards[:, None].copy()
    np.testing.assert_array_equal(data.episode_of(np.array([0, 9, 10, 19])), [0, 0, 1, 1])
    view = horizon_segments(data, np.array([2, 7, 16]), 6)
    np.testing.assert_allclose(view.rewards[0], 2.0)  # inside the episode: its own rewards
    np.testing.assert_allclose(view.rewards[1], [2, 2, 2, 0, 0, 0])  # past the fall: nothing
    np.testing.assert_allclose(view.rewards[2], [6, 7, 8, 9, 7.5, 7.5])  # past the time limit: the observed mean
    np.testing.assert_allclose(view.factors[..., 0], view.rewards)
    np.testing.assert_array_equal(view.obs[1, :, 0], [7, 8, 9, 9, 9, 9])  # the last step repeats
    # over 3 steps a segment just before the fall wins (2 a step); over 6 it loses to one far from it
    late, early = 7, 0
    segments = segments_at(data, np.array([late, early]), 3)
    assert segments.returns()[0] == segments.returns()[1]
    judged = horizon_segments(data, np.array([late, early]), 6).returns()
    assert judged[0] < judged[1]
    pairs = preference_pairs(data, 3, 200, "return", seed=0, horizon=6)
    assert pairs.fragments.length == 3  # the learner sees the segments, not the horizon
    starts = pairs.fragments.obs[:, 0, 0].astype(int)
    returns = horizon_segments(data, starts, 6).returns()
    decided = pairs.labels != 0.5
    np.testing.assert_array_equal(
        pairs.labels[decided], (returns[pairs.first] > returns[pairs.second])[decided].astype(float)
    )
    assert np.all(returns[pairs.first][~decided] == returns[pairs.second][~decided])
    heron = preference_pairs(data, 3, 50, "heron", seed=1, horizon=6)
    assert heron.fragments.length == 3 and len(heron) > 0
    # the default horizon is the segment: the same labels as before the option existed
    same = preference_pairs(data, 3, 50, "return", seed=4)
    explicit = preference_pairs(data, 3, 50, "return", seed=4, horizon=3)
    np.testing.assert_array_equal(same.labels, explicit.labels)
    np.testing.assert_array_equal(same.fragments.obs, explicit.fragments.obs)
    with pytest.raises(ValueError, match="at least the segment length"):
        preference_pairs(data, 3, 5, horizon=2)


def test_window_index_pads_at_the_episode_start():
    rows, valid = window_index(np.array([11, 13]), np.array([10, 10]), 4)
    np.testing.assert_array_equal(rows, [[10, 10, 10, 11], [10, 11, 12, 13]])
    np.testing.assert_array_equal(valid, [[False, False, True, True], [True, True, True, True]])


# --- OPPO -------------------------------------------------------------------------------------


def test_oppo_loss_terms_on_a_hand_built_batch():
    predicted = torch.tensor([[[0.5], [1.0]], [[0.0], [9.0]]])
    target = torch.zeros(2, 2, 1)
    valid = torch.tensor([[True, True], [True, False]])  # the 9 is padding
    assert reconstruction_loss(predicted, target, valid).item() == pytest.approx((0.25 + 1.0 + 0.0) / 3)
    anchor = torch.zeros(2, 2)
    positive = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    negative = torch.tensor([[3.0, 0.0], [1.0, 0.0]])
    # max(0, 1 - 3 + 1) = 0 and max(0, 2 - 1 + 1) = 2
    assert triplet_loss(anchor, positive, negative, margin=1.0).item() == pytest.approx(1.0, abs=1e-5)
    assert norm_loss(torch.tensor([[3.0, 4.0], [0.6, 0.8]])).item() == pytest.approx(16 / 2)
    # OPPO's total is recon + pref_weight * triplet + norm_weight * norm
    data = _toy()
    oppo = OPPO(data, preference_pairs(data, 8, 20), TINY, device="cpu")
    windows, _ = oppo.sample_windows(4)
    obs, acts = windows[:2]
    segments = (obs[:2], acts[:2])
    terms = oppo.losses(windows, segments, (obs[2:], acts[2:]))
    total = terms["recon"] + TINY.pref_weight * terms["triplet"] + TINY.norm_weight * terms["norm"]
    assert terms["total"].item() == pytest.approx(total.item())


def test_oppo_learns_the_preferred_behaviour_and_z_star_moves_to_it():
    """Known answer: the preferred segments act near +0.8, the others near -0.8."""
    data = _toy(n_episodes=8, length=40)
    pairs = preference_pairs(data, 8, 200, "return")
    oppo = OPPO(data, pairs, OPPOConfig(**{**TINY.__dict__, "batch_size": 32}), seed=0, device="cpu")
    z_before = oppo.z_star.detach().clone()
    history = oppo.train(300, log_every=50)
    assert history[-1]["recon"] < 0.5 * history[0]["recon"]
    obs, acts, better, worse, _ = oppo.pairs
    with torch.no_grad():
        z_good = oppo.encoder(obs[better], acts[better]).mean(0)
        z_bad = oppo.encoder(obs[worse], acts[worse]).mean(0)
    distance = lambda z: float((oppo.z_star.detach() - z).norm())  # noqa: E731
    assert distance(z_good) < distance(z_bad)
    assert distance(z_good) < float((z_before - z_good).norm())  # z* moved towards the preferred contexts
    windows = _episode_windows(data.observations[:10], TINY.context_length)
    with_z_star = oppo.act(windows)[:, 0]
    with_bad_z = oppo.act(windows, z=z_bad)[:, 0]
    assert np.mean(with_z_star) > 0.5 and np.mean(with_bad_z) < -0.5


def test_oppo_z_star_norm_holds_z_star_on_the_contexts_sphere():
    """The triplet loss keeps pushing a free z* away from the worse contexts, off the sphere where the norm
    term holds the contexts; ``z_star_norm`` keeps it there, still nearest the preferred contexts."""
    data = _toy(n_episodes=8, length=40)
    pairs = preference_pairs(data, 8, 200, "return")
    found = {}
    for z_star_norm in (None, 1.0):
        config = OPPOConfig(**{**TINY.__dict__, "batch_size": 32, "z_lr": 3e-2, "z_star_norm": z_star_norm})
        oppo = OPPO(data, pairs, config, seed=0, device="cpu")
        oppo.train(300, log_every=50)
        obs, acts, better, worse, _ = oppo.pairs
        with torch.no_grad():
            z_good = oppo.encoder(obs[better], acts[better]).mean(0)
            z_bad = oppo.encoder(obs[worse], acts[worse]).mean(0)
            context_norm = float(oppo.encoder(obs, acts).norm(dim=-1).mean())
        z_star = oppo.z_star.detach()
        found[z_star_norm] = float(z_star.norm()), float((z_star - z_good).norm()), float((z_star - z_bad).norm())
        assert np.mean(oppo.act(_episode_windows(data.observations[:10], TINY.context_length))[:, 0]) > 0.5
        assert abs(context_norm - 1.0) < 0.2
    assert found[None][0] > 1.5  # the free z* left the contexts' sphere
    norm, to_good, to_bad = found[1.0]
    assert norm == pytest.approx(1.0, abs=1e-5) and to_good < to_bad and to_good < found[None][1]
    with pytest.raises(ValueError, match="z_star_norm"):
        OPPOConfig(z_star_norm=0.0)


def test_oppo_episode_contexts_cannot_copy_the_window():
    """Actions are noise, so no policy predicts them from states: the paper's context (encoded from the
    reconstructed window, actions included) lets the policy copy them anyway; another window of the same
    episode does not."""
    rng = np.random.default_rng(0)
    n_episodes, length = 6, 200
    n = n_episodes * length
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    obs[:, 0] = np.repeat(np.arange(n_episodes), length)  # the episode, readable from each window
    ends = np.zeros(n, bool)
    ends[length - 1 :: length] = True
    acts = rng.uniform(-0.9, 0.9, size=(n, 1))  # [-1, 1] once scaled: variance 1/3, the floor without copying
    data = OfflineData(obs, acts, rng.normal(size=n), obs, np.zeros(n, bool), ends, np.full(n_episodes, length))
    pairs = preference_pairs(data, 8, 40)
    final = {}
    for context in ("window", "episode", "adjacent"):
        config = OPPOConfig(**{**TINY.__dict__, "z_dim": 8, "embed_dim": 32, "batch_size": 32, "lr": 3e-3})
        oppo = OPPO(data, pairs, OPPOConfig(**{**config.__dict__, "context": context}), seed=0, device="cpu")
        (w_obs, *_), (c_obs, _, c_valid, _) = oppo.sample_windows(64)
        same_episode = w_obs[:, -1:, 0] == c_obs[:, :, 0]
        assert bool(same_episode[c_valid].all())
        assert torch.equal(w_obs, c_obs) == (context == "window")
        final[context] = oppo.train(300, log_every=50)[-1]["recon"]
    assert final["window"] < 0.8 / 3 and final["episode"] > 0.9 / 3 and final["adjacent"] > 0.9 / 3


def test_oppo_adjacent_contexts_sit_next_to_their_windows():
    lengths = np.array([5, 12, 50])  # too short for a neighbour, a neighbour on one side only, both sides
    n = int(lengths.sum())
    rng = np.random.default_rng(0)
    ends = np.zeros(n, bool)
    ends[np.cumsum(lengths) - 1] = True
    obs = rng.normal(size=(n, 3))
    data = OfflineData(obs, rng.uniform(-1, 1, (n, 1)), rng.normal(size=n), obs, np.zeros(n, bool), ends, lengths)
    oppo = OPPO(
        data, preference_pairs(data, 4, 10), OPPOConfig(**{**TINY.__dict__, "context": "adjacent"}), device="cpu"
    )
    oppo.windows_at = lambda rows: (rows, data.episode_starts[data.episode_of(rows)])  # the rows, not tensors
    (window_end, start), (context_end, _) = oppo.sample_windows(500)
    episode_end = start + np.repeat(lengths, lengths)[window_end]
    k = TINY.context_length
    neighbour = (window_end - k >= start) | (window_end + k < episode_end)
    assert np.all(np.isin(context_end - window_end, [-k, k])[neighbour])
    assert np.all((context_end >= start) & (context_end < episode_end))
    assert {-k, k} <= set((context_end - window_end)[neighbour].tolist()) and not neighbour.all()


def test_oppo_short_run_on_a_real_env_and_resume(tmp_path):
    data = _pendulum(800)
    pairs = preference_pairs(data, 8, 60, "return")
    straight = OPPO(data, pairs, TINY, seed=1, device="cpu")
    history = straight.train(40, log_every=10)
    assert history[-1]["total"] < history[0]["total"]
    env = straight.wrap_env(gym.make("Pendulum-v1"))
    returns = episode_returns(rollout(straight, env, n_episodes=1, seed=0, deterministic=True))
    assert returns.shape == (1,) and np.isfinite(returns).all()
    # interrupted at 20 steps, restored from its checkpoint, continued to 40: the same parameters
    first = OPPO(data, pairs, TINY, seed=1, device="cpu")
    first.train(20, checkpoint=tmp_path / "ckpt")
    resumed = OPPO.load(tmp_path / "ckpt", data, pairs, device="cpu")
    assert resumed.steps == 20
    resumed.train(40)
    for a, b in zip(straight.policy.state_dict().values(), resumed.policy.state_dict().values()):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(straight.z_star, resumed.z_star)
    acting = OPPO.load(tmp_path / "ckpt", device="cpu")  # no data: it acts, and refuses to train
    assert acting.act(_episode_windows(data.observations[:1], TINY.context_length)[0]).shape == (1,)
    with pytest.raises(RuntimeError, match="no dataset"):
        acting.train(30)


def test_oppo_refuses_bad_preferences():
    data = _toy()
    ties = PreferenceDataset(sample_segments(data, 8, 4, np.random.default_rng(0)), [0, 1], [2, 3], [0.5, 0.5])
    with pytest.raises(ValueError, match="no strict label"):
        OPPO(data, ties, TINY, device="cpu")
    with pytest.raises(ValueError, match="exceed context_length"):
        OPPO(data, preference_pairs(data, 12, 5), TINY, device="cpu")
    with pytest.raises(ValueError, match="divisible"):
        OPPOConfig(embed_dim=10, n_heads=3)
    with pytest.raises(ValueError, match="context must be one of"):
        OPPOConfig(context="trajectory")


def test_oppo_norm_and_tie_options_known_answers():
    """The paper's code has two variants: (|z| - 1)^2 and dropped ties (scripted labels), ReLU(|z| - 1)
    and a margin-0 triplet term on ties (human labels)."""
    z = torch.tensor([[3.0, 4.0], [0.3, 0.4]])  # norms 5 and 0.5
    assert norm_loss(z, "squared").item() == pytest.approx((16 + 0.25) / 2)
    assert norm_loss(z, "relu").item() == pytest.approx(4 / 2)  # inside the sphere costs nothing
    anchor = torch.zeros(2, 2)
    positive = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    negative = torch.tensor([[3.0, 0.0], [1.0, 0.0]])
    # per-pair margins: max(0, 1 - 3 + 1) = 0 and max(0, 2 - 1 + 0) = 1
    assert triplet_loss(anchor, positive, negative, torch.tensor([1.0, 0.0])).item() == pytest.approx(0.5, abs=1e-5)
    both = triplet_loss(anchor, positive, negative, torch.tensor([1.0, 1.0]))
    assert both.item() == pytest.approx(triplet_loss(anchor, positive, negative, 1.0).item(), abs=1e-6)
    data = _toy()
    labelled = PreferenceDataset(sample_segments(data, 8, 8, np.random.default_rng(0)), [0, 2, 4, 6], [1, 3, 5, 7],
                                 [1.0, 0.5, 0.0, 0.5])  # fmt: skip
    dropped = OPPO(data, labelled, TINY, device="cpu").pairs
    kept = OPPO(data, labelled, OPPOConfig(**{**TINY.__dict__, "ties": "triplet"}), device="cpu").pairs
    assert dropped is not None and kept is not None
    assert dropped[2].tolist() == [0, 5] and dropped[3].tolist() == [1, 4]  # the preferred, then the other
    assert kept[2].tolist() == [0, 2, 5, 6] and kept[3].tolist() == [1, 3, 4, 7]  # a tie: the first is positive
    assert kept[4].tolist() == [1.0, 0.0, 1.0, 0.0]
    oppo = OPPO(data, labelled, OPPOConfig(**{**TINY.__dict__, "ties": "triplet", "norm": "relu"}), device="cpu")
    assert np.isfinite(oppo.train(3)[-1]["total"])
    with pytest.raises(ValueError, match="norm must be one of"):
        OPPOConfig(norm="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ties must be one of"):
        OPPOConfig(ties="keep")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="policy_inputs must be one of"):
        OPPOConfig(policy_inputs="actions")  # type: ignore[arg-type]


def test_history_policy_reads_past_actions_and_timesteps_but_not_the_current_action():
    config = OPPOConfig(**{**TINY.__dict__, "policy_inputs": "history", "max_timestep": 50})
    policy = ContextualPolicy(3, 2, config).eval()
    gen = torch.Generator().manual_seed(0)
    obs, z = torch.randn(1, 8, 3, generator=gen), torch.randn(1, 4, generator=gen)
    acts, steps = torch.rand(1, 8, 2, generator=gen) * 2 - 1, torch.arange(10, 18)[None]
    base = policy(obs, z, None, acts, steps)
    later = acts.clone()
    later[:, 5:] = 0.0  # the actions of steps 5, 6, 7
    changed = policy(obs, z, None, later, steps)
    torch.testing.assert_close(changed[:, :6], base[:, :6])  # step 5's prediction does not see step 5's action
    assert not torch.allclose(changed[:, 6:], base[:, 6:])  # later steps read it
    assert not torch.allclose(policy(obs, z, None, acts, steps + 1), base)  # the timestep embedding is read
    torch.testing.assert_close(
        policy(obs, z, None, acts, steps + 100)[:, -1], policy(obs, z, None, acts, steps * 0 + 49)[:, -1]
    )
    with pytest.raises(ValueError, match="acts and timesteps"):
        policy(obs, z)
    assert not hasattr(ContextualPolicy(3, 2, TINY), "embed_act")  # "states": states and context only


def test_history_oppo_acts_through_its_window_with_actions_and_timesteps():
    data = _pendulum(600)
    config = OPPOConfig(**{**TINY.__dict__, "policy_inputs": "history", "max_timestep": 200})
    oppo = OPPO(data, preference_pairs(data, 8, 40), config, seed=0, device="cpu")
    oppo.train(20)
    windows = oppo.windows_at([0, 5, 250])
    assert windows[3].tolist()[1] == [0, 0, 0, 1, 2, 3, 4, 5] and windows[3][2, -1] == 50  # padding counts as 0
    env = oppo.wrap_env(gym.make("Pendulum-v1", max_episode_steps=12))
    assert isinstance(env, ObservationWindow) and env.observation_space.shape == (8, 3 + 1 + 2)
    (trajectory,) = rollout(oppo, env, n_episodes=1, seed=0, deterministic=True, record_infos=False)
    assert len(trajectory) == 12
    # the window of step 10 holds steps 3-10, their actions (but step 10's, not taken yet) and timesteps
    window = trajectory.obs[10]
    np.testing.assert_allclose(window[:-1, 3], trajectory.acts[3:10, 0], rtol=1e-6)
    assert window[-1, 3] == 0 and window[:, 4].tolist() == list(range(3, 11)) and window[:, -1].all()
    np.testing.assert_allclose(trajectory.acts, oppo.act(trajectory.obs[:-1]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="windows must have shape"):
        oppo.act(np.zeros((8, 4), np.float32))


# --- baselines --------------------------------------------------------------------------------


def test_top_fraction_takes_the_segments_that_win_most():
    obs = np.arange(4, dtype=np.float32).reshape(4, 1, 1) * np.ones((1, 2, 1), np.float32)
    fragments = Fragments(obs, obs.copy())
    # fragment 2 wins both its pairs, 0 one of two, 1 and 3 none
    prefs = PreferenceDataset(fragments, [2, 0, 2], [0, 1, 3], [1.0, 1.0, 1.0])
    top_obs, top_acts = top_fraction(prefs, 0.25)
    np.testing.assert_array_equal(top_obs.ravel(), [2, 2])
    top_obs, _ = top_fraction(prefs, 0.5)
    np.testing.assert_array_equal(sorted(top_obs.ravel()), [0, 0, 2, 2])


def test_bc_top_fraction_beats_bc_on_mixed_data():
    data = _toy(n_episodes=8, length=40)
    pairs = preference_pairs(data, 8, 100, "return")
    bc = BehaviorCloning(data, hidden_sizes=(32,), seed=0, device="cpu")
    bc.train(300)
    top = BehaviorCloning(data, *top_fraction(pairs, 0.25), hidden_sizes=(32,), seed=0, device="cpu")
    top.train(300)
    act = lambda agent: np.mean([agent.act(o)[0] for o in data.observations[:20]])  # noqa: E731
    assert act(top) > 0.6 > abs(act(bc))  # BC averages the two behaviours; top-fraction BC takes the good one


def test_iql_and_learned_rewards_run_and_save(tmp_path):
    data = _pendulum(600)
    model = RewardModel(*[__import__("gymnasium").spaces.Box(-np.inf, np.inf, (d,)) for d in (3, 1)], device="cpu")
    rewards = relabel_rewards(data, model)
    assert rewards.shape == (600,) and np.isfinite(rewards).all()
    iql = IQL(data, rewards, hidden_sizes=(32, 32), batch_size=64, seed=0, device="cpu")
    history = iql.train(30)
    assert all(np.isfinite(list(h.values())).all() for h in history)
    action = iql.act(data.observations[0])
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0  # Pendulum's bounds
    iql.save(tmp_path / "iql")
    restored = load_agent(tmp_path / "iql", device="cpu")
    np.testing.assert_allclose(restored.act(data.observations[0]), action, rtol=1e-5)
    with pytest.raises(ValueError, match="one entry per transition"):
        IQL(data, rewards[:-1], device="cpu")


def test_iql_on_a_learned_reward_is_fixed_by_its_seed_alone(tmp_path):
    data = _pendulum(400)

    def policy_action(global_seed, seed):
        torch.manual_seed(global_seed)  # whatever ran before in this process
        out = tmp_path / f"g{global_seed}-s{seed}"
        train_offline("iql-bt", data, steps=5, n_pairs=20, segment_length=10, eval_episodes=1, seed=seed,
                      device="cpu", out=out)  # fmt: skip
        return load_agent(out / "policy", device="cpu").act(data.observations[0])

    assert np.array_equal(policy_action(0, 0), policy_action(1, 0))
    assert not np.array_equal(policy_action(0, 0), policy_action(0, 1))


# --- pipeline and CLI -------------------------------------------------------------------------


def test_cli_generate_train_evaluate(tmp_path, capsys):
    from rewarddesign.cli import main

    root = str(tmp_path / "datasets")
    assert main(["offline", "generate", "--env", "Pendulum-v1", "--kinds", "random", "--transitions", "400",
                 "--ref-scores", "-1500", "-150", "--root", root, "--device", "cpu"]) == 0  # fmt: skip
    out = tmp_path / "bc"
    assert main(["offline", "train", "rewarddesign/pendulum/random-v0", "--algo", "bc-top", "--steps", "20",
                 "--pairs", "20", "--segment-length", "10", "--label-horizon", "30", "--eval-episodes", "1",
                 "--root", root, "--out", str(out), "--device", "cpu"]) == 0  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    assert result["algo"] == "bc-top" and result["n_pairs"] == 20 and len(result["returns"]) == 1
    assert result["segment_length"] == 10 and result["label_horizon"] == 30
    assert main(["offline", "evaluate", str(out / "policy"), "--episodes", "1", "--device", "cpu"]) == 0
    assert "Pendulum-v1: true return" in capsys.readouterr().out
    oppo_out = tmp_path / "oppo"
    assert main(["offline", "train", "rewarddesign/pendulum/random-v0", "--algo", "oppo", "--context", "episode",
                 "--z-star-norm", "1", "--steps", "2", "--pairs", "20", "--segment-length", "10",
                 "--eval-episodes", "1", "--root", root, "--out", str(oppo_out), "--device", "cpu"]) == 0  # fmt: skip
    config = json.loads((oppo_out / "result.json").read_text())["config"]
    assert config["context"] == "episode" and config["z_star_norm"] == 1.0
    assert main(["offline", "train", "rewarddesign/none/random-v0", "--out", str(out), "--root", root]) == 2
    assert "offline generate" in capsys.readouterr().err


def test_train_offline_oppo_resumes_from_its_checkpoint(tmp_path):
    data = _pendulum(600)
    kwargs = dict(n_pairs=30, segment_length=8, eval_episodes=1, device="cpu", out=tmp_path, oppo_config=TINY)
    first = train_offline("oppo", data, steps=10, **kwargs)
    assert first.steps == 10 and (tmp_path / "policy" / "oppo.pt").exists()
    second = train_offline("oppo", data, steps=20, **kwargs)
    assert second.history[0]["step"] > 10  # continued from step 10, not from scratch
    assert isinstance(load_agent(tmp_path / "policy", device="cpu"), OPPO)
    with pytest.raises(ValueError, match="unknown algorithm"):
        train_offline("cql", data)


def test_synthetic_gatherer_is_the_scripted_teacher():
    gatherer = make_gatherer("return")
    assert isinstance(gatherer, SyntheticGatherer) and gatherer.temperature == 0.0


def test_cli_offline_train_passes_the_paper_options():
    from rewarddesign.cli import build_parser

    args = build_parser().parse_args(
        [
            "offline",
            "train",
            "d",
            "--algo",
            "oppo",
            "--out",
            "o",
            "--norm",
            "relu",
            "--ties",
            "triplet",
            "--policy-inputs",
            "history",
        ]
    )
    assert (args.norm, args.ties, args.policy_inputs) == ("relu", "triplet", "history")
    defaults = build_parser().parse_args(["offline", "train", "d", "--out", "o"])
    assert (defaults.norm, defaults.ties, defaults.policy_inputs) == ("squared", "drop", "states")
