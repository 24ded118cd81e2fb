"""The NRMS hyper-parameters, in one frozen dataclass that checkpoints carry, and the size of
the click-free warm start."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["WARM_EPOCHS", "WARM_SAMPLES", "NRMSConfig"]

WARM_EPOCHS = 1
WARM_SAMPLES = 1000
"""The click-free warm start's size: one pass over 1,000 pseudo-impressions. Three passes over
4,000 did worse at 100 clicks and took eleven times as long (``docs/benchmarks/config.md``)."""


@dataclass(frozen=True)
class NRMSConfig:
    """Architecture and training defaults of NRMS (Wu et al., EMNLP 2019).

    The news vector size is ``heads * head_dim`` (16 x 16 = 256).

    The fine-tuning defaults are set for one reader's few hundred clicks rather than the
    paper's millions: a round takes up to ``fine_tune_epochs`` at ``fine_tune_lr`` with
    ``patience``, since shorter, slower rounds barely left the warm start, then (``refit``)
    trains again on every click, the held-out latest ones included, for the epoch count the
    holdout chose.

    ``feed_bias``: after each fine-tuning round, fit the score's scale and a per-feed click
    bias (:mod:`nrms_core.bias`) with L2 weights ``bias_l2`` and ``scale_l2``. With the feed's
    click rate in its own term, source tokens start small (``source_std``): as a token alone
    the feed had to be large for topical feeds and small for general ones, where it drowned
    the words.

    ``word_bias``: the same fit also gives each content word of the sessions' titles a click
    bias (see :mod:`nrms_core.bias` for why), pulled to 0 by ``word_l2`` times a penalty that
    is quadratic near 0 and linear beyond ``word_linear`` (0: plain L2), so that a keyword the
    clicks keep confirming is not shrunk as hard.

    ``cross_fit``: how many folds the click-bias fit's uᵀr is cross-fitted over (each click
    scored by a model trained, as the round was, on the other folds' clicks; 0 or 1: scored
    by the round's own model, which has learned them). See
    :meth:`nrms_core.rounds.Rounds._cross_fitted_scores` for why.

    The measurements that chose these values (``bench/quality.py``) are in
    ``docs/benchmarks/config.md``.
    """

    embed_dim: int = 50
    heads: int = 16
    head_dim: int = 16
    query_dim: int = 200
    dropout: float = 0.2
    max_title: int = 30
    max_history: int = 50
    negatives: int = 4
    lr: float = 1e-3
    fine_tune_lr: float = 1e-3
    fine_tune_epochs: int = 30
    embed_lr_scale: float = 0.1
    freeze_pretrained: bool = False
    anchor_decay: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 5
    select_by_auc: bool = True
    keep_start: bool = True
    unk_std: float = 0.1
    source_std: float = 0.1
    center_glove: bool = True
    source_lr_scale: float = 10.0
    refit: bool = True
    feed_bias: bool = True
    bias_l2: float = 1.0
    scale_l2: float = 1.0
    word_bias: bool = True
    word_l2: float = 4.0
    word_linear: float = 0.25
    cross_fit: int = 2

    def __post_init__(self) -> None:
        ints = {
            "embed_dim": self.embed_dim,
            "heads": self.heads,
            "head_dim": self.head_dim,
            "query_dim": self.query_dim,
            "max_title": self.max_title,
            "max_history": self.max_history,
            "negatives": self.negatives,
            "fine_tune_epochs": self.fine_tune_epochs,
        }
        for name, value in ints.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NRMSConfig.{name} must be a positive integer, got {value!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int):
            raise ValueError("NRMSConfig.patience must be an integer")
        if self.patience < 0:
            raise ValueError("NRMSConfig.patience must be >= 0")
        if isinstance(self.cross_fit, bool) or not isinstance(self.cross_fit, int):
            raise ValueError("NRMSConfig.cross_fit must be an integer")
        if self.cross_fit < 0:
            raise ValueError("NRMSConfig.cross_fit must be >= 0")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"NRMSConfig.dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("lr", "fine_tune_lr"):
            if not float(getattr(self, name)) > 0.0:
                raise ValueError(f"NRMSConfig.{name} must be > 0")
        for name in (
            "word_linear",
            "embed_lr_scale",
            "anchor_decay",
            "weight_decay",
            "unk_std",
            "source_std",
            "source_lr_scale",
        ):
            if not float(getattr(self, name)) >= 0.0:
                raise ValueError(f"NRMSConfig.{name} must be >= 0")
        for name in ("bias_l2", "scale_l2", "word_l2"):
            if not float(getattr(self, name)) > 0.0:
                raise ValueError(f"NRMSConfig.{name} must be > 0")
        for name in (
            "freeze_pretrained",
            "select_by_auc",
            "keep_start",
            "center_glove",
            "refit",
            "feed_bias",
            "word_bias",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"NRMSConfig.{name} must be a bool")

    def bias_penalties(self) -> dict[str, float]:
        """The click-bias fit's penalties, as :func:`nrms_core.bias.fit_bias` takes them."""
        return {
            "l2": float(self.bias_l2),
            "scale_l2": float(self.scale_l2),
            "word_l2": float(self.word_l2),
            "word_linear": float(self.word_linear),
        }

    @property
    def news_dim(self) -> int:
        """Size D of news and user vectors."""
        return self.heads * self.head_dim

    def to_dict(self) -> dict[str, int | float | bool]:
        """Plain-data form, safe to store in a checkpoint."""
        return dict(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> NRMSConfig:
        """Rebuild from :meth:`to_dict` output; unknown or ill-typed fields raise ValueError."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        values: dict[str, int | float | bool] = {}
        if "center_glove" not in data:  # written before GloVe rows were centred
            values["center_glove"] = False
        if "word_linear" not in data:  # written when word biases had a plain L2 pull
            values["word_linear"] = 0.0
        for name, value in data.items():
            default = getattr(cls, name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"config field {name} must be a bool")
                values[name] = value
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"config field {name} must be an int")
                values[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"config field {name} must be a number")
                values[name] = float(value)
        return cls(**values)  # type: ignore[arg-type]
