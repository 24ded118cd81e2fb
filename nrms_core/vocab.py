"""Vocabulary that only grows, so rows of a trained embedding stay valid."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["PAD", "PAD_TOKEN", "UNK", "UNK_TOKEN", "Vocabulary"]

PAD = 0
UNK = 1
PAD_TOKEN = "<pad>"  # noqa: S105
UNK_TOKEN = "<unk>"  # noqa: S105
MAX_TOKEN_CHARS = 200


class Vocabulary:
    """Token <-> id map with PAD=0 and UNK=1; new tokens are appended at the end."""

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self._tokens: list[str] = [PAD_TOKEN, UNK_TOKEN]
        self._ids: dict[str, int] = {PAD_TOKEN: PAD, UNK_TOKEN: UNK}
        self.add(tokens)

    @classmethod
    def from_tokens(cls, tokens: Sequence[str]) -> Vocabulary:
        """Rebuild from :meth:`tokens` output; raises ValueError if it is not a valid list."""
        if len(tokens) < 2 or tokens[0] != PAD_TOKEN or tokens[1] != UNK_TOKEN:
            raise ValueError("vocabulary must start with the pad and unknown tokens")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary has duplicate tokens")
        vocab = cls()
        for token in tokens[2:]:
            if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
                raise ValueError("vocabulary holds an invalid token")
            vocab._append(token)
        return vocab

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def _append(self, token: str) -> None:
        self._ids[token] = len(self._tokens)
        self._tokens.append(token)

    def add(self, tokens: Iterable[str]) -> list[str]:
        """Append unseen tokens; returns the tokens that were new, in order."""
        added: list[str] = []
        for token in tokens:
            if token and len(token) <= MAX_TOKEN_CHARS and token not in self._ids:
                self._append(token)
                added.append(token)
        return added

    def ids(self, tokens: Iterable[str]) -> list[int]:
        """Map tokens to ids, unknown tokens to UNK."""
        get = self._ids.get
        return [get(t, UNK) for t in tokens]

    def token(self, index: int) -> str:
        """The token with id ``index``."""
        return self._tokens[index]

    def tokens(self) -> list[str]:
        """All tokens in id order (a copy)."""
        return list(self._tokens)
