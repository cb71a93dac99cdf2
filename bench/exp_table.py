"""Finished `dvc exp run`s side by side: each round's figures, read from the metrics files every
experiment commits (issue 30's alpha ablation and the scaled-supervisor run).

    dvc exp run --queue -n alpha-0.05 -S 'seeds=[]' -S refine.alpha=0.05
    dvc exp run --queue -n alpha-0.30 -S 'seeds=[]' -S refine.alpha=0.30
    dvc exp run --run-all --jobs 1
    python bench/exp_table.py --exp alpha-0.05 --exp alpha-0.30 --baseline alpha-0.15=HEAD \\
        --out bench/results/alpha-ablation.json

An experiment is a git commit under refs/exps (`dvc exp show` lists them); ``--baseline
NAME=REV`` adds a plain revision, such as the committed run, whose root metrics are seed 0's
(the seed runs' figures live under runs/). For each label version the record keeps test
accuracy, label accuracy, what the round replaced, fixed and broke, the feedback's accuracy on
the round's decided items and its break-even, and KL from r0; for each experiment the
supervisor's and the gold-trained student's test accuracy, their parameters, and the params
the experiment set (`dvc exp show`'s params are the whole file; this keeps the overrides).
"""
import argparse
import json
import subprocess
from pathlib import Path

import yaml

LABEL_FIELDS = ("label_accuracy", "n_compared", "n_replaced", "n_fixed", "n_broken",
                "feedback_accuracy", "feedback_break_even", "fixed_vs_broken_p")


def exp_revision(name: str, refs: list[str]) -> str:
    """The one ref under refs/exps whose last part is ``name``."""
    found = [r for r in refs if r.startswith("refs/exps/") and r.rsplit("/", 1)[-1] == name]
    if len(found) != 1:
        raise SystemExit(f"--exp {name}: {len(found)} experiments of that name "
                         f"({found or 'see dvc exp show'}); give a unique name")
    return found[0]


def versions_row(files: dict[str, dict]) -> dict:
    """One experiment's figures by label version, from its metrics files by path."""
    rows: dict[str, dict] = {}
    for path, data in sorted(files.items()):
        parts = Path(path).with_suffix("").parts   # metrics/<kind>/<version>
        if len(parts) != 3:
            continue
        kind, version = parts[1], parts[2]
        row = rows.setdefault(version, {})
        if kind in ("rounds", "dpo"):
            row["test_accuracy"] = data["accuracy"]
        elif kind == "labels":
            row.update({k: data[k] for k in LABEL_FIELDS if k in data})
        elif kind == "kl":
            row["kl"] = data["kl"]
    return rows


def read_revision(rev: str) -> tuple[dict, dict]:
    """(metrics files by path, params.yaml) as committed at ``rev``."""
    def show(path):
        return subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True,
                              check=True).stdout

    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "metrics"],
                            capture_output=True, text=True, check=True).stdout.split()
    files = {p: json.loads(show(p)) for p in listed if p.endswith(".json")}
    return files, yaml.safe_load(show("params.yaml"))


def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def experiment_record(files: dict, params: dict, base_params: dict) -> dict:
    """What one experiment set and measured."""
    fp, fb = flat(params), flat(base_params)
    return {"overrides": {k: v for k, v in fp.items() if fb.get(k) != v},
            "supervisor": {k: files["metrics/supervisor.json"].get(k) for k in ("accuracy", "parameters")},
            "gold": {k: files["metrics/gold.json"].get(k) for k in ("accuracy", "parameters")},
            # the run's own seed (the root metrics are the main run's, `seed`)
            "pgr": files.get("metrics/compare.json", {}).get("pgr", {}).get("per_seed", {}).get(
                f"seed{params.get('seed', 0)}"),
            "versions": versions_row(files)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exp", action="append", default=[], help="an experiment's name")
    parser.add_argument("--baseline", action="append", default=[], help="NAME=REV")
    parser.add_argument("--note", default="", help="what and where it ran")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"],
                          capture_output=True, text=True, check=True).stdout.split()
    named = [tuple(b.split("=", 1)) for b in args.baseline]
    named += [(name, exp_revision(name, refs)) for name in args.exp]
    base_params = read_revision(named[0][1])[1]
    record = {"note": args.note, "experiments": {}}
    for name, rev in named:
        files, params = read_revision(rev)
        record["experiments"][name] = {"rev": subprocess.run(
            ["git", "rev-parse", "--short", rev], capture_output=True, text=True,
            check=True).stdout.strip(), **experiment_record(files, params, base_params)}
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    for name, exp in record["experiments"].items():
        for version, row in exp["versions"].items():
            print(name, version, json.dumps(row))


if __name__ == "__main__":
    main()
