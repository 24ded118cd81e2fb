"""``python -m nrms_core.evaluate``: the name the MIND evaluation had before it moved to
:mod:`nrms_core.mind.evaluate`, kept so that scripts and notes that call it still work."""

from __future__ import annotations

import sys

from nrms_core.mind.evaluate import format_table, main, run
from nrms_core.mind.protocol import (
    EvalData,
    EvalError,
    Options,
    evaluate_baselines,
    evaluate_nrms,
    load_data,
)
from nrms_core.mind.protocol import behavior_samples as build_samples

__all__ = [
    "EvalData",
    "EvalError",
    "Options",
    "build_samples",
    "evaluate_baselines",
    "evaluate_nrms",
    "format_table",
    "load_data",
    "main",
    "run",
]

if __name__ == "__main__":
    sys.exit(main())
