"""The install in layers: the package list, the core without any extra, errors that name the extra, --version.

The wheel and the sdist themselves are built and installed into a clean virtualenv by ``make package``
(a CI step), not here.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rewarddesign
from rewarddesign import cli

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]

# The modules each extra installs (import names), hidden together to stand for a core-only install.
EXTRA_MODULES = {
    "control": ["mujoco", "dm_control", "shimmy"],
    "gambit": ["pygambit"],
    "offline": ["minari", "torchrl", "tensordict"],
    "ray": ["ray"],
    "multiobjective": ["mo_gymnasium"],
}


def test_every_package_directory_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {"rewarddesign"} | {
        "rewarddesign." + ".".join(path.parent.relative_to(ROOT / "rewarddesign").parts)
        for path in (ROOT / "rewarddesign").rglob("__init__.py")
        if path.parent != ROOT / "rewarddesign" and "envs" not in path.parent.relative_to(ROOT / "rewarddesign").parts
    }
    found |= {"rewarddesign.envs"} | {
        "rewarddesign.envs." + ".".join(path.parent.relative_to(ROOT / "envs").parts)
        for path in (ROOT / "envs").rglob("__init__.py")
        if path.parent != ROOT / "envs"
    }
    assert found - listed == set(), "packages missing from [tool.setuptools] packages"
    assert listed - found == set(), "listed packages that do not exist"


def test_extras_cover_what_the_docs_and_errors_name():
    assert {"control", "games", "gambit", "offline", "ray", "multiobjective", "docs", "dev", "all"} <= set(EXTRAS)
    # every "pip install 'rewarddesign[X]'" in the package's messages names an extra that exists
    named = set()
    for path in [*(ROOT / "rewarddesign").rglob("*.py"), *(ROOT / "envs").rglob("*.py")]:
        named |= set(re.findall(r"rewarddesign\[([a-z-]+)\]", path.read_text()))
    assert named and named <= set(EXTRAS), named - set(EXTRAS)
    # all is every feature extra; gambit (compiled) stays out of it
    (all_extra,) = EXTRAS["all"]
    in_all = set(re.fullmatch(r"rewarddesign\[([a-z,-]+)\]", all_extra).group(1).split(","))  # pyright: ignore[reportOptionalMemberAccess]
    assert in_all == set(EXTRAS) - {"all", "gambit", "docs", "dev"}
    # no default path compiles: the core does not depend on Gambit, and mujoco is not pinned exactly
    assert not any("gambit" in dep for dep in PYPROJECT["project"]["dependencies"])
    assert not any(re.match(r"mujoco\s*==", dep) for deps in EXTRAS.values() for dep in deps)


def test_every_module_imports_without_the_extras():
    hidden = [name for names in EXTRA_MODULES.values() for name in names]
    code = (
        "import sys, importlib, pkgutil\n"
        f"for name in {hidden!r}:\n"
        "    sys.modules[name] = None\n"
        "import rewarddesign\n"
        "names = [m.name for m in pkgutil.walk_packages(rewarddesign.__path__, 'rewarddesign.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) > 50


@pytest.fixture
def hide(monkeypatch):
    """Make the modules of an extra unimportable, as in an install without that extra."""

    def hide_extra(extra: str) -> None:
        for name in EXTRA_MODULES[extra]:
            monkeypatch.setitem(sys.modules, name, None)

    return hide_extra


def _offline_datasets():
    from rewarddesign.offline.storage import import_minari

    import_minari()


def _iql():
    from rewarddesign.offline.baselines import IQL

    IQL(None)  # pyright: ignore[reportArgumentType]  # torchrl is imported before anything is read


def _ray_executor():
    from rewarddesign.bench.executors import RayExecutor

    RayExecutor()


def _gambit():
    from rewarddesign.games import nash_equilibria, stag_hunt

    nash_equilibria(stag_hunt(), backend="gambit")


def _mo_gymnasium():
    from rewarddesign.multiobjective import require_mo_gymnasium

    require_mo_gymnasium()


def _dm_control():
    from rewarddesign.train import register_dm_control

    register_dm_control()


@pytest.mark.parametrize(
    ("extra", "use"),
    [
        ("offline", _offline_datasets),
        ("offline", _iql),
        ("ray", _ray_executor),
        ("gambit", _gambit),
        ("multiobjective", _mo_gymnasium),
        ("control", _dm_control),
    ],
    ids=["minari", "torchrl", "ray", "gambit", "mo-gymnasium", "dm-control"],
)
def test_a_missing_extra_is_named(hide, extra, use):
    hide(extra)
    with pytest.raises(ImportError, match=re.escape(f"pip install 'rewarddesign[{extra}]'")):
        use()


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"rewarddesign {rewarddesign.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", rewarddesign.__version__)
