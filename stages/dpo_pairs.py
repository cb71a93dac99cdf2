"""DVC stage `dpo_pairs@<round>`: pair the policy's samples (consecutive ones), score each pair
with the configured feedback (both orders, averaged), keep the most confident share as DPO data,
and measure the feedback on pairs where exactly one sample is right.

    python -m stages.dpo_pairs --params params.yaml --samples data/dpo/samples/d1.jsonl --gold data/gold/train.jsonl --classifier models/feedback --judgments inputs/judgments/d1.jsonl --out data/dpo/d1.jsonl --metrics metrics/dpo/pairs/d1.json
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import read_records, write_json, write_jsonl
from ilr.core.params import load_params
from ilr.method.feedback import file_judgment_metrics, score_items
from ilr.tasks.task import task_from_params
from ilr.train.dpo import build_sample_pairs, measure_preference_pairs, select_preference_pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--samples", required=True, help="JSONL of {id, prompt, samples}")
    parser.add_argument("--gold", required=True, help="JSONL of the student's training prompts")
    parser.add_argument("--classifier", help="classifier folder (feedback.kind: classifier)")
    parser.add_argument("--judgments", help="JSONL of human {id, choice, seconds} judgments "
                                            "(feedback.kind: file)")
    parser.add_argument("--out", required=True, help="output JSONL of {prompt, chosen, rejected}")
    parser.add_argument("--metrics", required=True, help="output JSON of pair statistics")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    records = read_records(args.samples, required=("id", "prompt", "samples"))
    pairs = build_sample_pairs(records, n_samples=params.dpo.n_samples)
    scores = score_items(pairs, params=params.feedback, task=task, gold=gold, seed=params.seed,
                         classifier=args.classifier, judgments=args.judgments,
                         dtype=params.model.dtype)
    n_all = len(records) * (params.dpo.n_samples // 2)  # identical samples included, as the reference
    kept = select_preference_pairs(pairs, scores, keep_share=params.dpo.keep_share, n_all=n_all)
    metrics = measure_preference_pairs(pairs, scores, kept, task=task, gold=gold, n_all=n_all,
                                       n_samples=len(records) * params.dpo.n_samples)
    metrics.update(file_judgment_metrics(params.feedback, args.judgments, gold))
    write_jsonl(args.out, kept)
    write_json(args.metrics, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
