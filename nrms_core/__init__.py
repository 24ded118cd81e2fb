"""NRMS news recommendation for one reader, and the public surface the application uses.

The application imports nrms_core only through the names below (an import contract in
pyproject.toml holds it to that); the submodules are nrms_core's own and may change.

Each name loads its submodule on first use (PEP 562), so importing nrms_core costs nothing,
and a process that only tokenises titles or adds up click scores never loads torch. Those
that need torch: :class:`Recommender`, :class:`CheckpointError`, :func:`resolve_device`,
:class:`Progress` and :func:`holdout_split`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nrms_core.baseline import TfidfLogistic, document
    from nrms_core.budget import bounded
    from nrms_core.calibration import Priors
    from nrms_core.checkpoint import CheckpointError
    from nrms_core.click import click_score
    from nrms_core.device import resolve_device
    from nrms_core.metrics import auc
    from nrms_core.prior import PriorFit
    from nrms_core.recommender import Recommender
    from nrms_core.sampling import Click, Exposure, Sample, build_groups, build_samples
    from nrms_core.tokenizer import content_words, source_token
    from nrms_core.tokenizer import forget as forget_titles
    from nrms_core.trainer import Progress, holdout_split

__all__ = [
    "CheckpointError",
    "Click",
    "Exposure",
    "PriorFit",
    "Priors",
    "Progress",
    "Recommender",
    "Sample",
    "TfidfLogistic",
    "auc",
    "bounded",
    "build_groups",
    "build_samples",
    "click_score",
    "content_words",
    "document",
    "forget_titles",
    "holdout_split",
    "resolve_device",
    "source_token",
]

_HOME: dict[str, tuple[str, str]] = {
    "CheckpointError": ("checkpoint", "CheckpointError"),
    "Click": ("sampling", "Click"),
    "Exposure": ("sampling", "Exposure"),
    "PriorFit": ("prior", "PriorFit"),
    "Priors": ("calibration", "Priors"),
    "Progress": ("trainer", "Progress"),
    "Recommender": ("recommender", "Recommender"),
    "Sample": ("sampling", "Sample"),
    "TfidfLogistic": ("baseline", "TfidfLogistic"),
    "auc": ("metrics", "auc"),
    "bounded": ("budget", "bounded"),
    "build_groups": ("sampling", "build_groups"),
    "build_samples": ("sampling", "build_samples"),
    "click_score": ("click", "click_score"),
    "content_words": ("tokenizer", "content_words"),
    "document": ("baseline", "document"),
    "forget_titles": ("tokenizer", "forget"),
    "holdout_split": ("trainer", "holdout_split"),
    "resolve_device": ("device", "resolve_device"),
    "source_token": ("tokenizer", "source_token"),
}
"""Each public name's submodule and its name there."""


def __getattr__(name: str) -> object:
    """Load a public name from its submodule on first use, and keep it here."""
    try:
        module, attribute = _HOME[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value: object = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
