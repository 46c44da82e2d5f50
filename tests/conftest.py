import os

os.environ.setdefault("MUJOCO_GL", "egl")
if "PYTEST_XDIST_WORKER" in os.environ:  # pytest -n N: N processes share the cores, one thread each
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("default", max_examples=40, deadline=None)
settings.load_profile("default")


@pytest.fixture(autouse=True, scope="session")
def _sb3_logs_under_pytest_tmp(tmp_path_factory):
    """SB3 makes a fresh ``SB3-<time>`` folder in the system temp dir for every model without a logger;
    keep them under pytest's own temp dir, which pytest prunes."""
    patch = pytest.MonkeyPatch()
    patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3-logs")))
    yield
    patch.undo()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
