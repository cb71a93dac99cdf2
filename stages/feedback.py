"""DVC stage `feedback`: how reliable the feedback is where gold decides. The configured kind
(`feedback.kind`) on round 0's decided items (a wrong label against its gold solution, in both
roles); the trained classifier (or reward model) on those items and on its held-out pairs,
whatever the kind.

    python -m stages.feedback --params params.yaml --labels data/labels/r0.jsonl --gold data/gold/train.jsonl --classifier models/feedback --heldout data/feedback/heldout.jsonl --judgments inputs/judgments/feedback.jsonl --metrics metrics/feedback.json
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import read_jsonl, read_records, write_json
from ilr.core.params import load_params
from ilr.method.feedback import (build_check_items, file_judgment_metrics, measure_feedback,
                                 score_items)
from ilr.tasks.task import task_from_params
from ilr.train.feedback_model import pair_items
from ilr.train.scorers import load_item_scorer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--labels", required=True, help="JSONL of round-0 labels")
    parser.add_argument("--gold", required=True, help="JSONL of the student's gold records")
    parser.add_argument("--classifier", required=True, help="the trained classifier's folder")
    parser.add_argument("--heldout", required=True, help="JSONL of the classifier's held-out pairs")
    parser.add_argument("--judgments", help="JSONL of human {id, choice, seconds} judgments "
                                            "(feedback.kind: file)")
    parser.add_argument("--metrics", required=True, help="output JSON")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    labels = read_records(args.labels, required=("id", "prompt", "response"))
    items = build_check_items(labels, gold, task=task, n=params.feedback.n_check, seed=params.seed)
    score = load_item_scorer(args.classifier, batch_size=params.feedback.batch_size,
                             dtype=params.model.dtype)  # loaded once for both item sets
    heldout = pair_items(read_jsonl(args.heldout, required=("id", "prompt", "better", "worse"),
                                    allow_empty=True))
    decided = measure_feedback(items, score(items))
    configured = decided if params.feedback.kind == "classifier" else measure_feedback(
        items, score_items(items, params=params.feedback, task=task, gold=gold, seed=params.seed,
                           judgments=args.judgments))
    metrics = {"kind": params.feedback.kind, "decided": configured,
               "classifier": {"decided": decided,
                              "heldout": measure_feedback(heldout, score(heldout))},
               **file_judgment_metrics(params.feedback, args.judgments, gold)}
    write_json(args.metrics, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
