import pytest

from nrms_core.vocab import PAD, PAD_TOKEN, UNK, UNK_TOKEN, Vocabulary


def test_reserved_ids() -> None:
    vocab = Vocabulary()
    assert len(vocab) == 2
    assert vocab.token(PAD) == PAD_TOKEN
    assert vocab.token(UNK) == UNK_TOKEN
    assert vocab.ids(["never-seen"]) == [UNK]


def test_growth_appends_and_keeps_ids() -> None:
    vocab = Vocabulary(["oil", "prices"])
    before = vocab.ids(["oil", "prices"])
    added = vocab.add(["prices", "rise", "oil", "sharply", ""])
    assert added == ["rise", "sharply"]
    assert vocab.ids(["oil", "prices"]) == before
    assert vocab.ids(["rise", "sharply"]) == [4, 5]
    assert "rise" in vocab
    assert "fall" not in vocab


def test_round_trip_through_tokens() -> None:
    vocab = Vocabulary(["a", "b", "c"])
    again = Vocabulary.from_tokens(vocab.tokens())
    assert again.tokens() == vocab.tokens()
    assert again.ids(["c", "zzz"]) == [4, UNK]


@pytest.mark.parametrize(
    "tokens",
    [
        [],
        ["x", UNK_TOKEN],
        [PAD_TOKEN, UNK_TOKEN, "a", "a"],
        [PAD_TOKEN, UNK_TOKEN, ""],
        [PAD_TOKEN, UNK_TOKEN, "x" * 1000],
    ],
)
def test_invalid_token_lists_are_refused(tokens: list[str]) -> None:
    with pytest.raises(ValueError):
        Vocabulary.from_tokens(tokens)
