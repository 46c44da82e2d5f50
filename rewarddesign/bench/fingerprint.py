"""Fingerprints of what a run computes: its settings and the source code of its definition.

A run's result depends on its settings (parameters, seed, budget) and on the code that defines it
(the run function, the reward design it builds, the configuration it reads). A fingerprint hashes
both, so a results directory never mixes runs of a changed design with runs of the old one.
:func:`source_digest` hashes the source of functions, classes or modules with docstrings,
comments and formatting removed (editing those keeps the fingerprint); :func:`resolve` loads a
``"module:function"`` or ``"path/to/file.py:function"`` name, the form in which a run names its
function so that spawned processes and Ray workers can load it.

Example:
    >>> resolve("rewarddesign.bench.stats:iqm").__name__
    'iqm'
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["resolve", "qualified_name", "source_digest", "settings_digest"]


def resolve(name: str) -> Any:
    """The object named ``"module:attribute"`` or ``"path/to/file.py:attribute"`` (dots in the attribute
    walk into classes).

    Raises:
        ValueError: ``name`` is not of that form, or names nothing.
    """
    if not isinstance(name, str) or name.count(":") != 1:
        raise ValueError(f'a run function is named "module:function" or "file.py:function", got {name!r}')
    module_name, attribute = name.split(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            key = f"_bench_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}_{path.stem}"
            module = sys.modules.get(key)
            if module is None:
                spec = importlib.util.spec_from_file_location(key, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {path}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[key] = module
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
        target: Any = module
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, OSError) as error:
        raise ValueError(f"cannot load {name!r}: {error}") from error
    return target


def qualified_name(function: Callable[..., Any] | str) -> str:
    """The ``"module:function"`` name of ``function`` (``"file.py:function"`` for a script run as
    ``__main__``), or ``function`` itself when it is a name already (checked by :func:`resolve`).

    Raises:
        ValueError: A lambda or nested function (spawned processes cannot load it), or a name that
            names nothing.
    """
    if isinstance(function, str):
        resolve(function)
        return function
    qualname = getattr(function, "__qualname__", "")
    if not callable(function) or "<" in qualname:
        raise ValueError(f"a run function must be a module-level function, got {function!r}")
    module = function.__module__
    if module == "__main__" or module.startswith("_bench_"):
        file = inspect.getsourcefile(function)
        if file is None:
            raise ValueError(f"cannot find the file that defines {function!r}")
        return f"{file}:{qualname}"
    return f"{module}:{qualname}"


def _strip(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return tree


def _source(obj: Any) -> str:
    if isinstance(obj, str):
        obj = resolve(obj)
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError):  # a builtin or an object without source: its representation
        return repr(obj)
    try:
        text = ast.dump(_strip(ast.parse(source)))
    except SyntaxError:
        text = source
    closure = getattr(obj, "__closure__", None) or ()
    values = [cell.cell_contents for cell in closure]  # a factory's settings (``learn=True``, say)
    simple = [v for v in values if isinstance(v, (bool, int, float, str, tuple, type(None)))]
    return text + (repr(simple) if simple else "")


def source_digest(*objects: Any) -> str:
    """A short hash of the source of ``objects`` (functions, classes, modules, or their
    ``"module:name"`` names), docstrings, comments and formatting left out.

    Objects without source (builtins, instances) count by their ``repr``.
    """
    digest = hashlib.sha256()
    for obj in objects:
        digest.update(_source(obj).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def settings_digest(settings: Any) -> str:
    """A short hash of JSON-able settings (keys sorted; other values by their ``str``)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]
