from nrms_core.tokenizer import MAX_CHARS, tokenize


def test_lower_cases_and_splits_treebank_style() -> None:
    assert tokenize("Apple Doesn't Ship the U.S. Model") == [
        "apple",
        "does",
        "n't",
        "ship",
        "the",
        "u.s.",
        "model",
    ]


def test_drops_bare_punctuation() -> None:
    assert tokenize('Breaking: "Rates" rise -- again (AP)!') == [
        "breaking",
        "rates",
        "rise",
        "again",
        "ap",
    ]


def test_truncates_to_max_tokens() -> None:
    title = " ".join(f"w{i}" for i in range(50))
    assert tokenize(title) == [f"w{i}" for i in range(30)]
    assert tokenize(title, max_tokens=3) == ["w0", "w1", "w2"]


def test_odd_input_never_raises() -> None:
    assert tokenize("") == []
    assert tokenize("   \n\t ") == []
    assert tokenize("\x00\x07 nul\x00bytes") == ["nul", "bytes"]
    assert tokenize(None) == []  # type: ignore[arg-type]
    assert tokenize("ｆｕｌｌｗｉｄｔｈ Ｔｅｘｔ") == ["fullwidth", "text"]
    assert len(tokenize("word " * (MAX_CHARS * 2), max_tokens=10_000)) <= MAX_CHARS
