"""``python -m convnp.bench {ops,train,tape,peers,suite,shapes,gp} [options]``.

``peers [--repeat N] [--rounds R] [--json FILE] [--tf-python PY]`` compares convnp with
PyTorch and TensorFlow in R interleaved rounds; see `convnp.bench.peers`.
``suite [--models a,b] [--repeat N] [--rounds R] [--layers] [--json FILE] [--tf-python PY]``
times the train step and predict of several CNNs the same way; see `convnp.bench.suite`.
``shapes [--cases a,b] [--repeat N] [--rounds R] [--json FILE]`` times those CNNs' conv layers
one by one against PyTorch; see `convnp.bench.shapes`.
``gp [--repeat N] [--rounds R] [--batch B]`` times a WGAN-GP critic step (a second-order
gradient) against PyTorch; see `convnp.bench.gp`.
"""

from __future__ import annotations

import argparse
import os
import sys

from convnp.bench.common import reexec_without_openblas_overrides
from convnp.bench.shapes import CASES, parse_cases
from convnp.bench.suite_models import MODELS


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    from convnp.ops import _allocator

    _allocator.ensure_tuned()  # as fit does: the measured runs get the tuned allocator
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m convnp.bench", description=__doc__)
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="do not drop OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for this run")
    sub = parser.add_subparsers(dest="which", required=True)
    ops = sub.add_parser("ops", help="conv/pool kernels vs reference loops and PyTorch")
    ops.add_argument("--repeat", type=int, default=15)
    train = sub.add_parser("train", help="one training epoch of each spec model")
    train.add_argument("--repeat", type=int, default=3)
    tape = sub.add_parser("tape", help="GradientTape training step vs fit's on happyModel")
    tape.add_argument("--repeat", type=positive_int, default=20)
    peers = sub.add_parser("peers", help="fit/predict/import/RSS vs PyTorch and TensorFlow")
    peers.add_argument("--repeat", type=positive_int, default=3,
                       help="timed epochs per worker, after one warm-up epoch (default: 3)")
    peers.add_argument("--rounds", type=positive_int, default=3,
                       help="interleaved rounds of timed workers per model (convnp, torch, "
                            "tensorflow, then again); times are medians over rounds and "
                            "ratios medians of the within-round ratios (default: 3)")
    peers.add_argument("--json", default=None,
                       help="also write the records to this file (JSON lines, atomically)")
    peers.add_argument("--tf-python", default=None,
                       help="interpreter that has tensorflow (default: this one)")
    suite = sub.add_parser("suite", help="train step/predict of several CNNs vs PyTorch and "
                                          "TensorFlow, optional per-layer profile")
    suite.add_argument("--models", default=None,
                       help=f"comma-separated subset of: {', '.join(MODELS)} (default: all)")
    suite.add_argument("--repeat", type=positive_int, default=3,
                       help="timed epochs per worker after a warm-up epoch (default: 3)")
    suite.add_argument("--rounds", type=positive_int, default=3,
                       help="interleaved rounds per model (default: 3)")
    suite.add_argument("--layers", action="store_true",
                       help="also profile convnp per layer kind (forward/backward, GEMM "
                            "efficiency)")
    suite.add_argument("--layer-steps", type=positive_int, default=5,
                       help="training steps timed by --layers (default: 5)")
    suite.add_argument("--json", default=None,
                       help="also write the records to this file (JSON lines, atomically)")
    suite.add_argument("--tf-python", default=None,
                       help="interpreter that has tensorflow (default: this one)")
    shapes = sub.add_parser("shapes", help="the suite's conv layers one by one, forward and "
                                           "forward+backward, vs PyTorch")
    shapes.add_argument("--cases", type=parse_cases, default=None,
                        help=f"comma-separated subset of: {', '.join(CASES)} (default: all)")
    shapes.add_argument("--repeat", type=positive_int, default=10,
                        help="timed calls per round; a round keeps the best (default: 10)")
    shapes.add_argument("--rounds", type=positive_int, default=3,
                        help="interleaved rounds (convnp, then PyTorch); ratios are medians of "
                             "the within-round ratios (default: 3)")
    shapes.add_argument("--json", default=None,
                        help="also write the records to this file (JSON lines, atomically)")
    gp = sub.add_parser("gp", help="a WGAN-GP critic step (gradient penalty) vs PyTorch")
    gp.add_argument("--repeat", type=positive_int, default=5,
                    help="timed steps per round after a warm-up step (default: 5)")
    gp.add_argument("--rounds", type=positive_int, default=3,
                    help="interleaved rounds (convnp, then PyTorch) (default: 3)")
    gp.add_argument("--batch", type=positive_int, default=64,
                    help="images per step (default: 64)")
    args = parser.parse_args(argv)

    if not args.keep_openblas_env and not os.environ.get("CONVNP_BENCH_REEXEC"):
        reexec_without_openblas_overrides(argv)

    if args.which == "ops":
        from convnp.bench.ops import run
    elif args.which == "train":
        from convnp.bench.train import run
    elif args.which == "tape":
        from convnp.bench.tape import run
    elif args.which == "suite":
        from convnp.bench.suite import run
    elif args.which == "shapes":
        from convnp.bench.shapes import run
    elif args.which == "gp":
        from convnp.bench.gp import run
    else:
        from convnp.bench.peers import run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
