"""DVC stage `report`: the comparison of SFT, SFT+ILR, naive ILR and SFT+DPO by round with
KL, as reports/summary.json, one CSV per arm for `dvc plots`, and the static HTML page.

    python -m stages.report --params params.yaml --metrics-dir metrics --summary reports/summary.json --plots plots/rounds --html reports/ilr.html
"""
import argparse
import sys
from pathlib import Path

from ilr.core.errors import run_stage
from ilr.core.io import read_json, write_csv, write_json
from ilr.core.params import load_params
from ilr.method.rounds import ROUND_ZERO
from ilr.report.report import write_report
from ilr.report.summary import FIELDS, build_summary_rows, split_arms
from ilr.tasks.task import task_from_params


def _read_all(folder: Path, names) -> dict:
    return {n: read_json(folder / f"{n}.json") for n in names if (folder / f"{n}.json").is_file()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--metrics-dir", required=True, help="folder of the run's metrics")
    parser.add_argument("--summary", required=True, help="output JSON, one entry per model")
    parser.add_argument("--plots", required=True, help="output folder of <arm>.csv")
    parser.add_argument("--html", required=True, help="output HTML report")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    metrics = Path(args.metrics_dir)
    versions = [ROUND_ZERO, *params.rounds]
    rows = build_summary_rows(
        params.rounds, params.dpo_rounds, kl=_read_all(metrics / "kl", [*params.rounds, *params.dpo_rounds]),
        label_metrics=_read_all(metrics / "labels", versions),
        test_metrics=_read_all(metrics / "rounds", versions),
        dpo_metrics=_read_all(metrics / "dpo", params.dpo_rounds))
    missing = sorted((set(params.rounds) | set(params.dpo_rounds)) - {r["name"] for r in rows})
    if missing:
        print(f"warning: no metrics yet for {missing}; they are left out", file=sys.stderr)
    write_json(args.summary, {f"{r['arm']}/{r['name']}": r for r in rows})
    for arm, arm_rows in split_arms(rows).items():
        write_csv(Path(args.plots) / f"{arm}.csv", arm_rows, fields=FIELDS)
    write_report(params, task=task_from_params(params.task), out=args.html, root=metrics.parent,
                 summary_rows=rows)
    for r in rows:
        print(r["arm"], r["name"], r["test_accuracy"], r["kl"])


if __name__ == "__main__":
    run_stage(main)
