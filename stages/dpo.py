"""DVC stage `dpo@<round>`: TRL's DPOTrainer from the policy (also the reference) on the
round's preference pairs.

    python -m stages.dpo --params params.yaml --policy models/sft/r0 --pairs data/dpo/d1.jsonl --out models/dpo/d1
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import read_jsonl
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.tasks.task import task_from_params
from ilr.train.dpo import train_dpo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--policy", required=True, help="the model DPO starts from")
    parser.add_argument("--pairs", required=True, help="JSONL of {prompt, chosen, rejected}")
    parser.add_argument("--out", required=True, help="output model folder")
    parser.add_argument("--curves", help="output folder of the training curves (dvc plots)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    pairs = read_jsonl(args.pairs, required=("id", "prompt", "chosen", "rejected"),
                       allow_empty=True)
    with phase("compute"):
        log = train_dpo(args.policy, pairs, task=task_from_params(params.task), dpo=params.dpo,
                        out=args.out, seed=params.seed, save_dtype=params.dpo.save_dtype,
                        dtype=params.model.dtype, kernels=params.model.train_kernels,
                        curves=args.curves)
    print(json.dumps(log))


if __name__ == "__main__":
    run_stage(main)
