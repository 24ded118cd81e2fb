"""A training run's own rows of the word-embedding table (issue 19).

A reader's model carries the vocabulary of every article in the profile (50,000 words and
more at 100,000 articles), but one round's samples use a few thousand of them. Every
training step still touched the whole table [V, E]: the dense gradient, the trainable-rows
mask, the pull toward the starting weights, the slow rows' rescaling and AdamW's update,
about a third of a step's time at 60,000 rows. A row no title of the run uses gets no
gradient from the loss and, starting at its anchor, none from the pull either, so AdamW
(without weight decay) never moves it: training a table of the used rows alone and writing
them back gives the same weights, at a cost that follows the round's samples rather than the
profile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import torch
from torch import nn

from nrms_core.model import NRMS
from nrms_core.vocab import PAD

__all__ = ["UsedRows"]


class UsedRows:
    """The embedding rows that ``titles`` (article id -> token ids) use, PAD first.

    :meth:`shrink` swaps the model's table [V, E] for a table of those rows [U, E] (and
    ``titles`` for the same titles in the new rows' numbering); :meth:`grow` writes the rows
    back into the whole table and puts it back. Between the two, masks over the vocabulary
    are taken through :meth:`mask`.
    """

    def __init__(self, model: NRMS, titles: Mapping[int, Sequence[int]]) -> None:
        rows = sorted({PAD, *(t for ids in titles.values() for t in ids)})
        index = {row: i for i, row in enumerate(rows)}  # PAD stays row 0, the padding row
        self.model = model
        self.rows = torch.tensor(rows, dtype=torch.long, device=model.embedding.weight.device)
        self.titles = {a: [index[t] for t in ids] for a, ids in titles.items()}
        self._full: nn.Parameter | None = None

    def shrink(self, used: nn.Parameter | None = None) -> None:
        """Train the used rows [U, E] alone from now on (``used``: that table, as it was)."""
        table = self.model.embedding
        full = self._full = cast(nn.Parameter, table.weight)  # put back as it was, in grow
        if used is None:
            used = nn.Parameter(full.detach()[self.rows].clone(), requires_grad=full.requires_grad)
        table.weight = used
        table.num_embeddings = len(self.rows)

    def grow(self) -> None:
        """Write the used rows back into the whole table [V, E] and put it back."""
        if self._full is None:
            return
        table = self.model.embedding
        with torch.no_grad():
            self._full[self.rows] = table.weight.detach()
        table.weight = self._full
        table.num_embeddings = int(self._full.shape[0])
        self._full = None

    def mask(self, rows: torch.Tensor | None) -> torch.Tensor | None:
        """A mask over the vocabulary [V] as a mask over the used rows [U] (None stays)."""
        return None if rows is None else rows[self.rows.to(rows.device)]

    def around(self, call: Callable[[], None]) -> Callable[[], None]:
        """``call`` made with the whole table in place (it may encode any title), then the
        same table of used rows back (the same parameter: its hooks stay)."""

        def grown() -> None:
            used = cast(nn.Parameter, self.model.embedding.weight)
            self.grow()
            try:
                call()
            finally:
                self.shrink(used)

        return grown
