"""``semfid-make-pairs SRC_DIR OUT_DIR --n N``: synthetic semantic-change / no-change pairs.

Writes ``OUT_DIR/pairs.csv`` and ``OUT_DIR/images/*.png`` (see
:func:`semfidelity.training.synth.make_pairs`). Exit codes: 0 success, 1 failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from semfidelity.training.synth import make_pairs

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-make-pairs",
        description="Make semantic-change (label 1 + mask) and no-change (label 0) image pairs "
        "from a folder of images; writes OUT_DIR/pairs.csv.",
    )
    p.add_argument("src_dir", help="folder of source images (png, jpg, ...)")
    p.add_argument("out_dir", help="output folder (created)")
    p.add_argument("--n", type=int, required=True, help="number of pairs")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, default=256, help="square crop size in pixels (256)")
    p.add_argument(
        "--semantic-fraction", type=float, default=0.5, help="share of label-1 pairs (0.5)"
    )
    p.add_argument(
        "--chain",
        default="semfid",
        choices=["semfid", "bsrgan"],
        help="degradation of the 'chain' no-change pairs: ours (semfid) or BSRGAN's (bsrgan)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = make_pairs(
            args.src_dir,
            args.out_dir,
            args.n,
            seed=args.seed,
            size=args.size,
            semantic_fraction=args.semantic_fraction,
            chain=args.chain,
        )
    except (FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"semfid-make-pairs: error: {exc}\n")
        return 1
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
