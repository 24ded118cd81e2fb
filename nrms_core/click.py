"""The click score, defined once: what the reader's model makes of one candidate article.

For a candidate c from feed f whose title has the distinct content words W_c
(:func:`nrms_core.tokenizer.content_words`), the click score is

    ŷ_c = a · uᵀr_c + b_f + l_c,    l_c = Σ_{w ∈ W_c} v_w / √|W_c|

where uᵀr_c is NRMS's raw score (the user vector u against the news vector r_c), ``a`` the
fitted scale of it, ``b_f`` the fitted bias of the feed (0 without one) and l_c the title's
lexical bias: each content word's fitted bias v_w (0 for a word without one), all weighted
alike by :func:`word_weight`. ``a``, ``b`` and ``v`` are fitted after NRMS is trained
(:mod:`nrms_core.bias`).

Why one place: the score is computed wherever it is needed in the precision at hand (the
bias fit in float64 torch tensors, ranking in float32 numpy arrays, explanations in Python
floats), and each of them calls :func:`click_score`, so that they cannot drift apart.

This module needs neither torch nor numpy at run time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import torch

__all__ = ["click_score", "word_parts", "word_weight"]


def word_weight(count: int) -> float:
    """The weight of each of a title's ``count`` distinct content words in its lexical bias:
    1/√count (0 for none), so that a long title does not outweigh a short one."""
    return 1.0 / math.sqrt(count) if count > 0 else 0.0


def word_parts(biases: list[float]) -> list[float]:
    """Each content word's part of the lexical bias l = Σ v_w / √n of a title whose n distinct
    content words have the biases ``biases`` (0 for a word without one): its Shapley value
    over the title's words, which sum to l exactly (to rounding).

    Why not v_w / √n: the √n is shared. A word without a bias of its own still lowers l by
    diluting the others (erase it and the keyword's v counts for more), so the plain split
    credits it nothing where the score says otherwise, and a reader erasing it sees the score
    move. In closed form (the words beside j enter in a random order; the ones before it sum
    on average to k times their mean m_j = (Σv − v_j)/(n−1)),

        φ_j = A_n v_j + B_n m_j,   A_n = (1/n) Σ_{k=1..n} 1/√k,   B_n = 1/√n − A_n,

    so a word's own bias counts A_n ≥ 1/√n and it takes B_n ≤ 0 of its neighbours' mean.
    """
    n = len(biases)
    if n <= 1:
        return [float(v) for v in biases]
    total = math.fsum(biases)
    a = math.fsum(1.0 / math.sqrt(k) for k in range(1, n + 1)) / n
    b = 1.0 / math.sqrt(n) - a
    return [a * v + b * (total - v) / (n - 1) for v in biases]


@overload
def click_score(scale: float, raw: float, feed: float, lexical: float) -> float: ...


@overload
def click_score(
    scale: float | torch.Tensor,
    raw: torch.Tensor,
    feed: float | torch.Tensor,
    lexical: float | torch.Tensor,
) -> torch.Tensor: ...


@overload
def click_score(
    scale: float,
    raw: npt.NDArray[np.floating[Any]],
    feed: float | npt.NDArray[np.floating[Any]],
    lexical: float | npt.NDArray[np.floating[Any]],
) -> npt.NDArray[np.floating[Any]]: ...


def click_score(scale: Any, raw: Any, feed: Any, lexical: Any) -> Any:
    """The click score ``a · uᵀr + b_f + l`` (see the module docstring), term by term in the
    arguments' own type and precision, so every caller gets the numbers it always got.

    Args:
        scale: the fitted scale a ([] or a float).
        raw: the raw scores uᵀr ([N], [G, N], or a float).
        feed: each candidate's feed bias b_f (shaped like ``raw``, or one value for all).
        lexical: each candidate's lexical bias l (shaped like ``raw``, or one value for all).

    Returns:
        The click scores, shaped like ``raw``.
    """
    return scale * raw + feed + lexical
