"""DVC stage `seed_run@<s>`: the single-seed pipeline again with `seed: <s>`, in a copy of the
repository that shares its DVC cache; the results land in one output folder (ilr/measure/seed_run.py).

    python -m stages.seed_run --params params.yaml --seed 1 --work .seeds/1 --out runs/seed1
"""
import argparse

from ilr.core.errors import run_stage
from ilr.core.params import load_params
from ilr.measure.seed_run import local_cache_dir, run_seed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--seed", type=int, required=True, help="one of params `seeds`")
    parser.add_argument("--work", required=True, help="the copy the seed runs in (kept: a "
                        "second start resumes it)")
    parser.add_argument("--out", required=True, help="folder of the seed run's results")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    if args.seed not in params.seeds:
        parser.error(f"--seed {args.seed}: not in {args.params} seeds {params.seeds}")
    collected = run_seed(".", seed=args.seed, work=args.work, out=args.out,
                         cache_dir=local_cache_dir("."))
    print(f"seed {args.seed}: {len(collected)} result files in {args.out}")


if __name__ == "__main__":
    run_stage(main)
