"""Stage `compare` (not in dvc.yaml yet): seed runs side by side, with paired tests and the
paper's claims, as metrics/compare.json (see ilr/compare.py).

    python -m stages.compare --run seed0=../seed0 --run seed1=../seed1 --out metrics/compare.json
"""
import argparse

from ilr.compare import claim_rows, parse_runs, run_compare
from ilr.errors import run_stage


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME=PATH",
                        help="a seed run's folder, named; repeat for each seed")
    parser.add_argument("--out", default="metrics/compare.json")
    parser.add_argument("--n-boot", type=int, default=10_000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level")
    args = parser.parse_args(argv)
    result = run_compare(parse_runs(args.run), out=args.out, n_boot=args.n_boot, seed=args.seed,
                         alpha=args.alpha)
    for row in claim_rows(result):
        print(row["claim"], row["status"], row["p"])


if __name__ == "__main__":
    run_stage(main)
