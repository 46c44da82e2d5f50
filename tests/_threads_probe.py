"""A run function for executor tests that imports only torch (spawned workers start fast)."""

import torch


def torch_threads(spec: int, device: str) -> dict:
    """``{"spec": spec, "threads": torch's thread count}`` where it runs."""
    return {"spec": spec, "threads": torch.get_num_threads()}
