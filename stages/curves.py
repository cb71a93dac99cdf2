"""DVC stage `curves`: test and label accuracy by round, one CSV per arm, for `dvc plots`.

    python -m stages.curves --params params.yaml --rounds metrics/rounds --r0-test metrics/r0.json --r0-labels metrics/labels/r0.json --out plots/rounds
"""
import argparse
import sys
from pathlib import Path

from ilr.curves import FIELDS, build_round_rows
from ilr.io import read_json, write_csv
from ilr.params import load_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--rounds", required=True, help="folder of round metrics <round>.json")
    parser.add_argument("--r0-test", required=True, help="round-0 model's test metrics JSON")
    parser.add_argument("--r0-labels", required=True, help="round-0 label metrics JSON")
    parser.add_argument("--out", required=True, help="output folder of <arm>.csv")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    found = {name: Path(args.rounds) / f"{name}.json" for name in params.rounds}
    metrics = {name: read_json(path) for name, path in found.items() if path.is_file()}
    missing = sorted(set(params.rounds) - set(metrics))
    if missing:
        print(f"warning: no metrics yet for rounds {missing}; they are left out", file=sys.stderr)
    tables = build_round_rows(params.rounds, metrics, r0_test=read_json(args.r0_test),
                              r0_labels=read_json(args.r0_labels))
    for arm, rows in tables.items():
        write_csv(Path(args.out) / f"{arm}.csv", rows, fields=FIELDS)
        print(arm, [(r["name"], r["test_accuracy"], r["label_accuracy"]) for r in rows])


if __name__ == "__main__":
    main()
