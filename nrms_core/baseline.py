"""Per-reader baselines that any learned ranker must beat.

All rankers share one shape: ``fit`` on a reader's training impressions (in time
order, each a list of documents with 0/1 click labels), then ``score`` the
candidates of one impression given the reader's history. A document is a tuple
of tokens; :func:`document` makes one from a title (and, when known, its
category, which becomes one extra token, so the lexical baselines see the same
free feed label that the model's warm start uses).

- :class:`Recency`: newer first (by the times given to ``score``), all-equal
  scores otherwise, which gives AUC 0.5.
- :class:`TfidfCentroid`: cosine between a candidate's TF-IDF vector and the
  mean TF-IDF vector of the clicked titles (the history when given).
- :class:`TfidfLogistic`: L2-regularised logistic regression on TF-IDF of clicked
  versus shown-and-skipped titles, fitted by truncated Newton (conjugate
  gradient on exact Hessian-vector products), with C picked on the reader's
  latest impressions.
- :class:`ClickBias`: the feed and word biases of NRMS's click score
  (:mod:`nrms_core.bias`) without NRMS, fitted the same way: what the model's
  own lexical terms rank alone, so that a benchmark can show what NRMS adds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from nrms_core.bias import BiasFit, Group, click_scores, fit_bias
from nrms_core.config import NRMSConfig
from nrms_core.metrics import auc
from nrms_core.tokenizer import stopwords, tokenize

__all__ = [
    "Baseline",
    "ClickBias",
    "Doc",
    "Recency",
    "TfidfCentroid",
    "TfidfLogistic",
    "document",
    "stopwords",
]

_LOG = logging.getLogger(__name__)

Doc = tuple[str, ...]
FloatArray = npt.NDArray[np.float64]
Impression = tuple[Sequence[Doc], Sequence[int]]


CATEGORY_PREFIX = "category="


def document(title: str, category: str = "") -> Doc:
    """Content tokens of a title (lower-case, no stopwords), plus ``category=...`` if given."""
    stop = stopwords()
    words = [t for t in tokenize(title, max_tokens=64) if t not in stop]
    if category:
        words.append(CATEGORY_PREFIX + category.strip().lower())
    return tuple(words)


class Baseline(Protocol):
    """What every baseline offers."""

    name: str

    def fit(self, impressions: Sequence[Impression]) -> None:
        """Learn from one reader's impressions, oldest first."""

    def score(
        self,
        history: Sequence[Doc],
        candidates: Sequence[Doc],
        times: Sequence[float] | None = None,
    ) -> FloatArray:
        """Scores [N] for the candidates of one impression, higher = more likely clicked."""
        ...


class Recency:
    """Newer first: the score is the candidate's time (larger = newer), 0 when unknown."""

    name = "Recency"

    def fit(self, impressions: Sequence[Impression]) -> None:
        """Nothing to learn."""

    def score(
        self,
        history: Sequence[Doc],
        candidates: Sequence[Doc],
        times: Sequence[float] | None = None,
    ) -> FloatArray:
        """``times`` [N] as scores, zeros [N] without them."""
        if times is None:
            return np.zeros(len(candidates))
        if len(times) != len(candidates):
            raise ValueError("one time per candidate expected")
        return np.asarray(times, dtype=np.float64)


class _Csr:
    """Rows of a sparse matrix (CSR arrays) with the two products logistic regression needs."""

    def __init__(
        self,
        indptr: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        data: FloatArray,
        d: int,
    ) -> None:
        self.indptr, self.indices, self.data, self.d = indptr, indices, data, d
        self.n = len(indptr) - 1
        self.rows = np.repeat(np.arange(self.n), np.diff(indptr))

    def dot(self, w: FloatArray) -> FloatArray:
        """X w: [n]."""
        out: FloatArray = np.bincount(
            self.rows, weights=self.data * w[self.indices], minlength=self.n
        ).astype(np.float64)
        return out

    def tdot(self, v: FloatArray) -> FloatArray:
        """X^T v: [d]."""
        out: FloatArray = np.bincount(
            self.indices, weights=self.data * v[self.rows], minlength=self.d
        ).astype(np.float64)
        return out

    def take(self, rows: npt.NDArray[np.int64]) -> _Csr:
        """The given rows as a new matrix."""
        starts, stops = self.indptr[rows], self.indptr[rows + 1]
        parts = [np.arange(a, b, dtype=np.int64) for a, b in zip(starts, stops, strict=True)]
        idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(stops - starts)]).astype(np.int64)
        return _Csr(indptr, self.indices[idx], self.data[idx], self.d)


class _Tfidf:
    """Sublinear-tf, smoothed-idf TF-IDF with L2-normalised rows; unknown tokens are ignored."""

    def __init__(self, docs: Iterable[Doc]) -> None:
        df: dict[str, int] = {}
        n = 0
        for doc in docs:
            n += 1
            for token in set(doc):
                df[token] = df.get(token, 0) + 1
        self.index = {token: i for i, token in enumerate(sorted(df))}
        counts = np.array([df[t] for t in sorted(df)], dtype=np.float64)
        self.idf = np.log((1.0 + n) / (1.0 + counts)) + 1.0

    @property
    def dim(self) -> int:
        return len(self.index)

    def transform(self, docs: Sequence[Doc]) -> _Csr:
        """TF-IDF rows [len(docs), dim]."""
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for doc in docs:
            tf: dict[int, int] = {}
            for token in doc:
                j = self.index.get(token)
                if j is not None:
                    tf[j] = tf.get(j, 0) + 1
            cols = sorted(tf)
            vals = [(1.0 + math.log(tf[j])) * float(self.idf[j]) for j in cols]
            norm = math.sqrt(sum(v * v for v in vals)) or 1.0
            indices.extend(cols)
            data.extend(v / norm for v in vals)
            indptr.append(len(indices))
        return _Csr(
            np.asarray(indptr, dtype=np.int64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(data, dtype=np.float64),
            self.dim,
        )

    def dense(self, docs: Sequence[Doc]) -> FloatArray:
        """TF-IDF rows as a dense [len(docs), dim] array (for small inputs)."""
        m = self.transform(docs)
        out = np.zeros((m.n, m.d))
        out[m.rows, m.indices] = m.data
        return out


class TfidfCentroid:
    """Cosine to the mean TF-IDF vector of the reader's clicked titles."""

    name = "TfidfCentroid"

    def __init__(self) -> None:
        self._tfidf = _Tfidf([])
        self._clicked: list[Doc] = []

    def fit(self, impressions: Sequence[Impression]) -> None:
        """IDF from every shown title; the clicked ones are the default profile."""
        docs = [doc for shown, _ in impressions for doc in shown]
        self._tfidf = _Tfidf(docs)
        self._clicked = [
            doc for shown, labels in impressions for doc, y in zip(shown, labels, strict=True) if y
        ]

    def score(
        self,
        history: Sequence[Doc],
        candidates: Sequence[Doc],
        times: Sequence[float] | None = None,
    ) -> FloatArray:
        """Cosines [N] to the centroid of ``history`` (the fitted clicks when it is empty)."""
        profile_docs = list(history) or self._clicked
        if not profile_docs or self._tfidf.dim == 0:
            return np.zeros(len(candidates))
        centroid = self._tfidf.dense(profile_docs).mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm == 0.0:
            return np.zeros(len(candidates))
        return self._tfidf.transform(candidates).dot(centroid / norm)


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


class TfidfLogistic:
    """L2-regularised logistic regression on TF-IDF, clicked vs. shown-and-skipped.

    The objective is ``0.5 * |w|^2 + C * sum_i weight_i * log(1 + exp(-y_i (x_i.w + b)))``
    with classes weighted to equal total weight. It is minimised by truncated Newton
    steps with a backtracking line search. ``C`` is chosen from ``grid`` on the last
    ``holdout`` share of impressions (by mean impression AUC) when at least
    ``min_holdout`` of them have both classes; otherwise ``default_c`` is used.
    """

    name = "TfidfLogistic"

    def __init__(
        self,
        grid: Sequence[float] = (0.3, 1.0, 3.0, 10.0, 30.0),
        default_c: float = 3.0,
        holdout: float = 0.2,
        min_holdout: int = 5,
    ) -> None:
        self.grid = tuple(grid)
        self.default_c = default_c
        self.holdout = holdout
        self.min_holdout = min_holdout
        self.c = default_c
        self._tfidf = _Tfidf([])
        self._w = np.zeros(0)
        self._b = 0.0

    def fit(self, impressions: Sequence[Impression]) -> None:
        """Pick C on the latest impressions, then refit on all of them."""
        usable = [imp for imp in impressions if len(imp[0])]
        split = len(usable) - max(1, round(self.holdout * len(usable)))
        inner, held = usable[:split], usable[split:]
        checkable = [(s, y) for s, y in held if 0 < sum(y) < len(y)]
        self.c = self.default_c
        if len(checkable) >= self.min_holdout and any(sum(y) for _, y in inner):
            best = -1.0
            for c in self.grid:
                self._fit(inner, c)
                value = float(np.mean([auc(y, self.score([], s)) for s, y in checkable]))
                _LOG.debug("C=%g holdout AUC %.4f", c, value)
                if value > best + 1e-9:
                    best, self.c = value, c
        self._fit(usable, self.c)

    def _fit(self, impressions: Sequence[Impression], c: float) -> None:
        docs = [doc for shown, _ in impressions for doc in shown]
        labels = np.array([y for _, ys in impressions for y in ys], dtype=np.float64)
        self._tfidf = _Tfidf(docs)
        self._w = np.zeros(self._tfidf.dim)
        self._b = 0.0
        n_pos = float((labels > 0).sum())
        if n_pos == 0 or n_pos == len(labels):
            self._b = 0.0
            return
        x = self._tfidf.transform(docs)
        y = np.where(labels > 0, 1.0, -1.0)
        weight = np.where(
            labels > 0, len(labels) / (2 * n_pos), len(labels) / (2 * (len(labels) - n_pos))
        )
        self._w, self._b = _newton(x, y, weight * c)

    def score(
        self,
        history: Sequence[Doc],
        candidates: Sequence[Doc],
        times: Sequence[float] | None = None,
    ) -> FloatArray:
        """Decision values [N] (log-odds of a click)."""
        if not candidates:
            return np.zeros(0)
        return self._tfidf.transform(candidates).dot(self._w) + self._b


def _newton(
    x: _Csr, y: FloatArray, cw: FloatArray, iterations: int = 30, cg_steps: int = 50
) -> tuple[FloatArray, float]:
    """Minimise 0.5|w|^2 + 1e-6 b^2/2 + sum_i cw_i log(1 + exp(-y_i (x_i w + b))).

    Returns (w [d], b). Truncated Newton: each step solves H p = -g approximately by
    conjugate gradient using Hessian-vector products, then backtracks on the objective.
    """
    d = x.d
    theta = np.zeros(d + 1)  # w then b
    eps_b = 1e-6

    def margins(t: FloatArray) -> FloatArray:
        out: FloatArray = y * (x.dot(t[:d]) + t[d])
        return out

    def objective(t: FloatArray) -> float:
        m = margins(t)
        return float(
            0.5 * t[:d] @ t[:d] + 0.5 * eps_b * t[d] ** 2 + (cw * np.logaddexp(0.0, -m)).sum()
        )

    g0_norm = None
    for _ in range(iterations):
        m = margins(theta)
        sig = _sigmoid(m)
        coef = cw * (sig - 1.0) * y
        grad = np.concatenate([theta[:d] + x.tdot(coef), [eps_b * theta[d] + coef.sum()]])
        g_norm = float(np.linalg.norm(grad))
        g0_norm = g0_norm or g_norm
        if g_norm <= 1e-5 * g0_norm or g_norm < 1e-10:
            break
        curv = cw * sig * (1.0 - sig)

        def hess(v: FloatArray, curv: FloatArray = curv) -> FloatArray:
            xv = curv * (x.dot(v[:d]) + v[d])
            return np.concatenate([v[:d] + x.tdot(xv), [eps_b * v[d] + xv.sum()]])

        step = np.zeros(d + 1)
        r = -grad
        p = r.copy()
        rr = float(r @ r)
        for _ in range(cg_steps):
            hp = hess(p)
            alpha = rr / float(p @ hp)
            step += alpha * p
            r -= alpha * hp
            rr_new = float(r @ r)
            if math.sqrt(rr_new) <= 0.1 * g_norm:
                break
            p = r + (rr_new / rr) * p
            rr = rr_new
        f0 = objective(theta)
        slope = float(grad @ step)
        t = 1.0
        while objective(theta + t * step) > f0 + 1e-4 * t * slope and t > 1e-8:
            t *= 0.5
        theta = theta + t * step
    return theta[:d], float(theta[d])


class ClickBias:
    """The click score of :mod:`nrms_core.bias` with ``a = 0``: a bias per feed (the document's
    ``category=`` token) plus per-word biases over its distinct other tokens, each weighted
    1/√(their number), fitted on each click against everything skipped beside it with the
    penalties of :class:`NRMSConfig`, and scored by the same formula (:func:`click_scores`)."""

    name = "ClickBias"

    def __init__(self, config: NRMSConfig | None = None) -> None:
        self.config = config or NRMSConfig()
        self._feed_of: dict[str, int] = {}
        self._word_of: dict[str, int] = {}
        self._fit = BiasFit(0.0, np.zeros(0), float("nan"), 0, np.zeros(0))

    def _group(self, docs: Sequence[Doc], *, grow: bool) -> Group:
        """The documents as one fit group (zero model scores); ``grow`` gives unseen feeds and
        words an index, else they are -1 (a word still counts in its title's weight)."""

        def index(table: dict[str, int], key: str) -> int:
            return table.setdefault(key, len(table)) if grow else table.get(key, -1)

        feeds: list[int] = []
        words: list[npt.NDArray[np.int64]] = []
        for doc in docs:
            found = [t for t in doc if t.startswith(CATEGORY_PREFIX)]
            feeds.append(index(self._feed_of, found[0]) if found else -1)
            distinct = dict.fromkeys(t for t in doc if not t.startswith(CATEGORY_PREFIX))
            words.append(np.asarray([index(self._word_of, w) for w in distinct], np.int64))
        return Group(np.zeros(len(docs)), np.asarray(feeds, np.int64), tuple(words))

    def fit(self, impressions: Sequence[Impression]) -> None:
        """One group per click: the clicked document, then the impression's skipped ones."""
        self._feed_of, self._word_of = {}, {}
        groups = []
        for shown, labels in impressions:
            skipped = [d for d, y in zip(shown, labels, strict=True) if not y]
            for doc in (d for d, y in zip(shown, labels, strict=True) if y):
                groups.append(self._group([doc, *skipped], grow=True))
        self._fit = fit_bias(
            groups,
            len(self._feed_of),
            len(self._word_of),
            prior=None,
            word_prior=None,
            **self.config.bias_penalties(),
        )

    def score(
        self,
        history: Sequence[Doc],
        candidates: Sequence[Doc],
        times: Sequence[float] | None = None,
    ) -> FloatArray:
        """Feed bias plus lexical bias [N] of each candidate."""
        return click_scores([self._group(candidates, grow=False)], self._fit)[0]
