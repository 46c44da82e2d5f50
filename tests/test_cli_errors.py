"""The command meets a mistake in its input with exit code 2 and one line naming it; a bug keeps its traceback."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from rewarddesign import cli

FROZEN = ["--env", "FrozenLake-v1"]


def error_line(capsys) -> str:
    """The one line the command wrote to stderr."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the command gets as far as training."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(cli, "train", refuse)


@pytest.fixture
def files(tmp_path):
    rewards = np.zeros((16, 4))
    np.savez(tmp_path / "ok.npz", a=rewards, b=rewards + 1)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "objects.npz", a=np.array([{"a": 1}], dtype=object), b=rewards)
    (tmp_path / "text.npz").write_text("not an archive")
    data = bytearray((tmp_path / "ok.npz").read_bytes())
    data[40:100] = bytes(b ^ 0xFF for b in data[40:100])  # inside the first member: a bad CRC
    (tmp_path / "corrupt.npz").write_bytes(bytes(data))
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_dir").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("name", "extra", "expected"),
    [
        ("missing.npz", [], "rewards file {path} does not exist"),
        ("a_dir", [], "rewards file {path} is a directory, not a file"),
        ("text.npz", [], "{path} is not an .npz archive"),
        ("objects.npy", [], "{path} is not an .npz archive"),
        ("objects.npz", [], "{path}: 'a' is not a numeric array"),
        ("corrupt.npz", [], "{path} is damaged"),
        ("ok.npz", ["--env", "NoSuchEnv-v0"], "--env 'NoSuchEnv-v0' is not a registered Gymnasium env id"),
        ("ok.npz", ["--env", "CartPole-v1"], "--env CartPole-v1 is not a tabular env"),
        ("ok.npz", ["--device", "gpu"], "--device: device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"),
        ("ok.npz", ["--heatmap", "a_file/d.png"], "--heatmap a_file/d.png: its directory a_file is a file"),
        ("ok.npz", ["--heatmap", "a_dir"], "--heatmap a_dir is a directory, not a file"),
        ("ok.npz", ["--metric", "cosine"], "metric must be epic, dard or starc-"),
        ("ok.npz", ["--metric", "starc-val-l7"], "metric must be one of"),
    ],
)
def test_distance_input_errors(files, monkeypatch, capsys, name, extra, expected):
    monkeypatch.chdir(files)
    args = ["distance", name, *FROZEN, *extra] if "--env" not in extra else ["distance", name, *extra]
    assert cli.main(args) == 2
    line = error_line(capsys)
    assert line.startswith("rewarddesign distance: error: ")
    assert expected.format(path=name) in line
    assert "allow_pickle" not in line and "weights_only" not in line  # never the unsafe advice


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_an_unreadable_rewards_file(files, capsys):
    path = files / "ok.npz"
    path.chmod(0)
    try:
        assert cli.main(["distance", str(path), *FROZEN]) == 2
    finally:
        path.chmod(0o644)
    assert "cannot be read" in error_line(capsys)


TRAIN = ["train", "--env", "CartPole-v1", "--timesteps", "64", "--no-progress", "--device", "cpu"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--eval-episodes", "0"], "--eval-episodes must be at least 1, got 0"),
        (["--timesteps", "0"], "--timesteps must be at least 1, got 0"),
        (["--n-envs", "-2"], "--n-envs must be at least 1, got -2"),
        (["--eval-freq", "-1"], "--eval-freq must be at least 0"),
        (["--env", "NoSuchEnv-v0"], "--env 'NoSuchEnv-v0' is not a registered Gymnasium env id"),
        (["--env", "nowhere/Thing-v0"], "--env 'nowhere/Thing-v0' is not a registered Gymnasium env id"),
        (["--device", "gpu"], "--device: device must be"),
        (["--device", "cuda:99"], "--device: device 'cuda:99'"),
        (["--algo-kwargs", "{n_steps: 1}"], "--algo-kwargs is not valid JSON"),
        (["--algo-kwargs", "[1]"], "--algo-kwargs must be a JSON object"),
        (["--shaping", "nope"], "unknown potential 'nope'"),
        (["--shaping", "maze_distance"], "--shaping maze_distance: maze_distance needs a GridMaze env"),
        (["--save", "a_file"], "--save a_file is a file, not a directory"),
        (["--save", "a_file/policy"], "--save a_file/policy cannot be made: a_file is a file, not a directory"),
        (["--log-dir", "a_file/logs/run"], "--log-dir a_file/logs/run cannot be made: a_file is a file"),
    ],
)
def test_train_input_errors_come_before_training(files, monkeypatch, capsys, no_training, extra, expected):
    monkeypatch.chdir(files)
    assert cli.main(TRAIN + extra) == 2
    line = error_line(capsys)
    assert line.startswith("rewarddesign train: error: ") and expected in line
    assert not (files / "a_dir" / "policy").exists()


def test_train_refuses_cuda_without_cuda_and_an_algorithm_that_does_not_fit(tmp_path, capsys):
    if not torch.cuda.is_available():
        assert cli.main(TRAIN + ["--device", "cuda"]) == 2
        assert "asks for CUDA, but torch finds no CUDA device" in error_line(capsys)
    # SAC acts in Box spaces only: refused before any step (no log directory is written)
    assert cli.main(TRAIN + ["--algo", "sac", "--log-dir", str(tmp_path / "logs")]) == 2
    assert "algo 'sac' needs a Box action space, but CartPole-v1 has Discrete(2)" in error_line(capsys)
    assert not (tmp_path / "logs").exists()
    assert cli.main(TRAIN + ["--algo-kwargs", '{"gamma": 0.5}']) == 2
    assert "algo_kwargs['gamma'] = 0.5 conflicts with gamma = 0.99" in error_line(capsys)


def test_offline_input_errors(files, monkeypatch, capsys):
    monkeypatch.chdir(files)
    cases = [
        (["offline", "evaluate", "missing"], "policy directory missing does not exist"),
        (["offline", "evaluate", "a_file"], "policy directory a_file is a file, not a directory"),
        (["offline", "evaluate", "a_dir"], "no saved offline policy in a_dir"),
        (["offline", "evaluate", "a_dir", "--episodes", "0"], "--episodes must be at least 1, got 0"),
        (["offline", "evaluate", "a_dir", "--device", "tpu"], "--device: device must be"),
        (["offline", "train", "x", "--out", "a_file/run"], "--out a_file/run cannot be made"),
        (["offline", "train", "x", "--out", "run", "--eval-episodes", "0"], "--eval-episodes must be at least 1"),
        (["offline", "generate", "--env", "NoSuchEnv-v0"], "--env 'NoSuchEnv-v0' is not a registered"),
    ]
    for args, expected in cases:
        assert cli.main(args) == 2, args
        line = error_line(capsys)
        assert line.startswith(f"rewarddesign offline {args[1]}: error: ") and expected in line, line


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("a bug inside the library")

    monkeypatch.setattr(cli, "train", broken)
    with pytest.raises(TypeError, match="a bug inside the library"):
        cli.main(TRAIN)


def test_the_console_command_exits_2_with_one_line(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = subprocess.run(
        [sys.executable, "-m", "rewarddesign.cli", "distance", str(tmp_path / "objects.npy"), *FROZEN],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"rewarddesign distance: error: {tmp_path / 'objects.npy'} is not an .npz archive (or its end is cut off): "
        "give named reward arrays saved with numpy.savez"
    ]


def test_a_reward_one_state_short_is_refused_not_padded(tmp_path, monkeypatch, capsys):
    """FrozenLake's goal is terminal in its own model (no absorbing state appended): 15 rewards is an error."""
    np.savez(tmp_path / "short.npz", a=np.zeros(15), b=np.ones(15))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["distance", "short.npz", *FROZEN]) == 2
    line = error_line(capsys)
    assert line.startswith("rewarddesign distance: error: a must have shape") and "got (15,)" in line, line
