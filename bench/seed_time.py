"""Append one whole-seed timing to bench/results/seed-time.json (issue 29's record).

    date +%s > start; ILR_PHASES_FILE=phases.jsonl dvc repro; date +%s > end   # in a clone

Issue 29 times one seed of c674c92's default (one round per arm, 400 prompts, 500 test
problems); since then the default has three rounds per arm at 120 and 200, so a clone of a later
commit needs those params back (profiles/full.yaml's sizes, `seeds: []`, rounds r1 and n1,
dpo_rounds d1) before the timed `dvc repro`.
    python bench/seed_time.py --start start --end end --phases phases.jsonl \\
        --commit-after COMMIT --before-s 3222 --commit-before 64217ae \\
        --before-note "an earlier machine of this kind" [--out bench/results/seed-time.json]

Each measurement is ``{"cpu_flags", "dtype", "before_s", "after_s", "commit_before",
"commit_after", ...}``: this machine's matmul-relevant CPU flags, the compute dtype
``model.dtype: auto`` resolves to here, the wall-clock seconds of the timed `dvc repro`
(``after_s``, from the two ``date +%s`` files), and the per-stage-script seconds of its phases
file (``ilr.core.phases``; ``bench/phase_table.py`` prints the same split). ``before_s`` is
given: a run of the earlier commit, with ``--before-note`` saying where it was timed when that
was not this machine in the same sitting.
"""
import argparse
import json
import os
import sys
from pathlib import Path

from train_throughput import FLAGS, cpu_info


def cpu_flags() -> list[str]:
    """This CPU's matmul-relevant flags (train_throughput's list)."""
    flags = cpu_info()[1]
    return [f for f in FLAGS if f in flags]


def stage_seconds(phases: str) -> dict:
    """Total seconds per stage script in a phases file, largest first."""
    totals: dict[str, float] = {}
    for line in Path(phases).read_text().splitlines():
        row = json.loads(line)
        if row["phase"] == "total":
            name = row["stage"].removeprefix("stages.")
            totals[name] = totals.get(name, 0.0) + row["seconds"]
    return {k: round(v, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--start", "--end", "--phases", "--commit-after", "--commit-before"):
        parser.add_argument(name, required=True)
    parser.add_argument("--before-s", type=float, required=True)
    parser.add_argument("--before-note", default="this machine, the same sitting")
    parser.add_argument("--out", default="bench/results/seed-time.json")
    args = parser.parse_args(argv)
    from ilr.train.checkpoints import resolve_dtype

    after = float(Path(args.end).read_text()) - float(Path(args.start).read_text())
    record = {"cpu_flags": cpu_flags(), "dtype": resolve_dtype("auto"), "cores": os.cpu_count(),
              "before_s": args.before_s, "after_s": round(after, 1),
              "commit_before": args.commit_before,
              "commit_after": args.commit_after, "before_timed_on": args.before_note,
              "after_stage_s": stage_seconds(args.phases)}
    out = Path(args.out)
    records = json.loads(out.read_text()) if out.is_file() else []
    out.write_text(json.dumps(records + [record], indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
