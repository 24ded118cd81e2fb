"""The evaluate CLI end to end on a small MIND-format fixture written here."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nrms_core.mind.evaluate import main
from nrms_core.mind.protocol import Options, behavior_samples, evaluate_baselines, load_data
from nrms_core.mind.reader import Behavior, NewsItem, write_behaviors, write_news

ROOT = Path(__file__).resolve().parents[3]

TOPICS = {
    "sports": ["cup", "final", "goal", "striker", "league", "coach", "match", "season"],
    "finance": ["bank", "rates", "stocks", "bond", "inflation", "profit", "market", "tax"],
    "science": ["space", "rocket", "planet", "climate", "genome", "physics", "lab", "moon"],
}
USERS = {"U1": "sports", "U2": "finance", "U3": "science"}


def _news(rng: random.Random) -> list[NewsItem]:
    items = []
    for category, words in TOPICS.items():
        for i in range(12):
            title = " ".join(rng.sample(words, 3)) + f" report {i}"
            items.append(NewsItem(f"N{category[:2]}{i}", category, "", title.title()))
    return items


def _behaviors(rng: random.Random, news: list[NewsItem], start: int) -> list[Behavior]:
    out: list[Behavior] = []
    t0 = datetime(2019, 11, 15, 8, 0, 0)
    for user, liked in USERS.items():
        history = tuple(n.news_id for n in news if n.category == liked)[:3]
        for k in range(6):
            shown = rng.sample(news, 8)
            if not any(n.category == liked for n in shown):
                shown[0] = next(n for n in news if n.category == liked)
            impressions = tuple((n.news_id, int(n.category == liked)) for n in shown)
            out.append(
                Behavior(str(start + len(out)), user, t0 + timedelta(hours=k), history, impressions)
            )
    return out


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(0)
    news = _news(rng)
    train, dev = tmp_path / "train", tmp_path / "dev"
    for folder, start in ((train, 1), (dev, 1000)):
        folder.mkdir()
        write_news(folder / "news.tsv", news)
        write_behaviors(folder / "behaviors.tsv", _behaviors(rng, news, start))
    with (train / "behaviors.tsv").open("a", encoding="utf-8") as handle:
        handle.write("bad\tU1\t\t\tNsp1-7\n")  # bad label
        handle.write("\tU1\t\t\tNsp1-1\n")  # empty id
        handle.write("77\tU1\t\tNOPE\tNsp1-1 NOPE-0 Nfi1-0\n")  # unknown id, kept
    return train, dev


def _check_metrics(metrics: dict[str, object]) -> None:
    for key in ("auc", "mrr", "ndcg5", "ndcg10"):
        value = metrics[key]
        assert isinstance(value, float)
        assert 0.0 <= value <= 1.0


@pytest.mark.parametrize("protocol", ["general", "personal"])
def test_cli_writes_metrics(
    folders: tuple[Path, Path], tmp_path: Path, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train, dev = folders
    out = tmp_path / "result.json"
    argv = [
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--protocol",
        protocol,
        "--epochs",
        "1",
        "--warm-epochs",
        "1",
        "--no-pretrained",
        "--device",
        "cpu",
        "--baselines",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    _check_metrics(result)
    assert result["protocol"] == protocol
    assert result["impressions"] == 18
    assert result["users"] == 3
    assert result["train_seconds"] >= 0.0
    assert result["warm_start"] is True
    assert result["source_token"] is True
    assert result["train_impressions"] == 19
    assert result["train_samples"] > 0
    _check_metrics(result["per_user_mean"])
    for name in ("Recency", "TfidfCentroid", "TfidfLogistic", "ClickBias"):
        _check_metrics(result["baselines"][name])
    # the users' tastes are purely lexical here: the logistic baseline must find them
    assert result["baselines"]["TfidfLogistic"]["auc"] > 0.9
    problems = "\n".join(result["problems"])
    assert "train behaviors.tsv: 1 x bad impressions" in problems
    assert "1 x empty impression or user id" in problems
    assert "2 x unknown news id dropped" in problems
    table = capsys.readouterr().out
    assert "TfidfLogistic" in table and "NRMS" in table


def test_no_warm_start_flag(folders: tuple[Path, Path], tmp_path: Path) -> None:
    train, dev = folders
    out = tmp_path / "r.json"
    argv = [
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--protocol",
        "personal",
        "--epochs",
        "1",
        "--no-pretrained",
        "--no-warm-start",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["warm_start"] is False
    assert "baselines" not in result


@pytest.mark.parametrize("module", ["nrms_core.mind.evaluate", "nrms_core.evaluate"])
def test_missing_folder_exits_1_with_one_line(tmp_path: Path, module: str) -> None:
    """The command runs by its own name and by the name it had before it moved."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--train",
            str(tmp_path / "nope"),
            "--dev",
            str(tmp_path / "nope2"),
            "--protocol",
            "general",
            "--out",
            str(tmp_path / "o.json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "not a folder" in lines[0]
    assert not (tmp_path / "o.json").exists()


def test_empty_data_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("train", "dev"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "news.tsv").write_text("", encoding="utf-8")
        (tmp_path / name / "behaviors.tsv").write_text("", encoding="utf-8")
    argv = [
        "--train",
        str(tmp_path / "train"),
        "--dev",
        str(tmp_path / "dev"),
        "--protocol",
        "general",
        "--out",
        str(tmp_path / "o.json"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no usable train impressions" in err[0]


def test_bad_checkpoint_exits_1(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, dev = folders
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    argv = [
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--protocol",
        "general",
        "--base",
        str(bad),
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "o.json"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint" in err[0]


def test_samples_take_negatives_from_the_same_impression() -> None:
    ids = {f"N{i}": i for i in range(6)}
    b = Behavior("1", "U", None, ("N5",) * 60, (("N0", 1), ("N1", 0), ("N2", 1), ("N3", 0)))
    samples = behavior_samples([b], ids, negatives=4, max_history=50, rng=random.Random(0))
    assert [s.candidates[0] for s in samples] == [0, 2]
    for s in samples:
        assert set(s.candidates[1:]) <= {1, 3}  # too few skipped: drawn with replacement
        assert len(s.candidates) == 5
        assert len(s.history) == 50
    few = behavior_samples([b], ids, negatives=2, max_history=50, rng=random.Random(0))
    assert all(sorted(s.candidates[1:]) == [1, 3] for s in few)
    none = Behavior("2", "U", None, (), (("N0", 1),))
    assert behavior_samples([none], ids, negatives=4, max_history=50, rng=random.Random(0)) == []


def test_baselines_alone(folders: tuple[Path, Path]) -> None:
    train, dev = folders
    data = load_data(train, dev)
    result = evaluate_baselines(data, Options(recency="order"))
    assert set(result) == {"Recency", "TfidfCentroid", "TfidfLogistic", "ClickBias"}
    assert result["TfidfCentroid"]["users"] == 3


def test_pretrain_single_process_writes_a_loadable_checkpoint(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    from nrms_core.mind.pretrain import main as pretrain_main
    from nrms_core.recommender import Recommender

    train, _ = folders
    out = tmp_path / "base.ckpt"
    argv = [
        "--train",
        str(train),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--no-pretrained",
    ]
    assert pretrain_main(argv) == 0
    rec = Recommender.load(out, device="cpu")
    assert rec.meta["world_size"] == 1
    assert rec.meta["epochs"] == 2
    vectors = rec.encode(["cup final goal", "bank rates"])
    assert vectors.shape == (2, rec.config.news_dim)
    # the evaluate CLI can start from it
    result = tmp_path / "r.json"
    assert (
        main(
            [
                "--train",
                str(train),
                "--dev",
                str(folders[1]),
                "--protocol",
                "general",
                "--epochs",
                "1",
                "--base",
                str(out),
                "--no-warm-start",
                "--device",
                "cpu",
                "--out",
                str(result),
            ]
        )
        == 0
    )
    assert json.loads(result.read_text(encoding="utf-8"))["base"] == str(out)


def test_pretrain_missing_folder_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nrms_core.mind.pretrain import main as pretrain_main

    argv = [
        "--train",
        str(tmp_path / "nope"),
        "--out",
        str(tmp_path / "x.ckpt"),
        "--device",
        "cpu",
        "--no-pretrained",
    ]
    assert pretrain_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0]


def test_pretrain_runs_by_the_name_it_had_before_it_moved(tmp_path: Path) -> None:
    """``torchrun -m nrms_core.pretrain`` launch scripts keep working."""
    proc = subprocess.run(
        [sys.executable, "-m", "nrms_core.pretrain", "--train", str(tmp_path / "nope"),
         "--out", str(tmp_path / "x.ckpt"), "--device", "cpu", "--no-pretrained"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a folder" in lines[0]


def test_category_as_source_token(tmp_path: Path) -> None:
    """Titles share one word pool; each user likes a category: only the source tells."""
    rng = random.Random(0)
    pool = [w for words in TOPICS.values() for w in words]
    news = [
        NewsItem(f"N{category[:2]}{i}", category, "", " ".join(rng.sample(pool, 4)).title())
        for category in TOPICS
        for i in range(12)
    ]
    train, dev = tmp_path / "train", tmp_path / "dev"
    for folder, start in ((train, 1), (dev, 1000)):
        folder.mkdir()
        write_news(folder / "news.tsv", news)
        write_behaviors(folder / "behaviors.tsv", _behaviors(rng, news, start))
    auc = {}
    for flag in ("", "--no-source-token"):
        out = tmp_path / f"r{flag}.json"
        argv = [
            "--train",
            str(train),
            "--dev",
            str(dev),
            "--protocol",
            "personal",
            "--epochs",
            "1",
            "--warm-epochs",
            "1",
            "--no-pretrained",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
        assert main([*argv, flag] if flag else argv) == 0
        result = json.loads(out.read_text(encoding="utf-8"))
        assert result["source_token"] is (flag == "")
        auc[flag] = result["auc"]
    assert auc[""] > 0.95
    assert auc["--no-source-token"] < auc[""] - 0.1


def test_bad_warm_start_settings_exit_1(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, dev = folders
    argv = ["--train", str(train), "--dev", str(dev), "--protocol", "general"]
    assert main([*argv, "--warm-epochs", "0", "--out", str(tmp_path / "o.json")]) == 1
    assert "--warm-epochs" in capsys.readouterr().err
    assert main([*argv, "--epochs", "0", "--out", str(tmp_path / "o.json")]) == 1
    assert "--epochs" in capsys.readouterr().err
    with pytest.raises(ValueError):
        Options(source_rate=2.0)
