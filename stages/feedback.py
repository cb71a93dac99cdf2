"""DVC stage `feedback`: accuracy of the configured feedback on items where gold decides
(a wrong round-0 label against its gold solution, in both roles).

    python -m stages.feedback --params params.yaml --labels data/labels/r0.jsonl --gold data/gold/train.jsonl --classifier models/feedback --metrics metrics/feedback.json
"""
import argparse
import json

from ilr.feedback import build_check_items, measure_feedback, score_items
from ilr.io import read_records, write_json
from ilr.params import load_params
from ilr.tasks import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--labels", required=True, help="JSONL of round-0 labels")
    parser.add_argument("--gold", required=True, help="JSONL of the student's gold records")
    parser.add_argument("--classifier", help="classifier folder (feedback.kind: classifier)")
    parser.add_argument("--metrics", required=True, help="output JSON")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    labels = read_records(args.labels, required=("id", "prompt", "response"))
    items = build_check_items(labels, gold, task=task, n=params.feedback.n_check, seed=params.seed)
    scores = score_items(items, params=params.feedback, task=task, gold=gold, seed=params.seed,
                         classifier=args.classifier)
    metrics = {"kind": params.feedback.kind, **measure_feedback(items, scores)}
    write_json(args.metrics, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
