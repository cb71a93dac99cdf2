"""DVC stage `propose@<version>`: cross-labeling. Two half models, each fine-tuned from the base
model on one half of a label version, propose answers for the half they did not see; every round
that refines that version (its `prev`) reads them.

    python -m stages.propose --params params.yaml --version r0 --base models/base --labels data/labels/r0.jsonl --out data/proposals/r0.jsonl
"""
import argparse

from ilr.core.errors import run_stage
from ilr.core.io import read_records, write_jsonl
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.method.propose import propose_labels
from ilr.tasks.task import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--version", required=True, help="the label version, in params "
                        "`propose.versions`")
    parser.add_argument("--base", required=True, help="base model folder or hub id")
    parser.add_argument("--labels", required=True, help="JSONL of that label version")
    parser.add_argument("--out", required=True, help="output JSONL of {id, proposal, half}")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    if args.version not in params.propose.versions:
        parser.error(f"--version {args.version}: not in {args.params} propose.versions "
                     f"{params.propose.versions}")
    labels = read_records(args.labels, required=("id", "prompt", "response"))
    with phase("compute"):
        proposals = propose_labels(args.base, labels, task=task_from_params(params.task),
                                   sft=params.sft, generation=params.propose.generation,
                                   seed=params.seed, version=args.version,
                                   dtype=params.model.dtype, backend=params.generation.backend,
                                   kernels=params.model.train_kernels)
    with phase("save"):
        write_jsonl(args.out, proposals)


if __name__ == "__main__":
    run_stage(main)
