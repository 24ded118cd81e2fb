import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from nrms_core import checkpoint
from nrms_core.checkpoint import CheckpointError
from nrms_core.config import NRMSConfig
from nrms_core.model import NRMS
from nrms_core.recommender import Recommender
from nrms_core.vocab import Vocabulary

MARKER_ENV = "HEEDFUL_TEST_MARKER"


def _write_marker() -> None:
    Path(os.environ[MARKER_ENV]).write_text("code ran")


class Exploit:
    """Unpickling this object calls _write_marker."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_write_marker, ())


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    config = NRMSConfig()
    vocab = Vocabulary(["oil", "stocks", "cup"])
    torch.manual_seed(0)
    model = NRMS(config, len(vocab))
    path = tmp_path_factory.mktemp("ck") / "model.pt"
    checkpoint.save(
        path,
        config=config,
        vocab=vocab,
        state=model.state_dict(),
        pretrained=torch.tensor([False, False, True, True, False]),
        glove=True,
        meta={"version": 3, "clicks": [1, 2], "note": {"x": 1.5}},
    )
    return path.read_bytes()


@pytest.fixture
def saved(tmp_path: Path, saved_bytes: bytes) -> Path:
    path = tmp_path / "model.pt"
    path.write_bytes(saved_bytes)
    return path


def _payload(path: Path) -> dict[str, Any]:
    data = torch.load(path, weights_only=True)
    assert isinstance(data, dict)
    return data


def _rewrite(path: Path, data: object) -> None:
    torch.save(data, path)


def test_round_trip(saved: Path) -> None:
    loaded = checkpoint.load(saved)
    assert loaded.config == NRMSConfig()
    assert loaded.vocab.tokens()[2:] == ["oil", "stocks", "cup"]
    assert loaded.pretrained.tolist() == [False, False, True, True, False]
    assert loaded.glove is True
    assert loaded.meta == {"version": 3, "clicks": [1, 2], "note": {"x": 1.5}}
    model = NRMS(loaded.config, len(loaded.vocab))
    model.load_state_dict(dict(loaded.state))


def test_save_is_atomic_and_returns_sha256(saved: Path, tmp_path: Path) -> None:
    import hashlib

    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    rec = Recommender.create(pretrained=False)
    digest = rec.save(saved, meta={"n": 1})
    assert digest == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    assert Recommender.load(saved).meta == {"n": 1}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        checkpoint.load(tmp_path / "absent.pt")


@pytest.mark.parametrize("keep", [0, 10, 100, 1000, -200])
def test_truncated_file_is_refused(saved: Path, keep: int) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[:keep])
    with pytest.raises(CheckpointError):
        checkpoint.load(saved)


def test_corrupt_bytes_are_refused(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    for i in range(0, len(data), 97):
        data[i] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        checkpoint.load(saved)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, not a checkpoint\n", b'{"format": "heedful-nrms"}', b"\x00" * 4096],
)
def test_non_checkpoint_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        checkpoint.load(path)


def test_other_torch_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a Heedful NRMS checkpoint"):
        checkpoint.load(path)
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a Heedful NRMS checkpoint"):
        checkpoint.load(path)


@pytest.mark.parametrize("how", ["raw pickle", "torch zip", "inside checkpoint"])
def test_code_in_the_file_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved: Path, how: str
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    path = tmp_path / "evil.pt"
    if how == "raw pickle":
        path.write_bytes(pickle.dumps(Exploit()))
    elif how == "torch zip":
        torch.save(Exploit(), path)
    else:
        data = _payload(saved)
        data["meta"] = {"x": Exploit()}
        buffer = io.BytesIO()
        torch.save(data, buffer)
        path.write_bytes(buffer.getvalue())
    # the payload really would run code if loaded unsafely
    assert zipfile.is_zipfile(path) or pickle.loads(path.read_bytes()) is None
    if how == "raw pickle":
        assert marker.exists()
        marker.unlink()
    with pytest.raises(CheckpointError):
        checkpoint.load(path)
    assert not marker.exists()


def test_unknown_version_is_refused(saved: Path) -> None:
    data = _payload(saved)
    data["version"] = 99
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match="version 99"):
        checkpoint.load(saved)


@pytest.mark.parametrize("key", ["config", "vocab", "state", "pretrained", "glove", "meta"])
def test_missing_entries_are_refused(saved: Path, key: str) -> None:
    data = _payload(saved)
    del data[key]
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match=key):
        checkpoint.load(saved)


def test_missing_weight_is_refused(saved: Path) -> None:
    data = _payload(saved)
    del data["state"]["user_encoder.attention.query"]
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match="missing weights"):
        checkpoint.load(saved)


def test_extra_weight_is_refused(saved: Path) -> None:
    data = _payload(saved)
    data["state"]["backdoor.weight"] = torch.zeros(2)
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match="unexpected weights"):
        checkpoint.load(saved)


def test_wrong_shape_is_refused(saved: Path) -> None:
    data = _payload(saved)
    data["state"]["news_encoder.attention.proj.weight"] = torch.zeros(7, 7)
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match="shape"):
        checkpoint.load(saved)


def test_vocabulary_embedding_mismatch_is_refused(saved: Path) -> None:
    data = _payload(saved)
    data["vocab"] = [*data["vocab"], "extra"]
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match=r"embedding\.weight"):
        checkpoint.load(saved)


def test_non_finite_weights_are_refused(saved: Path) -> None:
    data = _payload(saved)
    data["state"]["news_encoder.attention.query"][0] = float("nan")
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match="non-finite"):
        checkpoint.load(saved)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("config", {"heads": -1}, "invalid config"),
        ("config", {"bogus": 1}, "invalid config"),
        ("config", "heads=16", "config is not a mapping"),
        ("vocab", ["a", "b"], "invalid vocabulary"),
        ("vocab", [1, 2], "not a list of strings"),
        ("pretrained", torch.zeros(5), "pretrained-row mask"),
        ("pretrained", torch.zeros(3, dtype=torch.bool), "pretrained-row mask"),
        ("glove", 1, "GloVe flag"),
        ("meta", [1], "metadata"),
        ("state", [torch.zeros(1)], "weights are not"),
    ],
)
def test_tampered_entries_are_refused(saved: Path, key: str, value: object, message: str) -> None:
    data = _payload(saved)
    data[key] = value
    _rewrite(saved, data)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(saved)


def test_recommender_load_raises_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(CheckpointError):
        Recommender.load(path)


def test_meta_must_be_plain_data(tmp_path: Path) -> None:
    rec = Recommender.create(pretrained=False)
    with pytest.raises(ValueError, match="plain data"):
        rec.save(tmp_path / "m.pt", meta={"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_bytes_read_already_load_as_the_file_does(saved: Path) -> None:
    """A caller that read the file to hash it passes the bytes instead of a second read."""
    content = saved.read_bytes()
    saved.unlink()  # so that only the bytes can give the checkpoint
    loaded = checkpoint.load(saved, content=content)
    assert loaded.vocab.tokens()[2:] == ["oil", "stocks", "cup"]
    assert loaded.meta == {"version": 3, "clicks": [1, 2], "note": {"x": 1.5}}
    with pytest.raises(CheckpointError, match=r"model\.pt: not a readable checkpoint"):
        checkpoint.load(saved, content=content[: len(content) // 2])


def test_models_from_one_checkpoint_share_nothing_that_changes(saved: Path) -> None:
    """The evaluator's readers each start from the base read once; one's new words must not
    reach another, and each starts as Recommender.load would give it."""
    data = checkpoint.load(saved)
    first, second = (Recommender.from_checkpoint(data, device="cpu") for _ in range(2))
    first.add_titles(["pipeline tanker"])
    assert len(first.vocab) == len(data.vocab) + 2
    assert len(second.vocab) == len(data.vocab)
    assert len(data.pretrained) == len(data.vocab)
    loaded = Recommender.load(saved, device="cpu").model.state_dict()
    for name, tensor in second.model.state_dict().items():
        assert torch.equal(tensor, loaded[name]), name
    assert second.meta == Recommender.load(saved).meta
