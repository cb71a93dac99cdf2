"""Test and label accuracy of every model at two git revisions, paired on the same problems:
did a change that should not move results (a dtype, a speed-up) move them beyond noise?

    python bench/paired_diff.py 29f88f8 HEAD      # float32 run vs model.dtype auto run
    python bench/paired_diff.py c674c92 ../clone  # vs a run's folder (a clone after dvc repro)

Reads each revision's data/predictions/<model>.jsonl and data/labels/<version>.jsonl through
`dvc.api` (the local cache or a remote must hold them), or from the folder when a revision is
a folder, and prints, per model, the accuracy at
each revision, the problems only one of them got right and the exact McNemar p. With about 20
models' worth of tests, expect one p below 0.05 by chance.
"""
import argparse
import json
import subprocess
from pathlib import Path

import dvc.api
import yaml

from ilr.core.params import TaskParams
from ilr.measure.paired_stats import mcnemar
from ilr.tasks.task import task_from_params


def read_text(path: str, rev: str) -> str:
    """A file at a git revision (through dvc.api) or in a run's folder."""
    if Path(rev).is_dir():
        return (Path(rev) / path).read_text()
    return dvc.api.read(path, rev=rev)


def outcomes(path: str, rev: str) -> dict | None:
    """``{id: correct}`` of a predictions file at ``rev``, or None where it has none."""
    try:
        text = read_text(path, rev)
    except Exception:  # noqa: BLE001 - any missing file or revision means "not at this rev"
        return None
    return {r["id"]: r["correct"] for r in map(json.loads, filter(None, text.splitlines()))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--models", default="base,supervisor,gold,r0,r1,n1,d1")
    parser.add_argument("--labels", default="r0,r1,n1")
    args = parser.parse_args(argv)
    # full hashes: dvc.api.read(rev="HEAD") read another worktree's HEAD here (dvc 3.67)
    args.before, args.after = (rev if Path(rev).is_dir() else subprocess.run(
        ["git", "rev-parse", "--verify", rev], capture_output=True, text=True, check=True
    ).stdout.strip() for rev in (args.before, args.after))
    print(f"{'':9} {'model':10} {'before':>7} {'after':>7} {'only before':>11} "
          f"{'only after':>10} {'McNemar p':>9}")
    for kind, names in (("test", args.models), ("labels", args.labels)):
        for name in names.split(","):
            read = (lambda rev: outcomes(f"data/predictions/{name}.jsonl", rev)) \
                if kind == "test" else (lambda rev: label_outcomes(name, rev))
            b, a = read(args.before), read(args.after)
            if not b or not a or set(a) != set(b):
                print(f"{kind:9} {name:10} not comparable (missing or other ids)")
                continue
            ids = sorted(b)
            test = mcnemar([b[i] for i in ids], [a[i] for i in ids])
            print(f"{kind:9} {name:10} {sum(b.values()) / len(b):7.3f} {sum(a.values()) / len(a):7.3f} "
                  f"{test['a_only']:11d} {test['b_only']:10d} {test['p']:9.3f}")


def label_outcomes(version: str, rev: str) -> dict | None:
    """``{id: label right}`` of a label version at ``rev``, graded against that rev's gold."""
    try:
        labels = [json.loads(x) for x in read_text(f"data/labels/{version}.jsonl",
                                                   rev).splitlines() if x]
        gold = {g["id"]: g for g in map(json.loads, filter(None, read_text(
            "data/gold/train.jsonl", rev).splitlines()))}
        task_section = yaml.safe_load(read_text("params.yaml", rev))["task"]
    except Exception:  # noqa: BLE001
        return None
    task = task_from_params(TaskParams(**{k: v for k, v in task_section.items()
                                          if k in TaskParams.model_fields}))
    return {r["id"]: task.grade(r["response"], gold[r["id"]]["response"], item=gold[r["id"]])
            for r in labels}


if __name__ == "__main__":
    main()
