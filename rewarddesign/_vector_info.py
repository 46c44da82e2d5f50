"""Per-env views of a Gymnasium vector env's batched ``info``, shared by the rollouts and the reward wrappers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["info_row"]


def info_row(info: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s info from a Gymnasium vector env's batched info (arrays with ``"_key"`` masks).

    A key whose mask ``info["_key"]`` is unset for env ``i`` is left out; nested dicts (such as
    ``info["final_info"]``) are read the same way.

    Example:
        >>> import numpy as np
        >>> info_row({"x": np.array([1, 2]), "_x": np.array([False, True])}, 1) == {"x": 2}
        True
        >>> info_row({"x": np.array([1, 2]), "_x": np.array([False, True])}, 0)
        {}
    """
    row: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get("_" + key)
        if mask is not None and not mask[i]:
            continue
        row[key] = info_row(value, i) if isinstance(value, Mapping) else value[i]
    return row
