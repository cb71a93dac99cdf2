"""DVC stage `propose@<round>`: cross-labeling. Two half models, each fine-tuned from the base
model on one half of the current labels, propose answers for the half they did not see.

    python -m stages.propose --params params.yaml --round r1 --base models/base --labels data/labels/r0.jsonl --out data/proposals/r1.jsonl
"""
import argparse

from ilr.errors import run_stage
from ilr.io import read_records, write_jsonl
from ilr.params import load_params
from ilr.phases import phase
from ilr.propose import propose_labels
from ilr.tasks import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--round", required=True, help="the round's name in params `rounds`")
    parser.add_argument("--base", required=True, help="base model folder or hub id")
    parser.add_argument("--labels", required=True, help="JSONL of the labels this round refines")
    parser.add_argument("--out", required=True, help="output JSONL of {id, proposal, half}")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    if args.round not in params.rounds:
        parser.error(f"--round {args.round}: not in {args.params} rounds {list(params.rounds)}")
    labels = read_records(args.labels, required=("id", "prompt", "response"))
    with phase("compute"):
        proposals = propose_labels(args.base, labels, task=task_from_params(params.task),
                                   sft=params.sft, generation=params.propose.generation,
                                   seed=params.seed, round_name=args.round,
                                   dtype=params.model.dtype, backend=params.generation.backend)
    with phase("save"):
        write_jsonl(args.out, proposals)


if __name__ == "__main__":
    run_stage(main)
