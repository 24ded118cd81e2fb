"""The headless command line against a local server, in a temporary profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.services.model import MIN_CLICKS
from app.services.profile import Profile
from harness.server import LocalServer, Reply
from tests.e2e.feedgen import rss

ROOT = Path(__file__).resolve().parents[2]

PAGE = b"""<!DOCTYPE html><html><head><title>Example News</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
</head><body>Welcome</body></html>"""


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> Any:
    code, out, err = run(capsys, data_dir, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def served(http_server: LocalServer) -> LocalServer:
    items = [(f"g{n}", f"Story number {n}") for n in range(12)]
    http_server.route("/", Reply(body=PAGE, content_type="text/html; charset=utf-8"))
    http_server.route("/feed.xml", Reply(body=rss("Example News", items)))
    http_server.route("/other.xml", Reply(body=rss("Other", [("o1", "Other story")])))
    return http_server


def test_add_a_site_discovers_its_feed_then_list_and_stats(
    served: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, tmp_path, "add", served.url("/"))
    assert code == 0, err
    assert "Example News" in out

    listed = run_json(capsys, tmp_path, "list", "--limit", "5")
    assert len(listed) == 5
    assert set(listed[0]) >= {"id", "title", "feed", "url", "published", "read", "score"}
    assert listed[0]["title"] == "Story number 0"
    assert listed[0]["feed"] == "Example News"
    assert listed[0]["score"] is None and listed[0]["read"] is False

    stats = run_json(capsys, tmp_path, "stats")
    assert stats == {
        "feeds": 1,
        "feeds_failed": 0,
        "articles": 12,
        "unread": 12,
        "starred": 0,
        "impressions": 0,
        "clicks": 0,
        "model_version": None,
        "opened_articles": 0,
        "ranking_mode": "model",
        "ranking_notice": None,
    }


def test_click_records_the_articles_shown_above_it(
    served: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "add", served.url("/feed.xml"))[0] == 0
    listed = run_json(capsys, tmp_path, "list")
    third = listed[2]["id"]

    code, _out, err = run(capsys, tmp_path, "click", str(third))
    assert code == 0, err

    stats = run_json(capsys, tmp_path, "stats")
    assert (stats["clicks"], stats["impressions"], stats["unread"]) == (1, 3, 11)
    assert third not in [a["id"] for a in run_json(capsys, tmp_path, "list")]


def test_ranked_list_falls_back_to_latest_and_says_why(
    served: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "add", served.url("/feed.xml"))[0] == 0
    code, out, err = run(capsys, tmp_path, "list", "--ranked", "--json")
    assert code == 0
    assert "more clicks" in err
    assert [a["title"] for a in json.loads(out)][:2] == ["Story number 0", "Story number 1"]


def test_opml_round_trip_and_refresh(
    served: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline text="News">'
        f'<outline type="rss" text="Example" xmlUrl="{served.url("/feed.xml")}"/>'
        f'<outline type="rss" text="Other" xmlUrl="{served.url("/other.xml")}"/></outline>'
        '<outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    first = tmp_path / "first"
    code, out, err = run(capsys, first, "import-opml", str(opml))
    assert code == 0 and "imported 2 feeds" in out
    assert "javascript" in err

    refreshed = run_json(capsys, first, "refresh")
    assert (refreshed["ok"], refreshed["failed"], refreshed["new"]) == (2, 0, 13)

    exported = tmp_path / "out.opml"
    assert run(capsys, first, "export-opml", str(exported))[0] == 0
    second = tmp_path / "second"
    code, out, _ = run(capsys, second, "import-opml", str(exported))
    assert "imported 2 feeds" in out
    assert run(capsys, second, "import-opml", str(exported))[1].startswith("imported 0 feeds")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "javascript:alert(1)"], "not a web address"),
        (["import-opml", "/nonexistent/file.opml"], "cannot read"),
        (["click", "424242"], "no article 424242"),
        (["explain", "1"], "no trained model"),
        (["train"], f"at least {MIN_CLICKS} opened articles"),
    ],
)
def test_user_errors_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _out, err = run(capsys, tmp_path, *argv)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_unreachable_feed_is_a_clear_error(
    served: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, tmp_path, "add", served.url("/missing.xml"))
    assert code == 1
    assert "404" in err and "Traceback" not in err


def test_second_process_on_the_same_profile_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "HEEDFUL_HOME": str(tmp_path)}
    with Profile(tmp_path):
        done = subprocess.run(
            [sys.executable, "-m", "app", "stats", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert "already open" in done.stderr
    assert "Traceback" not in done.stderr
    again = subprocess.run(
        [sys.executable, "-m", "app", "stats", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["feeds"] == 0
