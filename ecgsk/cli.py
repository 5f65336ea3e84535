"""The ``ecgsk`` command.

Examples
--------
.. code-block:: console

    $ ecgsk --version
    $ ecgsk models
    $ ecgsk generate -n 5 -o out
"""

import argparse
import sys
import warnings

__all__ = ["main", "build_parser"]


def _version():
    from . import __version__

    return __version__


def build_parser():
    """Return the argument parser of the ``ecgsk`` command."""
    parser = argparse.ArgumentParser(prog="ecgsk", description="scikit-learn-style ECG generative models")
    parser.add_argument("--version", action="version", version=f"ecgsk {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("models", help="list the discovered models (built-ins and plugins)")

    gen = sub.add_parser(
        "generate",
        help="generate ECG files (deepfake-ecg compatible .asc by default)",
        description="Generate synthetic ECGs with a model and write one file per ECG. "
        "With no --weights, Pulse2Pulse uses the pretrained deepfake-ecg weights.",
    )
    gen.add_argument("-n", "--num", type=int, required=True, help="number of ECGs to generate")
    gen.add_argument("-o", "--out-dir", required=True, help="output directory (must not hold files already)")
    gen.add_argument("--start-id", type=int, default=0, help="id of the first file (default 0)")
    gen.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    gen.add_argument("--format", default="asc", choices=["asc", "npy", "csv", "wfdb"], help="file format")
    gen.add_argument("--leads", type=int, default=8, choices=[8, 12], help="8 independent leads or all 12")
    gen.add_argument("--seed", type=int, default=None, help="random seed for reproducible output")
    gen.add_argument("--batch-size", type=int, default=None, help="ECGs generated per batch")
    gen.add_argument("--model", default="pulse2pulse", help="registered model name (default pulse2pulse)")
    gen.add_argument("--weights", default=None, help="checkpoint path (default: pretrained weights)")
    gen.add_argument("--overwrite", action="store_true", help="allow writing into a non-empty directory")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def _cmd_models():
    from .registry import list_models

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = list_models()
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if not rows:
        print("no models found")
        return 0
    width = max(len(r["name"]) for r in rows)
    kind_width = max(len(r["kind"]) for r in rows)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['kind']:<{kind_width}}  {row['distribution']}")
    return 0


def _cmd_generate(args):
    from .generation import generate

    kwargs = dict(
        start_id=args.start_id,
        device=args.device,
        model=args.model,
        format=args.format,
        leads=args.leads,
        random_state=args.seed,
        weights=args.weights,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    if args.batch_size is not None:
        kwargs["batch_size"] = args.batch_size
    out_dir = generate(args.num, args.out_dir, **kwargs)
    print(f"wrote {args.num} ECG(s) as {args.format} to {out_dir}")
    return 0


def main(argv=None):
    """Run the ``ecgsk`` command; returns the exit status.

    Errors a user can fix (a bad count, an existing directory, a missing
    device) print one line and exit with status 2.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "models":
            return _cmd_models()
        if args.command == "generate":
            return _cmd_generate(args)
    except (ValueError, FileExistsError, ImportError, KeyError) as exc:
        print(f"ecgsk {args.command}: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
