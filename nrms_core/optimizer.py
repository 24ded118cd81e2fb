"""AdamW and L-BFGS as ``torch.optim`` computes them, without importing ``torch._dynamo``.

torch.optim's optimizers wrap ``add_param_group`` (so the constructor), ``zero_grad``,
``state_dict``, ``load_state_dict`` and Adam's ``step`` in guards for ``torch.compile``
that import ``torch._dynamo`` (and with it sympy) on first use: about 1-1.5 s and 110 MB
in every process that trains, on the first step of its first round. Heedful never compiles,
so :class:`AdamW` (the trainer's) and :class:`LBFGS` (for the click-bias fit) call the same
methods without those guards: the same state, the same kernels, the same ``state_dict``
format, so the weights they give are bit for bit torch's. Where a torch release no longer
exposes an unwrapped method (``__wrapped__``), the wrapped one is used, guard and all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from nrms_core.model import NRMS

__all__ = ["LBFGS", "AdamW", "adamw"]


def _bare(owner: type, name: str) -> Callable[..., Any]:
    """``owner.name`` without the decorators torch wraps around it (functools.wraps keeps the
    original as ``__wrapped__``), read from the class itself: the constructor of an optimizer
    replaces its class's ``step`` with a profiling wrapper."""
    method: Callable[..., Any] = inspect.unwrap(owner.__dict__[name])
    return method


_ADD_PARAM_GROUP = _bare(torch.optim.Optimizer, "add_param_group")
_ZERO_GRAD = _bare(torch.optim.Optimizer, "zero_grad")
_STATE_DICT = _bare(torch.optim.Optimizer, "state_dict")
_LOAD_STATE_DICT = _bare(torch.optim.Optimizer, "load_state_dict")
# AdamW's step: Adam's own since torch merged the two (AdamW a subclass of Adam with decoupled
# weight decay), AdamW's own step before; whichever class of its MRO defines it
_ADAMW_STEP = _bare(next(k for k in torch.optim.AdamW.__mro__ if "step" in vars(k)), "step")


def adamw(model: NRMS, lr: float, *, embed_lr: float, weight_decay: float) -> AdamW:
    """AdamW over ``model``'s trainable weights at ``lr``, with the word embeddings in a group
    of their own at ``embed_lr`` (a group left out when ``embed_lr`` is 0): the rate of a
    table of tens of thousands of rows, most of them GloVe's, is set apart from the rest."""
    embedding = model.embedding.weight
    others = [p for p in model.parameters() if p is not embedding and p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": others, "lr": lr}]
    if embed_lr > 0:
        groups.append({"params": [embedding], "lr": embed_lr})
    return AdamW(groups, lr=lr, weight_decay=weight_decay)


class _Unguarded(torch.optim.Optimizer):
    """The methods every optimizer here takes from ``torch.optim.Optimizer`` unguarded."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _ADD_PARAM_GROUP(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _ZERO_GRAD(self, set_to_none)


class AdamW(_Unguarded, torch.optim.AdamW):
    """``torch.optim.AdamW`` (same arguments, state and results) that never imports
    ``torch._dynamo``; not for use under ``torch.compile``."""

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = _STATE_DICT(self)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _LOAD_STATE_DICT(self, state_dict)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One step, under no_grad as torch's own step runs it (``differentiable`` is False)."""
        if self.defaults["differentiable"]:
            raise ValueError("a differentiable AdamW needs torch.optim.AdamW")
        loss: float | None = _ADAMW_STEP(self, closure)
        return loss


class LBFGS(_Unguarded, torch.optim.LBFGS):
    """``torch.optim.LBFGS`` (same arguments, state and results) that never imports
    ``torch._dynamo``: its ``step`` has no guard, only the constructor and ``zero_grad``."""
