import json
import shutil

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from rewarddesign.envs.games import IntersectionDriving, MatrixGameEnv, RepeatedTrustDilemma, TrustDilemmaEnv
from rewarddesign.games import PSRO, NormalFormGame, prisoners_dilemma, rock_paper_scissors, stag_hunt
from rewarddesign.games.psro import OpponentMixtureEnv, RandomPolicy


@pytest.mark.parametrize(
    "make",
    [
        lambda: MatrixGameEnv(),
        lambda: MatrixGameEnv(rock_paper_scissors()),
        lambda: MatrixGameEnv(NormalFormGame(np.arange(24.0).reshape(3, 2, 2, 2))),
        lambda: RepeatedTrustDilemma(rounds=5),
        lambda: IntersectionDriving(),
        lambda: IntersectionDriving(slip=0.3),
    ],
)
def test_envs_pass_the_parallel_api_test(make):
    parallel_api_test(make(), num_cycles=40)


def test_matrix_game_pays_the_payoffs():
    env = MatrixGameEnv(prisoners_dilemma())
    env.reset(seed=0)
    _, rewards, terminations, _, _ = env.step({"player_0": 0, "player_1": 1})
    assert rewards == {"player_0": 0.0, "player_1": 5.0} and all(terminations.values()) and env.agents == []


def test_repeated_trust_dilemma_shows_the_last_joint_action():
    env = RepeatedTrustDilemma(rounds=3)
    obs, _ = env.reset(seed=0)
    assert obs["player_0"][:4].sum() == 0
    obs, rewards, _, truncations, _ = env.step({"player_0": 0, "player_1": 1})  # stag, hare
    assert rewards == {"player_0": 0.0, "player_1": 3.0}
    assert obs["player_0"][0 * 2 + 1] == 1 and obs["player_1"][1 * 2 + 0] == 1  # (own, other)
    env.step({"player_0": 1, "player_1": 1})
    *_, truncations, _ = env.step({"player_0": 1, "player_1": 1})
    assert all(truncations.values()) and env.agents == []


def drive(env, policy):
    env.reset(seed=0)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    crashed = False
    t = 0
    while env.agents:
        _, rewards, _, _, infos = env.step({a: policy(a, t) for a in env.agents})
        for a, r in rewards.items():
            totals[a] += r
        crashed |= any(i["crash"] for i in infos.values())
        t += 1
    return totals, crashed


def test_intersection_crash_and_yield():
    env = IntersectionDriving(distance=3, exit=2, crash=-20.0, time_cost=0.25)
    totals, crashed = drive(env, lambda a, t: 1)  # both go: both reach the intersection at step 3
    assert crashed and totals["car_0"] == pytest.approx(3 - 0.75 - 20)
    totals, crashed = drive(env, lambda a, t: 0 if (a == "car_1" and t == 0) else 1)  # car 1 waits once
    assert not crashed
    assert totals["car_0"] == pytest.approx(5 - 5 * 0.25) and totals["car_1"] == pytest.approx(5 - 6 * 0.25)


def test_opponent_mixture_env_passes_check_env():
    env_fn = lambda: IntersectionDriving()  # noqa: E731
    space = env_fn().action_space("car_1")
    populations = {"car_0": [], "car_1": [RandomPolicy(space, 0), RandomPolicy(space, 1)]}
    env = OpponentMixtureEnv(env_fn, "car_0", populations, {"car_1": np.array([0.3, 0.7])}, seed=0)
    check_env(env)


def action_probabilities(psro, agent, samples=400):
    rng = np.random.default_rng(0)
    counts = np.zeros(psro._spaces[agent].n)
    for _ in range(samples):
        policy = psro.populations[agent][
            int(rng.choice(len(psro.meta_strategies[agent]), p=psro.meta_strategies[agent]))
        ]
        counts[policy.act(np.zeros(1, np.float32))] += 1
    return counts / samples


# one-step games: small rollouts so that 2048 steps make 8 PPO updates
PPO_FAST = {"learning_rate": 1e-2, "n_steps": 64, "batch_size": 64, "ent_coef": 0.0}
FAST = {"oracle_timesteps": 2048, "eval_episodes": 40, "device": "cpu", "ppo_kwargs": PPO_FAST}


def test_psro_rae_on_the_stag_hunt_hunts_hare(tmp_path):
    psro = PSRO(lambda: MatrixGameEnv(stag_hunt()), "rae", risk_aversion=1.0, seed=0, **FAST).run(2)
    for agent in psro.agents:
        assert action_probabilities(psro, agent)[1] > 0.9  # hare


def test_psro_nash_on_the_prisoners_dilemma_defects_and_resumes(tmp_path):
    make = lambda: MatrixGameEnv(prisoners_dilemma())  # noqa: E731
    first = PSRO(make, "nash", seed=0, out_dir=tmp_path / "run", **FAST).run(1)
    assert (tmp_path / "run" / "state.json").exists() and first.iteration == 1
    # a moved (or copied) run loads its own policy files: they are named relative to the run
    (tmp_path / "run").rename(tmp_path / "moved")
    assert str(tmp_path) not in (tmp_path / "moved" / "state.json").read_text()
    resumed = PSRO(make, "nash", seed=0, out_dir=tmp_path / "moved", **FAST)
    assert resumed.iteration == 1 and [len(p) for p in resumed.populations.values()] == [2, 2]
    np.testing.assert_allclose(resumed.payoffs, first.payoffs)
    resumed.run(2)
    assert resumed.iteration == 2 and resumed.payoffs.shape == (2, 3, 3)
    for agent in resumed.agents:
        assert action_probabilities(resumed, agent)[1] > 0.9  # defect
    report = resumed.evaluate(50)
    assert report.crash_rate == 0.0 and len(report.mean_return) == 2


def test_psro_checkpoints_are_tensors_and_json_and_resume_the_same_policies(tmp_path):
    make = lambda: MatrixGameEnv(stag_hunt())  # noqa: E731
    ppo = {**PPO_FAST, "policy_kwargs": {"net_arch": [8], "activation_fn": torch.nn.ReLU}}
    small = {**FAST, "oracle_timesteps": 128, "eval_episodes": 4, "ppo_kwargs": ppo}
    first = PSRO(make, "uniform", seed=3, out_dir=tmp_path / "run", **small).run(1)
    member = tmp_path / "run" / "player_0_1"
    assert sorted(p.name for p in member.iterdir()) == ["metadata.json", "policy.pt"]
    assert not list((tmp_path / "run").rglob("*.zip"))
    state = torch.load(member / "policy.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    shutil.copytree(tmp_path / "run", tmp_path / "copy")
    resumed = PSRO(make, "uniform", seed=3, out_dir=tmp_path / "run", **small)
    np.testing.assert_array_equal(resumed.payoffs, first.payoffs)
    obs = torch.zeros((1, 1))
    for agent in first.agents:
        saved, loaded = first.populations[agent][1].model.policy, resumed.populations[agent][1].model.policy
        assert isinstance(loaded.mlp_extractor.policy_net[1], torch.nn.ReLU)  # the saved architecture
        for (name, a), (_, b) in zip(saved.state_dict().items(), loaded.state_dict().items()):
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
        with torch.no_grad():
            torch.testing.assert_close(saved.get_distribution(obs).distribution.probs,
                                       loaded.get_distribution(obs).distribution.probs)  # fmt: skip
    # resuming is deterministic: two copies of the checkpoint continue alike
    resumed.run(2)
    other = PSRO(make, "uniform", seed=3, out_dir=tmp_path / "copy", **small).run(2)
    np.testing.assert_array_equal(resumed.payoffs, other.payoffs)
    assert resumed.history == other.history


def test_psro_refuses_an_old_zip_checkpoint_and_a_tampered_policy_file(tmp_path):
    make = lambda: MatrixGameEnv(stag_hunt())  # noqa: E731
    small = {**FAST, "oracle_timesteps": 64, "eval_episodes": 2}
    PSRO(make, "uniform", seed=0, out_dir=tmp_path / "run", **small).run(1)
    state_file = tmp_path / "run" / "state.json"
    state = json.loads(state_file.read_text())
    # a run written by an older version names SB3 zip files: refused, never unpickled
    old = {**state, "populations": {a: ["random", f"sb3:{a}_1.zip"] for a in state["agents"]}}
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "state.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="zip checkpoint") as err:
        PSRO(make, "uniform", seed=0, out_dir=tmp_path / "old", **small)
    assert "sb3:player_0_1.zip" in str(err.value)
    # a policy file that is a pickle of an object (which would run code) is refused with our message
    torch.save({"weights": object()}, tmp_path / "run" / "player_1_1" / "policy.pt")
    with pytest.raises(ValueError, match="not a weights file written by save_policy") as err:
        PSRO(make, "uniform", seed=0, out_dir=tmp_path / "run", **small)
    assert "weights_only" not in str(err.value)


def test_psro_rae_counts_the_episode_variance_of_each_entry():
    psro = PSRO(lambda: MatrixGameEnv(stag_hunt()), "rae", risk_aversion=1.0, eval_episodes=10)
    # a hand-made meta-game: two policies per agent with equal mean returns, the first one noisy
    psro.payoffs = np.ones((2, 2, 2))
    psro.stderr = np.zeros((2, 2, 2))
    psro.stderr[0, 0, :] = psro.stderr[1, :, 0] = 1.0  # episode std sqrt(10) whenever an agent plays policy 0
    for agent, strategy in psro.solve_meta_game().items():
        assert strategy[0] < 0.01, agent
    psro.episode_variance = False  # equal means and no spread across the draw: every profile is an RAE
    assert all(strategy[0] > 0.4 for strategy in psro.solve_meta_game().values())  # uniform, where FP starts


def test_psro_rejects_bad_settings():
    with pytest.raises(ValueError, match="meta_solver"):
        PSRO(lambda: MatrixGameEnv(), "best")
    with pytest.raises(ValueError, match="risk_aversion"):
        PSRO(lambda: MatrixGameEnv(), "rae", risk_aversion=-1.0)
    with pytest.raises(ValueError, match="eval_episodes"):
        PSRO(lambda: MatrixGameEnv(), "uniform", eval_episodes=1)
    with pytest.raises(ValueError, match="oracle_timesteps"):
        PSRO(lambda: MatrixGameEnv(), "uniform", oracle_timesteps=-5)
    with pytest.raises(ValueError, match="device"):
        PSRO(lambda: MatrixGameEnv(), "uniform", device="tpu")


def test_trust_dilemma_env_pays_the_mean_variance_reward():
    env = TrustDilemmaEnv(rounds=4, partner_stag=0.8, risk_aversion=0.5)
    check_env(env)
    game = stag_hunt()
    for action in (0, 1):
        payoffs = game.payoffs[0, action]  # against stag, against hare
        mu = 0.8 * payoffs[0] + 0.2 * payoffs[1]
        variance = 0.8 * (payoffs[0] - mu) ** 2 + 0.2 * (payoffs[1] - mu) ** 2
        env.reset(seed=1)
        seen = {}
        for _ in range(200):
            _, reward, _, truncated, info = env.step(action)
            seen[info["partner"]] = reward
            if truncated:
                env.reset()
        expected = 0.8 * seen.get(0, payoffs[0]) + 0.2 * seen.get(1, payoffs[1])
        assert expected == pytest.approx(mu - 0.5 * variance)  # stag: 3.2 - 0.5 * 2.56; hare: 3
