"""MIND-format reading and writing: round trip, tolerance, problem reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from nrms_core.mind.reader import (
    Behavior,
    NewsItem,
    format_time,
    read_mind,
    read_news,
    write_behaviors,
    write_news,
)


def _write(folder: Path, news: str, behaviors: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "news.tsv").write_text(news, encoding="utf-8")
    (folder / "behaviors.tsv").write_text(behaviors, encoding="utf-8")
    return folder


def test_round_trip(tmp_path: Path) -> None:
    news = [
        NewsItem("N1", "sports", "soccer", "Cup final\tgoes to penalties", "abs", "http://x/1"),
        NewsItem("N2", "news", "world", "Rates rise again"),
    ]
    when = datetime(2019, 11, 15, 20, 55, 22)
    behaviors = [Behavior("1", "U1", when, ("N1",), (("N2", 1), ("N1", 0)))]
    write_news(tmp_path / "news.tsv", news)
    write_behaviors(tmp_path / "behaviors.tsv", behaviors)
    data = read_mind(tmp_path)
    assert data.problems == ()
    assert data.news["N1"].title == "Cup final goes to penalties"
    assert data.news["N2"] == news[1]
    assert data.behaviors == behaviors
    assert data.behaviors[0].clicked == ("N2",)
    assert data.behaviors[0].skipped == ("N1",)


def test_time_format_matches_mind() -> None:
    assert format_time(datetime(2019, 11, 15, 8, 5, 2)) == "11/15/2019 8:05:02 AM"
    assert format_time(datetime(2019, 11, 15, 0, 0, 0)) == "11/15/2019 12:00:00 AM"
    assert format_time(datetime(2019, 11, 15, 12, 30, 0)) == "11/15/2019 12:30:00 PM"
    assert format_time(None) == ""


def test_missing_trailing_columns_are_fine(tmp_path: Path) -> None:
    folder = _write(tmp_path, "N1\tnews\nN2\n", "1\tU1\t\t\tN1-1 N2-0\n")
    data = read_mind(folder)
    assert data.problems == ()
    assert data.news["N1"].category == "news"
    assert data.news["N2"].title == ""
    assert data.behaviors[0].time is None
    assert data.behaviors[0].history == ()


def test_bad_rows_reported_and_skipped(tmp_path: Path) -> None:
    news = "N1\tnews\tx\tOne\nN2\tnews\tx\tTwo\n\tnews\tx\tNo id\nN1\tnews\tx\tDup\n"
    behaviors = (
        "1\tU1\t11/15/2019 8:55:22 AM\tN1\tN1-1 N2-0\n"  # fine
        "2\tU1\t11/15/2019 8:55:22 AM\t\tN1-2 N2-0\n"  # bad label
        "3\tU1\t11/15/2019 8:55:22 AM\t\tN1 N2\n"  # no labels (MIND test format)
        "\tU1\t11/15/2019 8:55:22 AM\t\tN1-1\n"  # empty impression id
        "5\tU2\tyesterday\tN9 N1\tN1-0 N9-1 N2-1\n"  # unknown N9 twice, bad time
        "6\tU2\t\t\tN8-1\n"  # only unknown news
    )
    data = read_mind(_write(tmp_path, news, behaviors))
    assert [b.impression_id for b in data.behaviors] == ["1", "5"]
    assert data.behaviors[1].history == ("N1",)
    assert data.behaviors[1].impressions == (("N1", 0), ("N2", 1))
    assert data.behaviors[1].time is None
    text = "\n".join(data.problems)
    assert "news.tsv: 1 x bad news id (lines 3)" in text
    assert "news.tsv: 1 x duplicate news id (lines 4)" in text
    assert "behaviors.tsv: 2 x bad impressions" in text
    assert "(lines 2, 3)" in text
    assert "1 x empty impression or user id (lines 4)" in text
    assert "3 x unknown news id dropped (lines 5, 6)" in text
    assert "1 x no impressions (lines 6)" in text
    assert "1 unreadable times" in text


def test_line_numbers_are_capped(tmp_path: Path) -> None:
    bad = "".join(f"{i}\tU\t\t\tN1-x\n" for i in range(1, 21))
    data = read_mind(_write(tmp_path, "N1\n", bad))
    assert data.behaviors == []
    assert data.problems == (
        "behaviors.tsv: 20 x bad impressions (expected NEWSID-0/1 tokens) "
        "(lines 1, 2, 3, 4, 5, ...)",
    )


def test_extra_news_counts_as_known(tmp_path: Path) -> None:
    folder = _write(tmp_path, "N2\tnews\tx\tTwo\n", "1\tU1\t\tN1\tN1-1 N2-0\n")
    data = read_mind(folder, extra_news={"N1": NewsItem("N1", title="One")})
    assert data.problems == ()
    assert data.behaviors[0].history == ("N1",)


def test_missing_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_mind(tmp_path / "nope")
    (tmp_path / "news.tsv").write_text("N1\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"behaviors\.tsv"):
        read_mind(tmp_path)


def test_undecodable_bytes_do_not_crash(tmp_path: Path) -> None:
    (tmp_path / "news.tsv").write_bytes(b"N1\tnews\tx\t\xff\xfe bad\x00 bytes\r\n")
    news, problems = read_news(tmp_path / "news.tsv")
    assert problems == []
    assert "bad" in news["N1"].title
