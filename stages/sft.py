"""DVC stage `sft`: fine-tune the base model on a label file with TRL's SFTTrainer.

    python -m stages.sft --params params.yaml --base models/base --train data/gold/train.jsonl --out models/sft/gold
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import read_records
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.tasks.task import task_from_params
from ilr.train.sft import train_sft


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--base", required=True, help="base model folder or hub id")
    parser.add_argument("--train", required=True, help="JSONL of {id, prompt, response} labels")
    parser.add_argument("--out", required=True, help="output model folder")
    parser.add_argument("--curves", help="output folder of the training curves (dvc plots)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    records = read_records(args.train, required=("id", "prompt", "response"))
    with phase("compute"):
        log = train_sft(args.base, records, task=task_from_params(params.task), sft=params.sft,
                        out=args.out, seed=params.seed, save_dtype=params.model.save_dtype,
                        dtype=params.model.dtype, kernels=params.model.train_kernels,
                        curves=args.curves)
    print(json.dumps(log))


if __name__ == "__main__":
    run_stage(main)
