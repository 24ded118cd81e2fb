"""Choice of the torch device: CUDA when available, else CPU, overridable."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]

_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(choice: str | None = None) -> torch.device:
    """Map ``"auto" | "cpu" | "cuda"`` (or ``"cuda:N"``; None = auto) to a torch device.

    Raises ValueError for an unknown choice and RuntimeError when CUDA is
    asked for but not available.
    """
    name = (choice or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA device is available")
        return torch.device(name)
    raise ValueError(f"unknown device {choice!r}; expected one of {', '.join(_CHOICES)}")
