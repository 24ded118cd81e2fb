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


def test_splits_exactly_as_nltk_does() -> None:
    """The tokeniser skips the NLTK substitutions that cannot match a text; the tokens must
    be NLTK's own, on titles and on random strings dense in what its patterns look for."""
    import random

    from nltk.tokenize import NLTKWordTokenizer

    from nrms_core.tokenizer import _split

    nltk = NLTKWordTokenizer()
    titles = [
        'He said "no" -- twice... (AP)',
        "Gonna fight? I cannot, d'ye see. 'Tis more'n enough; wanna go?",
        "U.S. stocks: Dow up 1.5%, Nasdaq 3,000 [Update 2]*",
        "“Quoted” ‘single’ «guillemets» „low“ `tick` ''two'' —dash– ‒fig―",
        "Trailing period.  ) ' \" \u3000",
        "tab\tnew\nline\x1cend\u2028 ſ KELVIN İ café\u0301 ,\n",
    ]
    pieces = [*"aAcnt'\"`«»“”‘’„.,:;!?-—–*#$%&@()[]{}<> \t\n\x85\xa0\u3000\u2012\u2015ſK"]
    pieces += ["can", "not", "gon", "na", "'t", "is", "''", "``", "...", "--", "n't", "'ll"]
    rng = random.Random(19)
    titles += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(5000)]
    for title in titles:
        assert _split(title) == nltk.tokenize(title), title


def test_titles_split_by_pieces_give_nltks_tokens() -> None:
    """A title without quotes is tokenised a piece between spaces at a time, each piece once
    (memoised); the tokens must be those NLTK gives the whole title, on headlines and on
    random strings dense in spaces, periods, separators, contractions and odd spaces."""
    import random
    import re
    import unicodedata

    from nltk.tokenize import NLTKWordTokenizer

    from nrms_core.tokenizer import _CONTROL, forget, tokenize

    nltk = NLTKWordTokenizer()

    def whole(title: str) -> list[str]:
        text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", title)).strip().lower()
        return [t for t in nltk.tokenize(text) if re.search(r"\w", t)][:30] if text else []

    titles = [
        "U.S. stocks: Dow up 1.5%, Nasdaq 3,000 [Update 2]* end.",
        "Fed cannot wait, gonna cut #12 ; wanna? (AP) ...",
        "a. b: c, d.. e -- f ) ] .",
        "end. ) ]",
        "x#cannot@gotta!lemme*gimme&y 42",
    ]
    pieces = [*"aAcnt.,:;!?-—–*#$%&@()[]{}<>       \t\n\x85\xa0\u3000\u2012\u2015\u2028ſK09"]
    pieces += ["can", "not", "gon", "na", "wan", "gim", "me", "got", "ta", "lem", "...", "--"]
    pieces += [" . ", ". ", "U.S.", ":", ", ", " )", ") ", "x.)", "1,000", "'s", "n't", '"', "_"]
    rng = random.Random(23)
    titles += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 20))) for _ in range(20000)]
    for title in titles:
        assert tokenize(title) == whole(title), title
    forget()  # the memo of pieces stays: tokenised again, from it
    for title in titles[:2000]:
        assert tokenize(title) == whole(title), title
