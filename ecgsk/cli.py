"""The ``ecgsk`` command.

Examples
--------
.. code-block:: console

    $ ecgsk --version
    $ ecgsk models
    $ ecgsk generate -n 5 -o out
    $ ecgsk train pulse2pulse my_ecgs/ -o p2p.ecgsk --epochs 50 --param model_size=25
    $ ecgsk plot record.hea out/*.asc -o ecgs.pdf --layout 3x4+II
    $ ecgsk train cox_cvae my_ecgs/ -o cox.ecgsk --target outcomes.csv
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
    gen.add_argument("-n", "--num", type=int, default=None,
                     help="number of ECGs to generate (default with --conditions: one per row)")
    gen.add_argument("-o", "--out-dir", required=True, help="output directory (must not hold files already)")
    gen.add_argument("--start-id", type=int, default=0, help="id of the first file (default 0)")
    gen.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    gen.add_argument("--format", default="asc", choices=["asc", "npy", "csv", "wfdb"], help="file format")
    gen.add_argument("--leads", type=int, default=8, choices=[8, 12], help="8 independent leads or all 12")
    gen.add_argument("--seed", type=int, default=None,
                     help="base seed: file {id} is the same for the same seed whatever the batch size, shard or "
                     "number of processes; give it to every shard of one run (default: a fresh one, printed)")
    gen.add_argument("--batch-size", type=int, default=None, help="ECGs generated and written per batch (default 64)")
    gen.add_argument("--model", default=None,
                     help="registered model name (default: the model in --weights, else pulse2pulse)")
    gen.add_argument("--weights", default=None, metavar="FILE",
                     help="a model file from `ecgsk train` or est.save (for pulse2pulse also a deepfake-ecg "
                     "checkpoint; default: pulse2pulse's pretrained weights)")
    gen.add_argument("--conditions", default=None, metavar="FILE.csv",
                     help="for conditional models: a CSV with one row per ECG, columns as the model's conditions")
    gen.add_argument("--shard", default=None, metavar="I/N",
                     help="write only shard I of N (a contiguous block of the ids), e.g. one Slurm array task; "
                     "under torchrun the ids are split across the ranks as well")
    gen.add_argument("--overwrite", action="store_true", help="allow writing into a non-empty directory")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    tr = sub.add_parser(
        "train",
        help="train a model on a folder of ECG records and save it",
        description="Train a registered model on a folder of WFDB, challenge, .asc or .npy records and save it "
        "to one file, which `ecgsk generate --weights` and ecgsk.load read. Works under torchrun.",
    )
    tr.add_argument("model", help="registered model name (see `ecgsk models`)")
    tr.add_argument("data", help="folder of ECG records")
    tr.add_argument("-o", "--output", required=True, help="file to write the trained model to")
    tr.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="a model parameter, e.g. --param lr=2e-4 (repeatable)")
    tr.add_argument("--epochs", type=int, default=None, help="training epochs (max_epochs)")
    tr.add_argument("--device", default=None, help="cpu, cuda or auto")
    tr.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                    help="also save to the output file every N epochs")
    tr.add_argument("--conditions", default=None, metavar="FILE.csv",
                    help="for conditional models (cvae, cox_cvae): a CSV with a 'record' column (file name without "
                    "suffix) and one column per condition (default: age and sex from the record headers)")
    tr.add_argument("--target", default=None, metavar="FILE.csv",
                    help="for risk models (cox_cvae): a CSV with columns record, time, event (1 = event, 0 = censored)")
    tr.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    pl = sub.add_parser(
        "plot",
        help="draw ECG files on calibrated ECG paper (PDF or PNG)",
        description="Draw each ECG of the given files on ECG paper at exactly --speed mm/s and --gain mm/mV, one "
        "page per ECG: a .pdf output is one multi-page file, a .png output one file per page (name-0.png, ...) "
        "or the file itself for a single ECG. Reads .asc (deepfake-ecg), .hea/.mat (WFDB, CinC challenge), "
        ".npy and .csv files.",
    )
    pl.add_argument("files", nargs="+", metavar="FILE", help="ECG files to draw")
    pl.add_argument("-o", "--output", required=True, metavar="OUT.pdf|OUT.png", help="file to write")
    pl.add_argument("--fs", type=float, default=None,
                    help="sampling rate in Hz of files that do not record one (.asc, .npy, .csv; default 500); "
                    "WFDB/challenge records use their header's")
    pl.add_argument("--layout", default="3x4+II", choices=["3x4+II", "6x2", "12x1"], help="page layout")
    pl.add_argument("--speed", type=float, default=25.0, help="paper speed in mm/s (default 25)")
    pl.add_argument("--gain", type=float, default=10.0, help="gain in mm/mV (default 10)")
    _add_evaluate(sub)
    return parser


def _parse_param(text):
    """``name=value`` with value read as JSON when it parses (numbers, true, null, lists), else a string."""
    import json

    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"--param takes NAME=VALUE; got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


def _cmd_train(args):
    from .training import train

    params = dict(_parse_param(p) for p in args.param)
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be a positive integer; got {args.epochs}")
    est = train(args.model, args.data, args.output, params=params, epochs=args.epochs, device=args.device,
                checkpoint_every=args.checkpoint_every, verbose=0 if args.quiet else 1,
                conditions=args.conditions, target=args.target)
    epochs = getattr(est, "n_iter_", None)
    done = f" after {epochs} epoch(s)" if epochs is not None else ""
    if getattr(est, "interrupted_", False):
        done += " (interrupted)"
    print(f"trained {args.model}{done}; saved to {args.output}")
    return 0


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


def _read_conditions(path):
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ValueError(f"--conditions: no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"--conditions: {path} is not a readable CSV file ({exc})") from None
    if len(frame) == 0:
        raise ValueError(f"--conditions: {path} has a header but no rows; expected one row per ECG")
    return frame


def _cmd_generate(args):
    from .generation import CLI_NAMES, _generate_files, _parse_shard, launcher_shard

    conditions = None if args.conditions is None else _read_conditions(args.conditions)
    num = args.num
    if num is None:
        if conditions is None:
            raise ValueError("-n/--num is required (or --conditions FILE.csv, one ECG per row)")
        num = len(conditions)
    elif conditions is not None and len(conditions) not in (1, num):
        raise ValueError(f"--conditions has {len(conditions)} rows; expected one per ECG (-n {num}) or one for all")
    index, n_shards = _parse_shard(args.shard, CLI_NAMES)
    rank = launcher_shard()  # torchrun: split this shard's ids across the ranks, no process group needed
    if rank is not None:
        index, n_shards = index * rank[1] + rank[0], n_shards * rank[1]
    done = _generate_files(
        num, args.out_dir, args.start_id, args.device, model=args.model, format=args.format, leads=args.leads,
        batch_size=args.batch_size, random_state=args.seed, weights=args.weights, conditions=conditions,
        shard=(index, n_shards), progress=not args.quiet and (rank is None or rank[0] == 0), overwrite=args.overwrite,
        names=CLI_NAMES,
    )
    ids = done["ids"]
    where = f"ECG(s) {ids.start}-{ids.stop - 1}" if len(ids) else "no ECGs"
    part = f" (shard {index}/{n_shards} of {num})" if n_shards > 1 else ""
    print(f"wrote {done['written']} ECG(s) as {args.format} to {done['out_dir']}{part}: {where}, seed {done['seed']}")
    return 0


def _one_line(exc):
    """The error's message on one line (a KeyError's repr quotes drop, newlines become spaces)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    if isinstance(exc, OSError) and exc.strerror and exc.args[1:]:
        text = exc.strerror  # OutputDirError(errno, message): the message alone
    return " ".join(str(text).split())


def _read_for_plot(path, fs):
    """(batch, lead names or None, fs) of one file, read by its extension (``ecgsk.io``'s ``(X, meta)`` readers)."""
    from pathlib import Path

    from . import io

    path = Path(path)
    suffix = path.suffix.lower()
    base = path.with_suffix("") if suffix in (".hea", ".mat", ".dat") else path
    if not (path.exists() or base.with_suffix(".hea").exists()):
        raise FileNotFoundError(f"FILE: no such file: {path}")
    if suffix in (".hea", ".mat", ".dat"):
        reader = io.read_challenge_record if base.with_suffix(".mat").exists() else io.read_wfdb
        X, meta = reader(base)
        header_fs = float(meta.loc[0, "fs"])
        if fs is not None and float(fs) != header_fs:
            raise ValueError(f"--fs {fs:g} contradicts the {header_fs:g} Hz in the header of {path}")
        return X, list(meta.loc[0, "leads"]), header_fs
    default_fs = 500.0 if fs is None else float(fs)
    readers = {".asc": io.read_asc, ".npy": io.read_npy, ".csv": io.read_csv}
    if suffix not in readers:
        raise ValueError(f"FILE: cannot read {path}: expected a .asc, .hea, .mat, .npy or .csv file")
    X, meta = readers[suffix](path, fs=default_fs)
    if suffix == ".npy":  # stores no names: plot_ecg's defaults by lead count (LEADS_12, LEADS_8, "lead 1", ...)
        return X, None, default_fs
    return X, list(meta.loc[0, "leads"]), default_fs  # .asc: LEADS_8 or LEADS_12 by column count


def _cmd_plot(args):
    from pathlib import Path

    from .plotting import plot_ecg, save_pages

    for flag, value in (("--speed", args.speed), ("--gain", args.gain), ("--fs", args.fs)):
        if value is not None and not value > 0:
            raise ValueError(f"{flag} must be a positive number; got {value:g}")
    if Path(args.output).suffix.lower() not in (".pdf", ".png"):
        raise ValueError(f"-o/--output must end in .pdf or .png; got {args.output!r}")
    import matplotlib.pyplot as plt

    pages = []
    try:
        for path in args.files:
            X, leads, fs = _read_for_plot(path, args.fs)
            for i, ecg in enumerate(X):
                title = Path(path).name if len(X) == 1 else f"{Path(path).name} [{i}]"
                pages.append(plot_ecg(ecg, fs=fs, layout=args.layout, speed=args.speed, gain=args.gain,
                                      lead_names=leads, title=title))
        written = save_pages(pages, args.output)
    finally:
        for fig in pages:
            plt.close(fig)
    where = str(written[0]) if len(written) == 1 else f"{written[0]} ... {written[-1].name}"
    print(f"wrote {len(pages)} page(s) at {args.speed:g} mm/s, {args.gain:g} mm/mV to {where}")
    return 0


def _add_evaluate(sub):
    ev = sub.add_parser(
        "evaluate",
        help="evaluate synthetic ECGs (or lead-I reconstructions) against real ones, each metric next to its floor",
        description="Write an HTML report (and optionally JSON) of ecgsk.evaluation: every metric of the synthetic "
        "set next to a real-against-real floor, or, with --reconstruction, per-lead r, RMSE and amplitude slopes "
        "of reconstructions next to a mean-template floor (and a ridge floor with --train). Folders of WFDB / "
        "challenge (.hea), deepfake-ecg .asc or .npy records. Exit status 0 whatever the verdict "
        "(1 with --fail-on-reject when rejected).",
    )
    ev.add_argument("--real", default=None, metavar="DIR", help="folder of real ECGs (the reference)")
    ev.add_argument("--synthetic", default=None, metavar="DIR", help="folder of synthetic ECGs")
    ev.add_argument("--reconstruction", action="store_true",
                    help="evaluate lead-I reconstructions: --true DIR --predicted DIR (records in the same order)")
    ev.add_argument("--true", default=None, metavar="DIR", help="with --reconstruction: the true 12-lead ECGs")
    ev.add_argument("--predicted", default=None, metavar="DIR", help="with --reconstruction: the reconstructions")
    ev.add_argument("--train", default=None, metavar="DIR",
                    help="the model's training ECGs (memorisation metrics; the ridge floor of reconstructions)")
    ev.add_argument("--fs", type=float, default=500.0,
                    help="sampling rate in Hz (default 500); WFDB headers that say otherwise are an error")
    ev.add_argument("-o", "--output", required=True, metavar="report.html", help="HTML report to write")
    ev.add_argument("--json", default=None, metavar="out.json", help="also write the report as JSON")
    ev.add_argument("--seed", type=int, default=0, help="random state of the splits and bootstraps (default 0)")
    ev.add_argument("--fail-on-reject", action="store_true", help="exit with status 1 when the verdict is reject")


def _read_ecg_folder(path, flag, fs):
    """(X, lead names) of a folder of records; the one place that reads folders for ``ecgsk evaluate``."""
    from .training import read_training_folder

    if path is None:
        raise ValueError(f"{flag} DIR is required")
    try:
        X, leads, file_fs = read_training_folder(path)
    except FileNotFoundError:
        raise ValueError(f"{flag}: {path} is not a folder of ECG records") from None
    except ValueError as exc:
        raise ValueError(f"{flag}: {_one_line(exc)}") from None
    if abs(float(file_fs) - float(fs)) > 1e-6:
        raise ValueError(f"{flag}: the records of {path} are at {file_fs:g} Hz but --fs is {fs:g}; resample them "
                         "or pass --fs")
    return X, tuple(leads)


def _common_leads(sets):
    """Crop every (X, leads) to the leads they share (LEADS_12 order) and to the shortest length."""
    names = [leads for _, leads in sets]
    shared = [lead for lead in names[0] if all(lead in other for other in names[1:])]
    if not shared:
        raise ValueError(f"the folders share no lead: {[list(n) for n in names]}")
    length = min(X.shape[-1] for X, _ in sets)
    return [X[:, [leads.index(lead) for lead in shared], :length] for X, leads in sets], shared


def _cmd_evaluate(args):
    if not args.fs > 0:
        raise ValueError(f"--fs must be a positive sampling rate; got {args.fs:g}")
    if args.reconstruction:
        from .evaluation import evaluate_reconstruction

        if args.real or args.synthetic:
            raise ValueError("--reconstruction takes --true and --predicted, not --real/--synthetic")
        sets = [_read_ecg_folder(args.true, "--true", args.fs), _read_ecg_folder(args.predicted, "--predicted", args.fs)]
        if args.train:
            sets.append(_read_ecg_folder(args.train, "--train", args.fs))
        arrays, leads = _common_leads(sets)
        if len(arrays[0]) != len(arrays[1]):
            raise ValueError(f"--predicted has {len(arrays[1])} records but --true has {len(arrays[0])}; they must "
                             "pair one to one")
        if leads[0] != "I":
            raise ValueError(f"--true: reconstructions are scored from lead I, which the folders lack (leads {leads})")
        report = evaluate_reconstruction(arrays[0], arrays[1], fs=args.fs, train=arrays[2] if args.train else None,
                                         random_state=args.seed)
    else:
        from .evaluation import evaluate_generator

        if args.true or args.predicted:
            raise ValueError("--true/--predicted need --reconstruction")
        sets = [_read_ecg_folder(args.real, "--real", args.fs), _read_ecg_folder(args.synthetic, "--synthetic", args.fs)]
        if args.train:
            sets.append(_read_ecg_folder(args.train, "--train", args.fs))
        arrays, leads = _common_leads(sets)
        report = evaluate_generator(arrays[0], arrays[1], fs=args.fs, train=arrays[2] if args.train else None,
                                    random_state=args.seed, reference=f"real ECGs in {args.real}")
    report.to_html(args.output)
    if args.json:
        report.to_json(args.json)
    failed = report.failed
    verdict = "PASS" if report.passed else "REJECT"
    detail = f"; failed: {', '.join(failed[:8])}{' ...' if len(failed) > 8 else ''}" if failed else ""
    print(f"verdict: {verdict} ({len(failed)} of {len(report.metrics)} metrics failed{detail}); leads "
          f"{', '.join(leads)}; wrote {args.output}" + (f" and {args.json}" if args.json else ""))
    return 1 if (args.fail_on_reject and not report.passed) else 0


def main(argv=None):
    """Run the ``ecgsk`` command; returns the exit status.

    Errors a user can fix (a bad count or format, an existing or unwritable
    output folder, a missing, corrupt or wrong-shaped ``--weights`` file, a
    missing device) print one line naming the option and exit with status
    2; an unexpected error keeps its traceback (exit status 1).
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
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "evaluate":
            return _cmd_evaluate(args)
        if args.command == "plot":
            return _cmd_plot(args)
    except (ValueError, FileExistsError, FileNotFoundError, ImportError, KeyError) as exc:
        print(f"ecgsk {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        from .generation import OutputDirError

        if not isinstance(exc, OutputDirError):
            raise
        print(f"ecgsk {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        from .exceptions import TrainingDivergedError

        if not isinstance(exc, TrainingDivergedError):
            raise
        print(f"ecgsk {args.command}: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
