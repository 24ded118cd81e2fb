"""``--protocol general --resume``: checkpoints after each epoch, continues from the saved
epoch, and refuses a resume file that this run did not write, with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nrms_core.mind.evaluate import main
from nrms_core.mind.resume import optimizer_path
from tests.unit.nrms.test_evaluate import folders  # noqa: F401  (the shared fixture)

FAST = ["--no-pretrained", "--no-warm-start", "--device", "cpu", "--no-progress"]


def _run(pair: tuple[Path, Path], out: Path, *extra: str) -> int:
    train, dev = pair
    argv = ["--train", str(train), "--dev", str(dev), "--protocol", "general", *FAST]
    return main([*argv, *extra, "--out", str(out)])


def test_resume_continues_from_the_saved_epoch(
    folders: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    straight, stopped = tmp_path / "straight.ckpt", tmp_path / "stopped.ckpt"
    out = tmp_path / "r.json"
    assert _run(folders, out, "--epochs", "2", "--resume", str(straight)) == 0
    whole = json.loads(out.read_text(encoding="utf-8"))
    assert whole["resume"]["epochs_trained"] == 2 and whole["samples_per_second"] > 0
    assert "samples/s" in capsys.readouterr().out
    assert _run(folders, out, "--epochs", "1", "--resume", str(stopped)) == 0
    first = json.loads(out.read_text(encoding="utf-8"))
    assert first["resume"]["epochs_run"] == 1
    assert optimizer_path(stopped).is_file()
    assert _run(folders, out, "--seed", "1", "--resume", str(stopped)) == 1  # another run
    assert "written by another run (differs in seed)" in capsys.readouterr().err
    assert _run(folders, out, "--epochs", "2", "--resume", str(stopped)) == 0
    resumed = json.loads(out.read_text(encoding="utf-8"))
    assert resumed["resume"]["epochs_resumed_from"] == 1
    assert resumed["resume"]["epochs_trained"] == 1
    for key in ("auc", "mrr", "ndcg10"):
        assert resumed[key] == whole[key]
    from nrms_core.recommender import Recommender

    a, b = Recommender.load(straight).model.state_dict(), Recommender.load(stopped).model
    for name, tensor in b.state_dict().items():
        assert bool((tensor == a[name]).all()), name


def test_a_tampered_resume_file_is_refused_with_one_line(
    folders: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "run.ckpt"
    out = tmp_path / "r.json"
    assert _run(folders, out, "--epochs", "1", "--resume", str(path)) == 0
    model, moment = path.read_bytes(), optimizer_path(path).read_bytes()

    def flipped(data: bytes) -> bytes:
        changed = bytearray(data)
        changed[len(changed) // 2] ^= 0xFF
        return bytes(changed)

    damages = {
        "optimizer": (model, flipped(moment)),
        "model": (flipped(model), moment),
        "garbage": (b"not a checkpoint at all", moment),
    }
    for name, (model_bytes, optimizer_bytes) in damages.items():
        path.write_bytes(model_bytes)
        optimizer_path(path).write_bytes(optimizer_bytes)
        out.unlink(missing_ok=True)
        capsys.readouterr()
        assert _run(folders, out, "--epochs", "1", "--resume", str(path)) == 1, name
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: cannot resume: "), name
        assert not out.exists()
    optimizer_path(path).unlink()
    path.write_bytes(model)
    assert _run(folders, out, "--epochs", "1", "--resume", str(path)) == 1
    assert "no such file" in capsys.readouterr().err


def test_resume_needs_the_general_protocol(
    folders: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, dev = folders
    argv = ["--train", str(train), "--dev", str(dev), "--protocol", "personal"]
    assert main([*argv, "--resume", str(tmp_path / "x"), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.strip() == "error: --resume needs --protocol general"


def test_resuming_reads_the_model_file_once(
    folders: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its bytes are hashed against the optimizer file, then the model is read from them."""
    path = tmp_path / "run.ckpt"
    out = tmp_path / "r.json"
    assert _run(folders, out, "--epochs", "1", "--resume", str(path)) == 0
    reads: list[str] = []
    open_file = Path.open  # Path.read_bytes opens through it too

    def counted_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        reads.append(self.name)
        return open_file(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counted_open)
    assert _run(folders, out, "--epochs", "2", "--resume", str(path)) == 0
    assert reads.count("run.ckpt") == 1
