"""Offline learners own their random streams: the same seed gives the same learner, whatever ran before."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from rewarddesign.offline import (
    IQL,
    OPPO,
    BehaviorCloning,
    ObservationWindow,
    OfflineData,
    OPPOConfig,
    preference_pairs,
)
from rewarddesign.rollouts import rollout

# dropout on: its draws during training must come from the learner's own stream too
CONFIG = OPPOConfig(context_length=8, z_dim=4, embed_dim=16, n_layers=1, n_heads=2, dropout=0.1, batch_size=16)


def _data(n_episodes: int = 4, length: int = 30) -> OfflineData:
    rng = np.random.default_rng(0)
    n = n_episodes * length
    obs = rng.normal(size=(n, 3))
    ends = np.zeros(n, bool)
    ends[length - 1 :: length] = True
    return OfflineData(obs, rng.uniform(-1, 1, (n, 1)), rng.normal(size=n), obs + 0.1, np.zeros(n, bool), ends,
                       np.full(n_episodes, length), env_id="Pendulum-v1")  # fmt: skip


def _something_else() -> None:
    """What a process may have done before: seeded torch differently, drawn, built a network."""
    torch.manual_seed(12345)
    torch.randn(1000)
    torch.nn.Linear(64, 64)


def _parameters(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for module in modules for p in module.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_oppo_is_fixed_by_its_seed_alone_and_leaves_the_process_generator_alone(tmp_path):
    data = _data()
    pairs = preference_pairs(data, 8, 40)

    def trained(seed: int) -> list[torch.Tensor]:
        oppo = OPPO(data, pairs, CONFIG, seed=seed, device="cpu")
        oppo.train(6)
        return _parameters(oppo.encoder, oppo.policy) + [oppo.z_star.detach().clone()]

    first = trained(0)
    _something_else()
    state = torch.get_rng_state()
    again = trained(0)
    assert torch.equal(torch.get_rng_state(), state)  # the process's generator neither read nor moved
    assert _same(first, again)
    assert not _same(first, trained(1))
    # with dropout, a run resumed from its checkpoint draws what the uninterrupted one drew
    interrupted = OPPO(data, pairs, CONFIG, seed=0, device="cpu")
    interrupted.train(3, checkpoint=tmp_path / "ckpt")
    _something_else()
    resumed = OPPO.load(tmp_path / "ckpt", data, pairs, device="cpu")
    resumed.train(6)
    assert _same(first, _parameters(resumed.encoder, resumed.policy) + [resumed.z_star.detach().clone()])


def test_baselines_are_fixed_by_their_seed_alone():
    data = _data()

    def bc(seed: int) -> list[torch.Tensor]:
        agent = BehaviorCloning(data, hidden_sizes=(16,), batch_size=32, seed=seed, device="cpu")
        agent.train(5)
        return _parameters(agent.net)

    def iql(seed: int) -> list[torch.Tensor]:
        agent = IQL(data, hidden_sizes=(16,), batch_size=32, seed=seed, device="cpu")
        agent.train(5)
        return _parameters(agent.loss)

    for build in (bc, iql):
        first = build(0)
        _something_else()
        state = torch.get_rng_state()
        assert _same(first, build(0)), build.__name__
        assert torch.equal(torch.get_rng_state(), state)
        assert not _same(first, build(1)), build.__name__


def test_oppo_acts_through_rollout_in_its_observation_window():
    data = _data()
    oppo = OPPO(data, preference_pairs(data, 8, 40), CONFIG, seed=0, device="cpu")
    oppo.train(2)
    env = oppo.wrap_env(gym.make("Pendulum-v1", max_episode_steps=12))
    assert isinstance(env, ObservationWindow) and env.length == CONFIG.context_length
    (trajectory,) = rollout(oppo, env, n_episodes=1, seed=0, deterministic=True, record_infos=False)
    assert len(trajectory) == 12 and trajectory.truncated
    # each action is what OPPO gives the window it saw: the episode's last (up to) 8 observations
    np.testing.assert_allclose(trajectory.acts, oppo.act(trajectory.obs[:-1]), rtol=1e-5, atol=1e-6)
    assert trajectory.obs[0, :-1, -1].sum() == 0 and trajectory.obs[10, :, -1].all()
