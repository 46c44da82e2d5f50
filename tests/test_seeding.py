"""Owned random streams: the same seed gives the same result whatever the process drew before, and the
caller's global generators (Python's ``random``, ``np.random``, torch's) are left as they were."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from _threads_probe import torch_threads

from rewarddesign._seeding import GlobalRandomStream, TorchStream, isolated_global_random, seeded_torch
from rewarddesign.bench.executors import LocalExecutor
from rewarddesign.envs.games import MatrixGameEnv, stag_hunt
from rewarddesign.games import PSRO
from rewarddesign.offline import generate_datasets, load_dataset
from rewarddesign.preferences import PreferenceLearning, SyntheticGatherer
from rewarddesign.train import load_policy, save_policy, train


def _global_state() -> tuple:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _assert_same_state(before: tuple, after: tuple) -> None:
    assert before[0] == after[0]
    assert all(np.array_equal(a, b) for a, b in zip(before[1], after[1]))
    assert torch.equal(before[2], after[2])


def _draw_elsewhere() -> None:
    """What a process may have done before: seeded and drawn from every global generator."""
    random.seed(99)
    np.random.seed(98)
    torch.manual_seed(97)
    random.random()
    np.random.rand(17)
    torch.randn(1000)
    torch.nn.Linear(32, 32)


def test_seeded_torch_and_a_torch_stream_draw_what_a_seeded_generator_draws():
    before = _global_state()
    with seeded_torch(5):
        block = torch.randn(4)
    stream = TorchStream(5)
    with stream.active():
        first = torch.randn(4)
    _assert_same_state(before, _global_state())
    torch.randn(10)  # the caller's draws do not move the stream
    with stream.active():
        second = torch.randn(4)
    expected = torch.randn(8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(block, expected[:4])
    assert torch.equal(torch.cat([first, second]), expected)


def test_a_torch_stream_continues_from_its_state_dict_and_without_seed_draws_from_the_caller():
    stream = TorchStream(3)
    with stream.active():
        torch.randn(5)
    saved = stream.state_dict()
    with stream.active():
        expected = torch.randn(5)
    resumed = TorchStream(0)
    resumed.load_state_dict(saved)
    with resumed.active():
        assert torch.equal(torch.randn(5), expected)

    free = TorchStream(None)
    assert free.state_dict() == {}
    with pytest.raises(ValueError, match="state"):
        free.load_state_dict(saved)
    torch.manual_seed(1)
    with free.active():
        drawn = torch.randn(3)
    torch.manual_seed(1)
    assert torch.equal(drawn, torch.randn(3))


def test_isolated_global_random_restores_every_global_generator_also_on_error():
    before = _global_state()
    with pytest.raises(RuntimeError), isolated_global_random():
        _draw_elsewhere()
        raise RuntimeError("inside")
    _assert_same_state(before, _global_state())


def test_isolated_global_random_drops_a_cuda_seed_queued_inside():
    # torch.manual_seed queues the CUDA seed while CUDA is not initialised; it must not apply later
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if tracker is None or torch.cuda.is_initialized():
        pytest.skip("no lazy CUDA seeding here")
    pending = dict(vars(tracker))
    with isolated_global_random():
        torch.manual_seed(1234)
    assert vars(tracker) == pending


def test_a_global_random_stream_continues_across_blocks_whatever_is_drawn_in_between():
    def draws(stream: GlobalRandomStream, between: bool) -> list:
        out = []
        for _ in range(2):
            with stream.active():
                with stream.active():  # reentrant: the inner block continues the outer one
                    out.append(random.random())
                out += [np.random.rand(), float(torch.rand(1))]
            if between:
                _draw_elsewhere()
        return out

    before = _global_state()
    quiet = draws(GlobalRandomStream(7), between=False)
    _assert_same_state(before, _global_state())
    assert draws(GlobalRandomStream(7), between=True) == quiet
    # the first block starts where SB3's set_random_seed(7) would
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    assert quiet[:3] == [random.random(), np.random.rand(), float(torch.rand(1))]


PPO_TINY = {"n_steps": 64, "batch_size": 32, "n_epochs": 2}


def _train_once():
    result = train("CartPole-v1", "ppo", 128, seed=4, eval_freq=64, eval_episodes=2, algo_kwargs=PPO_TINY, device="cpu")
    return [p.detach().clone() for p in result.model.policy.parameters()], result.evaluations, result.true_returns


def test_train_gives_the_same_model_whatever_was_drawn_before_and_leaves_the_caller_state():
    first = _train_once()
    _draw_elsewhere()
    before = _global_state()
    second = _train_once()
    _assert_same_state(before, _global_state())
    assert all(torch.equal(a, b) for a, b in zip(first[0], second[0]))
    assert repr(first[1:]) == repr(second[1:])  # the first evaluation's designed mean is nan


def test_loading_a_policy_leaves_the_caller_state(tmp_path):
    model = train("CartPole-v1", "ppo", 64, seed=1, algo_kwargs=PPO_TINY, device="cpu").model
    save_policy(model, tmp_path / "policy", "CartPole-v1")
    before = _global_state()
    loaded = load_policy(tmp_path / "policy", device="cpu")
    _assert_same_state(before, _global_state())
    assert all(torch.equal(a, b) for a, b in zip(model.policy.parameters(), loaded.policy.parameters()))


def test_psro_gives_the_same_run_whatever_was_drawn_before_and_leaves_the_caller_state():
    kwargs = {
        "oracle_timesteps": 128,
        "eval_episodes": 8,
        "device": "cpu",
        "n_envs": 2,
        "ppo_kwargs": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
    }

    def run() -> tuple:
        psro = PSRO(lambda: MatrixGameEnv(stag_hunt()), "uniform", seed=2, **kwargs).run(1)
        return psro.payoffs.tolist(), psro.history, psro.evaluate(20, seed=1)

    first = run()
    _draw_elsewhere()
    before = _global_state()
    second = run()
    _assert_same_state(before, _global_state())
    assert first == second


def test_preference_learning_gives_the_same_agent_whatever_is_built_and_drawn_in_between():
    def learner() -> PreferenceLearning:
        return PreferenceLearning(
            "Pendulum-v1", SyntheticGatherer(seed=0), rounds=1, episodes_per_round=1, reward_epochs=1, device="cpu",
            seed=3, algo_kwargs={"learning_starts": 50, "batch_size": 32},
        )  # fmt: skip

    first = learner()
    _draw_elsewhere()
    before = _global_state()
    second = learner()  # built (SB3 seeds with seed=) and trained while the first waits
    second.train(100, 10)
    _assert_same_state(before, _global_state())
    _draw_elsewhere()
    first.train(100, 10)
    assert all(torch.equal(a, b) for a, b in zip(first.agent.policy.parameters(), second.agent.policy.parameters()))
    assert repr(first.history) == repr(second.history)


def test_generated_datasets_are_the_same_whatever_was_drawn_before_and_leave_the_caller_state(tmp_path):
    def generate(root) -> np.ndarray:
        ids = generate_datasets(
            "Pendulum-v1", kinds=("medium-replay",), medium_steps=200, n_transitions=10, root=root, device="cpu",
            ref_scores=(-1500.0, -150.0), algo_kwargs={"learning_starts": 50, "batch_size": 32},
        )  # fmt: skip
        return load_dataset(ids["medium-replay"], root=root).actions

    first = generate(tmp_path / "first")
    _draw_elsewhere()
    before = _global_state()
    second = generate(tmp_path / "second")
    _assert_same_state(before, _global_state())
    np.testing.assert_array_equal(first, second)


def test_local_workers_compute_with_one_torch_thread_and_the_caller_keeps_its_own():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # a caller's own setting, which running experiments must not change
    try:
        assert list(LocalExecutor(1).map(torch_threads, [0], "cpu")) == [{"spec": 0, "threads": 2}]
        pooled = sorted(LocalExecutor(2).map(torch_threads, [0, 1], "cpu"), key=lambda r: r["spec"])
        assert [r["threads"] for r in pooled] == [1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
