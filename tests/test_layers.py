"""The layers hold: importing the package does not import the task catalogue, yet its env ids make."""

import subprocess
import sys
import textwrap

import gymnasium as gym
import pytest

from rewarddesign._registration import ENTRY_POINTS


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_importing_the_package_and_train_leaves_the_task_catalogue_alone():
    result = run_python(
        """
        import sys
        import rewarddesign, rewarddesign.train
        loaded = sorted(m for m in sys.modules if m.startswith("rewarddesign.envs"))
        assert not loaded, loaded
        """
    )
    assert result.returncode == 0, result.stderr


def test_the_methods_import_without_the_task_catalogue():
    result = run_python(
        """
        import sys
        import rewarddesign.factors, rewarddesign.preferences, rewarddesign.shaping, rewarddesign.distances
        loaded = sorted(m for m in sys.modules if m.startswith("rewarddesign.envs"))
        assert not loaded, loaded
        """
    )
    assert result.returncode == 0, result.stderr


def test_every_env_id_makes_after_importing_the_package_alone():
    ids = [env_id for env_id in ENTRY_POINTS if env_id != "rewarddesign/AntCoverage-v0"]  # MuJoCo: below
    result = run_python(
        f"""
        import gymnasium as gym
        import rewarddesign
        for env_id in {ids!r}:
            env = gym.make(env_id)
            env.reset(seed=0)
            env.step(env.action_space.sample())
            env.close()
        """
    )
    assert result.returncode == 0, result.stderr


def test_the_mujoco_coverage_task_makes_by_its_id():
    env = gym.make("rewarddesign/AntCoverage-v0")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()


def test_the_catalogue_names_load_on_first_access():
    import rewarddesign.envs as envs

    assert envs.GridMaze.__module__ == "rewarddesign.envs.grid_maze"
    assert callable(envs.with_reward_factors) and "Pendulum-v1" in envs.REWARD_FACTORS
    assert set(envs.__all__) <= set(dir(envs))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        envs.Nope  # noqa: B018


def test_the_import_contract_holds():
    """``make layers``: the import-linter contract of pyproject.toml, envs/ in the graph as rewarddesign.envs."""
    from pathlib import Path

    pytest.importorskip("importlinter")
    root = Path(__file__).resolve().parents[1]
    assert (root / "rewarddesign" / "envs" / "__init__.py").exists(), "the link rewarddesign/envs -> ../envs is missing"
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("lint-imports is not installed beside this Python")
    result = subprocess.run(
        [str(lint), "--no-cache", "--no-logo"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
