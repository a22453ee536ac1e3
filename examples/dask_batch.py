"""Plan (or screen) JSON Lines shards of patients on Dask (docs/scale.md), one output shard per
input shard, each byte for byte what `ketadose plan REGIMEN --patients SHARD --format jsonl`
writes for it. Needs the scale extra: pip install 'ketadose[scale]'.

    python examples/dask_batch.py plan crps-schwartzman-2009 'in/*.jsonl' out/ \
        --start 2026-12-01T09:00 [--workers 2]

Each input file is one partition (no file is split, so line numbers and error records are the
file's own); each partition builds one ketadose.api.Batch (the regimen is loaded and checked
once per partition, not per record) and streams its lines through it. On a cluster, point the
client at the scheduler instead of the local process pool: nothing else changes.
"""

from __future__ import annotations

import argparse
import glob
import os


def plan_shard(text_lines, mode, regimen_ref, options) -> list:
    """One partition (the lines of one input file) -> its output lines, in order."""
    from ketadose import api

    batch = api.Batch(mode, api.load_regimen(regimen_ref) if regimen_ref else None, **options)
    return list(batch.lines("".join(text_lines).encode("utf-8")))


def run(mode, regimen_ref, paths, out_dir, options, workers=None, scheduler="processes"):
    """Write OUT_DIR/<input name> for every input path; returns the output paths."""
    import sys

    import cloudpickle
    import dask
    import dask.bag as db

    if __name__ != "__main__":  # imported (as by the test): worker processes cannot import this
        cloudpickle.register_pickle_by_value(sys.modules[__name__])  # file, so send its code
    paths = sorted(paths)
    # blocksize=None: one partition per file, lines kept whole with their newline
    bag = db.read_text(paths, blocksize=None, linedelimiter="\n")
    results = bag.map_partitions(plan_shard, mode, regimen_ref, options)
    os.makedirs(out_dir, exist_ok=True)
    outs = [os.path.join(out_dir, os.path.basename(p)) for p in paths]
    with dask.config.set(scheduler=scheduler, num_workers=workers):
        parts = results.to_delayed()
        for out, lines in zip(outs, dask.compute(*parts)):
            with open(out, "w", encoding="utf-8") as fh:
                fh.writelines(lines)
    return outs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["plan", "check"])
    ap.add_argument("regimen")
    ap.add_argument("inputs", help="glob of JSON Lines shards, e.g. 'in/*.jsonl'")
    ap.add_argument("out_dir")
    ap.add_argument("--start")
    ap.add_argument("--date")
    ap.add_argument("--override")
    ap.add_argument("--reproducible", action="store_true")
    ap.add_argument("--workers", type=int)
    args = ap.parse_args()
    options = {k: v for k, v in {"start": args.start, "date": args.date,
                                 "override": args.override}.items() if v is not None}
    if args.reproducible:
        options["reproducible"] = True
    outs = run(args.mode, args.regimen, glob.glob(args.inputs), args.out_dir, options,
               args.workers)
    print(f"wrote {len(outs)} shard(s) to {args.out_dir}")


if __name__ == "__main__":
    main()
