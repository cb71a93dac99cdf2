"""DVC stage `prepare`: gold train/test records of the configured task, with stable ids.

    python -m stages.prepare --params params.yaml --gsm8k-dir inputs/gsm8k --train data/gold/train.jsonl --test data/gold/test.jsonl --supervisor data/gold/supervisor.jsonl --quality metrics/quality/gold.json
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import commit_outputs
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.measure.quality import check_label_version
from ilr.tasks.prepare import build_gold_splits, check_local_source, write_gold_splits
from ilr.tasks.task import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--gsm8k-dir", required=True,
                        help="the folder a local task.gsm8k.source must be in (a dep in dvc.yaml)")
    parser.add_argument("--train", required=True, help="output JSONL of gold training records")
    parser.add_argument("--test", required=True, help="output JSONL of gold test records")
    parser.add_argument("--supervisor", required=True, help="output JSONL of gold half A")
    parser.add_argument("--quality", required=True, help="output JSON of the gold labels' gate")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    check_local_source(params.task, args.gsm8k_dir)
    with phase("compute"):
        splits = build_gold_splits(params)
        quality = check_label_version(splits["train"], splits["train"], version="gold",
                                      task=task_from_params(params.task), quality=params.quality)
    with phase("save"), commit_outputs() as out:
        sizes = write_gold_splits(splits, out, train_out=args.train, test_out=args.test,
                                  supervisor_out=args.supervisor)
        out.json(args.quality, quality)
    print(json.dumps(sizes))


if __name__ == "__main__":
    run_stage(main)
