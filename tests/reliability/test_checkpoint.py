"""Checkpoints a file could supply: a pickle payload never runs, a damaged file is refused, and
the Ranker falls back to the previous model; no loader in the code base unpickles file data."""

from __future__ import annotations

import ast
import hashlib
import io
import pickle
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.services.profile import Profile
from app.services.ranking import Ranker
from app.storage import events
from harness.sample import seed_profile
from harness.scenario import ROOT
from harness.training import install_model

torch = pytest.importorskip("torch")
checkpoint = pytest.importorskip("nrms_core.checkpoint")


class _Payload:
    """Unpickling this creates ``path`` (an observable side effect, nothing worse)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def _hostile_files(marker: Path) -> dict[str, bytes]:
    payload = _Payload(marker)
    wrapped = {"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "meta": payload}
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save(wrapped, zipped)
    torch.save(wrapped, legacy, _use_new_zipfile_serialization=False)
    return {
        "raw pickle": pickle.dumps(payload),
        "pickle protocol 0": pickle.dumps(payload, protocol=0),
        "torch zip": zipped.getvalue(),
        "torch legacy": legacy.getvalue(),
    }


@pytest.fixture(scope="module")
def profile_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ckpt") / "profile"
    seed_profile(root, feed_count=3, per_feed=12, clicks=21)
    install_model(root)
    return root


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_pickle_payloads_are_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    for name, data in _hostile_files(marker).items():
        path = tmp_path / f"{name.replace(' ', '-')}.pt"
        path.write_bytes(data)
        with pytest.raises(checkpoint.CheckpointError):
            checkpoint.load(path)
        assert not marker.exists(), f"the {name} payload ran"


def _add_version(root: Path, data: bytes, number: int, sha: str | None = None) -> None:
    """Record ``data`` as model version ``number``; its recorded sha256 is the data's own unless
    ``sha`` says otherwise (as when the file changed after training wrote it)."""
    with Profile(root) as profile:
        path = profile.paths.models / f"model-{number:05d}.pt"
        path.write_bytes(data)
        recorded = sha or hashlib.sha256(data).hexdigest()
        with profile.db.write() as s:
            events.add_model_version(s, path.name, recorded, datetime.now(UTC), 21, {})


def _damaged(good: bytes, rng: random.Random) -> dict[str, bytes]:
    flipped = bytearray(good)
    for _ in range(32):
        flipped[rng.randrange(len(flipped))] ^= 0xFF
    return {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "header only": good[:64],
        "flipped bytes": bytes(flipped),
        "zip directory cut": good[:-30],
    }


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_the_ranker_falls_back_when_the_newest_checkpoint_is_bad(
    profile_root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "executed"
    good = (profile_root / "models" / "model-00001.pt").read_bytes()
    damaged = _damaged(good, random.Random(3))
    del damaged["flipped bytes"]  # may still load: see bench/reliability.py
    bad = {**_hostile_files(marker), **damaged}
    for number, data in enumerate(bad.values(), start=2):
        _add_version(profile_root, data, number)
    with Profile(profile_root) as profile:
        ranker = Ranker(profile)
        river = ranker.river(ranked=True, limit=3)
        assert river.mode == "ranked", "no model after the bad checkpoints"
        assert ranker.explain(river.items[0].article.id).model_version == 1
    assert not marker.exists(), "a payload ran"


def test_a_checkpoint_changed_after_training_is_not_used(
    profile_root: Path, tmp_path: Path
) -> None:
    good = (profile_root / "models" / "model-00001.pt").read_bytes()
    flipped = _damaged(good, random.Random(5))["flipped bytes"]
    _add_version(profile_root, flipped, 90, sha=hashlib.sha256(good).hexdigest())
    with Profile(profile_root) as profile:
        ranker = Ranker(profile)
        river = ranker.river(ranked=True, limit=3)
        assert river.mode == "ranked"
        assert ranker.explain(river.items[0].article.id).model_version == 1
        assert all(abs(item.score or 0.0) < 1e6 for item in river.items)


def test_damaged_checkpoints_are_refused_in_words(tmp_path: Path, profile_root: Path) -> None:
    good = (profile_root / "models" / "model-00001.pt").read_bytes()
    for name, data in _damaged(good, random.Random(11)).items():
        path = tmp_path / "bad.pt"
        path.write_bytes(data)
        try:
            checkpoint.load(path)
        except checkpoint.CheckpointError as exc:
            assert str(path) in str(exc), name
        else:
            assert name == "flipped bytes", f"a {name} checkpoint loaded"


_UNSAFE_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("dill", "load"),
    ("joblib", "load"),
    ("yaml", "load"),
}


def _unsafe(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
            found.append(f"{func.id}() at line {node.lineno}")
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            continue
        owner, name = func.value.id, func.attr
        keywords = {k.arg: k.value for k in node.keywords}
        if (owner, name) in _UNSAFE_CALLS:
            found.append(f"{owner}.{name} at line {node.lineno}")
        if owner == "torch" and name == "load":
            flag = keywords.get("weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"torch.load without weights_only=True at line {node.lineno}")
        if owner in ("np", "numpy") and name == "load":
            flag = keywords.get("allow_pickle")
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append(f"np.load without allow_pickle=False at line {node.lineno}")
    return found


def test_no_loader_in_the_code_unpickles_file_data() -> None:
    sources = sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "nrms_core").rglob("*.py")])
    assert sources
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sources
        if (hits := _unsafe(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}


def test_the_scanner_sees_unsafe_loads() -> None:
    code = (
        "import pickle, torch, numpy as np\n"
        "pickle.loads(b'')\ntorch.load('x')\nnp.load('y', allow_pickle=True)\neval('1')\n"
    )
    assert len(_unsafe(ast.parse(code))) == 4
