"""nrms_core.optimizer: torch's AdamW and L-BFGS, step for step, without torch._dynamo."""

import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from nrms_core.optimizer import LBFGS, AdamW


def _params(seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(5, 3, generator=generator).requires_grad_() for _ in range(3)]


def _loss(params: list[torch.Tensor]) -> torch.Tensor:
    return sum(((p - 0.5) ** 2 * (i + 1)).sum() for i, p in enumerate(params)) + (
        params[0].sin().sum()
    )


def test_adamw_takes_torchs_steps_bit_for_bit_and_shares_its_state_format() -> None:
    ours, theirs = _params(0), _params(0)
    groups = [{"params": ours[:2], "lr": 0.01}, {"params": ours[2:], "lr": 0.001}]
    other = [{"params": theirs[:2], "lr": 0.01}, {"params": theirs[2:], "lr": 0.001}]
    mine = AdamW(groups, lr=0.01, weight_decay=0.1)
    reference = torch.optim.AdamW(other, lr=0.01, weight_decay=0.1)
    for step in range(6):
        for optimizer, params in ((mine, ours), (reference, theirs)):
            optimizer.zero_grad(set_to_none=True)
            _loss(params[: 2 + step % 2]).backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    state, expected = mine.state_dict(), reference.state_dict()
    assert state["param_groups"] == expected["param_groups"]
    assert set(state["state"]) == set(expected["state"])
    for index, entry in expected["state"].items():
        assert all(torch.equal(state["state"][index][k], v) for k, v in entry.items())
    restored = AdamW([{"params": _params(1)[:2]}, {"params": _params(1)[2:]}], lr=0.01)
    restored.load_state_dict(expected)
    assert restored.state_dict()["param_groups"] == expected["param_groups"]


def test_lbfgs_reaches_torchs_point_bit_for_bit() -> None:
    ours, theirs = _params(2), _params(2)
    settings = {"max_iter": 30, "history_size": 5, "line_search_fn": "strong_wolfe"}
    for optimizer_type, params in ((LBFGS, ours), (torch.optim.LBFGS, theirs)):
        optimizer = optimizer_type(params, **settings)

        def closure(opt: torch.optim.Optimizer = optimizer, ps: list = params) -> torch.Tensor:
            opt.zero_grad()
            loss = _loss(ps)
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        optimizer.step(closure)  # type: ignore[no-untyped-call]
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_training_with_them_never_imports_dynamo() -> None:
    """In a fresh process, since this one may have imported it already."""
    code = textwrap.dedent(
        """
        import sys
        import torch
        from nrms_core.optimizer import LBFGS, AdamW
        p = torch.ones(3, requires_grad=True)
        adam = AdamW([p], lr=0.1)
        for _ in range(2):
            adam.zero_grad()
            (p * p).sum().backward()
            adam.step()
        adam.load_state_dict(adam.state_dict())
        lbfgs = LBFGS([p])
        def closure():
            lbfgs.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss
        lbfgs.step(closure)
        print(sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.stdout.strip() == "[]"
