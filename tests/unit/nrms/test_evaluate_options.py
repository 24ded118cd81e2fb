"""The evaluator's options for research-scale runs: --users, --jobs and the progress bar."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from nrms_core.mind.evaluate import main
from nrms_core.mind.progress import Progress, duration
from nrms_core.mind.protocol import Options, evaluate_nrms, load_data
from tests.unit.nrms.test_evaluate import folders  # noqa: F401  (the shared fixture)

FAST = ["--epochs", "1", "--no-pretrained", "--no-warm-start", "--device", "cpu"]


def test_users_limits_readers_and_progress_goes_to_stderr(
    folders: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, dev = folders
    out = tmp_path / "r.json"
    argv = ["--train", str(train), "--dev", str(dev), "--protocol", "personal", *FAST]
    assert main([*argv, "--users", "2", "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["users"] == 2 and result["users_limit"] == 2
    assert result["impressions"] == 12  # 6 dev impressions each
    assert result["fitted_users"] == 2
    assert result["seconds_per_reader"] > 0
    captured = capsys.readouterr()
    assert "readers 2/2" in captured.err  # not a terminal: plain lines
    assert "2/2" not in captured.out and "elapsed" not in captured.out
    assert "NRMS" in captured.out and "s each (" in captured.out  # the table and its rate
    assert main([*argv, "--users", "1", "--no-progress", "--out", str(out)]) == 0
    assert "readers 1/1" not in capsys.readouterr().err


def test_bad_users_or_jobs_exit_1(
    folders: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, dev = folders
    argv = ["--train", str(train), "--dev", str(dev), "--protocol", "personal"]
    for flag in ("--users", "--jobs"):
        assert main([*argv, flag, "0", "--out", str(tmp_path / "o.json")]) == 1
        assert capsys.readouterr().err.strip().splitlines() == [
            "error: --users and --jobs must be >= 1"
        ]
    with pytest.raises(ValueError):
        Options(jobs=0)


def test_two_jobs_give_the_figures_of_one(folders: tuple[Path, Path]) -> None:  # noqa: F811
    data = load_data(*folders)
    figures = []
    for jobs in (1, 2):
        options = Options(
            protocol="personal",
            epochs=1,
            pretrained=False,
            warm_start=False,
            device="cpu",
            jobs=jobs,
        )
        result = evaluate_nrms(data, options)
        assert result["jobs"] == jobs
        keep = ("auc", "mrr", "ndcg5", "ndcg10", "per_user_mean", "train_samples", "users")
        figures.append({k: result[k] for k in keep} | {"loss": result["fit"]["train_loss"]})
    assert figures[0] == figures[1]


def test_progress_lines_without_a_terminal() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = Progress(20, stream=stream, tty=False, every=5, interval=10.0, clock=lambda: now[0])
    for _ in range(3):
        now[0] += 1.0
        bar.advance()
    assert stream.getvalue() == ""  # neither 5 readers nor 10 s yet
    now[0] += 9.0  # 12 s since the start
    bar.advance()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("readers 4/20 [")
    assert "elapsed 12s" in lines[0] and "left 48s" in lines[0] and "3.0 s each" in lines[0]
    bar.advance()  # the 5th: every 5 readers
    for _ in range(15):
        bar.advance()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["4/20", "5/20", "10/20", "15/20", "20/20"]
    assert "100%" in lines[-1]


def test_progress_redraws_one_line_on_a_terminal() -> None:
    stream = io.StringIO()
    with Progress(3, stream=stream, tty=True, clock=lambda: 0.0) as bar:
        for _ in range(3):
            bar.advance()
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "readers 3/3" in text


def test_duration() -> None:
    assert duration(42.4) == "42s"
    assert duration(185) == "3m05s"
    assert duration(3720) == "1h02m"
    assert duration(float("nan")) == "?"
