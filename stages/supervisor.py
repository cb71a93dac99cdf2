"""DVC stage `supervisor`: train the weak supervisor on part of gold half A; its checkpoints
answer the held-back prompts (material for the feedback classifier).

    python -m stages.supervisor --params params.yaml --base models/base --half-a data/gold/supervisor.jsonl --out models/supervisor --outputs data/supervisor/outputs.jsonl --metrics metrics/supervisor_checkpoints.json
"""
import argparse

from ilr.core.errors import run_stage
from ilr.core.io import commit_outputs, read_records
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.tasks.task import task_from_params
from ilr.train.supervisor import train_supervisor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--base", required=True, help="base model folder")
    parser.add_argument("--half-a", required=True, help="JSONL of gold half A")
    parser.add_argument("--out", required=True, help="output supervisor model folder")
    parser.add_argument("--outputs", required=True, help="output JSONL of checkpoint answers")
    parser.add_argument("--metrics", required=True, help="output JSON summary")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    half_a = read_records(args.half_a, required=("id", "prompt", "response"))
    base = params.model.supervisor_base or args.base  # the weak model's own base, if set
    with phase("compute"):
        outputs, summary = train_supervisor(base, half_a, task=task_from_params(params.task),
                                            params=params, out=args.out)
    with phase("save"), commit_outputs() as out:
        out.jsonl(args.outputs, outputs)
        out.json(args.metrics, summary)


if __name__ == "__main__":
    run_stage(main)
