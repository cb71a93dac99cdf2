"""Where a `dvc repro` spent its time, from the records ilr/core/phases.py writes when the
environment variable ILR_PHASES_FILE names a file; two files side by side (before, after).

    ILR_PHASES_FILE=/tmp/after.jsonl dvc repro
    python bench/phase_table.py bench/results/phases-float32.jsonl bench/results/phases-auto.jsonl

Each stage process writes a `startup` record first and a `total` record last; the table sums
them per stage script (stages.sft covers sft@gold, sft@r0 and every round_sft), with start-up,
model loading, compute and saving split out, then the whole run. With two files it prints the
seconds of each side by side and their ratio. Nothing here is a timed test.
"""
import argparse
import json
from collections import Counter, defaultdict

PARTS = ("startup", "load", "compute", "save")


def stage_runs(path: str) -> list[dict]:
    """One dict per stage process: its script, how many seconds each phase took, its total."""
    runs, current = [], None
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record["phase"] == "startup":
                current = {"script": record["stage"], **dict.fromkeys(PARTS, 0.0), "total": 0.0}
                runs.append(current)
            if current is not None:
                current[record["phase"]] = current.get(record["phase"], 0.0) + record["seconds"]
    return runs


def by_script(runs: list[dict]) -> dict:
    """Seconds per stage script (and processes), summed; key ``all`` is the whole run."""
    table = defaultdict(Counter)
    for run in runs:
        for key in (run["script"].removeprefix("stages."), "all"):
            table[key].update({k: run[k] for k in (*PARTS, "total")})
            table[key]["processes"] += 1
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="one phases file, or two: before and after")
    args = parser.parse_args(argv)
    tables = [by_script(stage_runs(f)) for f in args.files]
    if len(tables) == 1:
        print(f"{'stage script':16} {'runs':>4} {'total s':>8} {'start-up':>8} {'load':>6} "
              f"{'compute':>8} {'save':>6}")
        for name, row in sorted(tables[0].items(), key=lambda kv: (kv[0] == "all", -kv[1]["total"])):
            print(f"{name:16} {row['processes']:4d} {row['total']:8.0f} {row['startup']:8.1f} "
                  f"{row['load']:6.1f} {row['compute']:8.0f} {row['save']:6.1f}")
        return
    before, after = tables[:2]
    print(f"{'stage script':16} {'runs':>9} {'before s':>9} {'after s':>8} {'after/before':>12}")
    names = sorted(set(before) | set(after), key=lambda n: (n == "all", -before[n]["total"]))
    for name in names:
        b, a = before[name], after[name]
        ratio = f"{a['total'] / b['total']:.2f}" if b["total"] else "-"
        print(f"{name:16} {b['processes']:4d}/{a['processes']:<4d} {b['total']:9.0f} "
              f"{a['total']:8.0f} {ratio:>12}")
    for label, t in (("before", before["all"]), ("after", after["all"])):
        share = {k: t[k] / t["total"] for k in PARTS} if t["total"] else {}
        print(f"{label}: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in share.items()))


if __name__ == "__main__":
    main()
