"""Train and evaluate NRMS (and the per-reader baselines) on MIND-format data.

``python -m nrms_core.mind.evaluate --train DIR --dev DIR --protocol general|personal
--out FILE`` prints a table and writes the metrics as JSON (``python -m
nrms_core.evaluate`` is the same command, kept for scripts that call it by that name).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nrms_core.config import WARM_EPOCHS, WARM_SAMPLES
from nrms_core.mind import protocol
from nrms_core.mind.protocol import (
    METRICS,
    EvalError,
    Options,
    evaluate_baselines,
    evaluate_nrms,
    load_data,
)

__all__ = ["format_table", "main", "run"]


def run(train_dir: Path, dev_dir: Path, options: Options) -> dict[str, Any]:
    """Everything the CLI does except printing and writing: returns the JSON object."""
    data = load_data(train_dir, dev_dir)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "protocol": options.protocol,
        "seed": options.seed,
        "epochs": options.epochs,
        "negatives": options.negatives,
        "warm_start": options.warm_start,
        "source_token": options.source_token,
        "pretrained": options.pretrained if options.base is None else None,
        "base": str(options.base) if options.base else None,
        "device": options.device,
        "train_impressions": len(data.train.behaviors),
        "dev_impressions": len(data.dev.behaviors),
        "users_limit": options.users,
        "resume_file": str(options.resume) if options.resume else None,
        "news": len(data.ids),
        "problems": list(data.problems),
    }
    result.update(evaluate_nrms(data, options))
    if options.baselines:
        result["baselines"] = evaluate_baselines(data, options)
        result["baselines_fitted"] = "per user, on that user's train impressions"
        result["baselines_category_token"] = options.category_token
    result["total_seconds"] = round(time.perf_counter() - started, 3)
    return result


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def format_table(result: Mapping[str, Any]) -> str:
    """The result as a small text table: one row per model."""
    rows = [("NRMS", result)]
    rows += list(result.get("baselines", {}).items())
    head = f"{'model':<15}" + "".join(f"{m:>9}" for m in METRICS) + f"{'impr.':>9}"
    lines = [head, "-" * len(head)]
    for name, metrics in rows:
        cells = "".join(f"{_fmt(metrics.get(m)):>9}" for m in METRICS)
        lines.append(f"{name:<15}{cells}{metrics.get('impressions', 0):>9}")
    rate = result.get("samples_per_second")
    if rate is not None:
        lines.append(f"training: {float(rate):,.1f} samples/s")
    if result.get("seconds_per_reader") is not None:
        lines.append(
            f"readers: {result['seconds_per_reader']:.2f} s each "
            f"({result['readers_seconds']:.1f} s, --jobs {result['jobs']})"
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):.4f}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nrms_core.mind.evaluate",
        description=f"{__doc__}\n{protocol.__doc__}",
    )
    p.add_argument("--train", type=Path, required=True, help="MIND-format train folder")
    p.add_argument("--dev", type=Path, required=True, help="MIND-format dev folder")
    p.add_argument("--protocol", choices=("general", "personal"), required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--epochs", type=int, default=None, help="fine-tuning epochs (default: the model's config)"
    )
    p.add_argument("--negatives", type=int, default=4, help="K negatives per click")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--base", type=Path, help="start from this checkpoint instead of GloVe")
    p.add_argument("--no-warm-start", dest="warm_start", action="store_false")
    p.add_argument("--warm-epochs", type=int, default=WARM_EPOCHS, help="epochs of the warm start")
    p.add_argument(
        "--warm-samples",
        type=int,
        default=WARM_SAMPLES,
        help="pseudo-impressions of the warm start",
    )
    p.add_argument(
        "--no-source-token",
        dest="source_token",
        action="store_false",
        help="NRMS sees titles only, without the news category as a source token",
    )
    p.add_argument(
        "--no-pretrained",
        dest="pretrained",
        action="store_false",
        help="random word embeddings instead of GloVe (for quick tests)",
    )
    p.add_argument("--baselines", action="store_true", help="also evaluate the baselines")
    p.add_argument(
        "--baselines-titles-only",
        dest="category_token",
        action="store_false",
        help="baselines see titles only, without the news category as an extra token",
    )
    p.add_argument(
        "--users",
        type=int,
        default=None,
        help="evaluate only the first N dev readers (in the order they first appear in dev)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="personal protocol: fine-tune readers in N worker processes (same figures)",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar on stderr",
    )
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="general protocol: train --epochs (default 1) plain epochs, saving the model, "
        "optimizer and epoch to this file after each; continue from it when it exists",
    )
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (1 with one line on stderr for known errors)."""
    args = _parser().parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    epochs = 1 if args.epochs is None else args.epochs
    if min(epochs, args.negatives, args.warm_epochs, args.warm_samples) < 1:
        print(
            "error: --epochs, --negatives, --warm-epochs and --warm-samples must be >= 1",
            file=sys.stderr,
        )
        return 1
    if (args.users is not None and args.users < 1) or args.jobs < 1:
        print("error: --users and --jobs must be >= 1", file=sys.stderr)
        return 1
    if args.resume is not None and args.protocol != "general":
        print("error: --resume needs --protocol general", file=sys.stderr)
        return 1
    for folder in (args.train, args.dev):
        if not folder.is_dir():
            print(f"error: not a folder: {folder}", file=sys.stderr)
            return 1
    if args.base is not None and not args.base.is_file():
        print(f"error: no such checkpoint: {args.base}", file=sys.stderr)
        return 1
    from nrms_core.checkpoint import CheckpointError  # imports torch: after the cheap checks

    options = Options(
        protocol=args.protocol,
        seed=args.seed,
        epochs=args.epochs,
        device=args.device,
        base=args.base,
        warm_start=args.warm_start,
        warm_epochs=args.warm_epochs,
        warm_samples=args.warm_samples,
        pretrained=args.pretrained,
        negatives=args.negatives,
        baselines=args.baselines,
        category_token=args.category_token,
        source_token=args.source_token,
        users=args.users,
        jobs=args.jobs,
        progress=args.progress,
        resume=args.resume,
    )
    try:
        result = run(args.train, args.dev, options)
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CheckpointError as exc:
        print(f"error: cannot use checkpoint {args.base}: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if "CUDA" not in str(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(_json_safe(result), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
