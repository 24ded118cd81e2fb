"""Story detection on real feeds: precision and recall on 200 pairs labelled by rules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.services import story
from harness.storypairs import DIFFERENT, SAME, labelled_pairs, load_rows, write_sample


@pytest.mark.slow  # parses 65 captured feeds
@pytest.mark.shared_data
def test_detection_precision_on_200_labelled_pairs(shared_data: Path, tmp_path: Path) -> None:
    rows, links = load_rows(shared_data)
    pairs = labelled_pairs(rows, links, 200)
    sample = tmp_path / "pairs.tsv"
    write_sample(pairs, sample)  # the labels and their rules, one pair a line, to check by hand
    with sample.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle, delimiter="\t"))
    assert len(lines) == 200 and {line["rule"] for line in lines} == {SAME, DIFFERENT}
    fold = story.detect(rows)
    group = {r.id: r.id for r in rows} | dict(fold.copies)
    predicted = [group[p.a.id] == group[p.b.id] for p in pairs]
    true_positive = sum(1 for p, hit in zip(pairs, predicted, strict=True) if hit and p.same)
    flagged = sum(predicted)
    positives = sum(1 for p in pairs if p.same)
    assert positives >= 30
    assert true_positive / flagged >= 0.95  # precision
    assert true_positive / positives >= 0.9  # recall
