"""DVC stage `compare`: the main run (seed `seed`) and each seed run (`seeds`, runs/seed<s>)
side by side, with paired tests and the paper's claims, as metrics/compare.json (ilr/measure/compare.py).

    python -m stages.compare --params params.yaml --main . --runs runs --out metrics/compare.json

`--run NAME=PATH` (repeatable) compares given folders instead, e.g. checkouts of other branches.
"""
import argparse

from ilr.core.errors import run_stage
from ilr.core.params import load_params
from ilr.measure.compare import claim_rows, run_compare
from ilr.measure.run_folders import parse_runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--main", default=".", help="the main run's folder (seed `seed`)")
    parser.add_argument("--runs", default="runs", help="folder of the seed runs, seed<s> each")
    parser.add_argument("--run", action="append", metavar="NAME=PATH",
                        help="compare these folders instead of params' seeds; repeatable")
    parser.add_argument("--out", default="metrics/compare.json")
    parser.add_argument("--n-boot", type=int, default=10_000, help="bootstrap resamples")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level")
    args = parser.parse_args(argv)
    if not args.run:
        params = load_params(args.params)
        args.run = [f"seed{params.seed}={args.main}",
                    *(f"seed{s}={args.runs}/seed{s}" for s in params.seeds)]
    result = run_compare(parse_runs(args.run), out=args.out, n_boot=args.n_boot, seed=0,
                         alpha=args.alpha)
    for row in claim_rows(result):
        print(row["claim"], row["status"], row["p"])


if __name__ == "__main__":
    run_stage(main)
