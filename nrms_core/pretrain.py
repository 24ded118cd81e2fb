"""``python -m nrms_core.pretrain`` (and ``torchrun ... -m nrms_core.pretrain``): the name
the MIND pretraining had before it moved to :mod:`nrms_core.mind.pretrain`, kept so that
launch scripts that call it still work."""

from __future__ import annotations

import sys

from nrms_core.mind.pretrain import main, pretrain

__all__ = ["main", "pretrain"]

if __name__ == "__main__":
    sys.exit(main())
