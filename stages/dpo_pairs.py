"""DVC stage `dpo_pairs@<round>`: sample responses from the policy, score pairs with the
configured feedback (both orders, averaged) and keep the most confident share as DPO data.

    python -m stages.dpo_pairs --params params.yaml --policy models/sft/r0 --gold data/gold/train.jsonl --classifier models/feedback --out data/dpo/d1.jsonl --metrics metrics/dpo/pairs/d1.json
"""
import argparse
import json

from ilr.checkpoints import inference_dtype, load_causal_lm, load_tokenizer
from ilr.dpo import build_sample_pairs, sample_policy, select_preference_pairs
from ilr.errors import run_stage
from ilr.feedback import score_items
from ilr.io import read_records, write_json, write_jsonl
from ilr.params import load_params
from ilr.tasks import task_from_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--policy", required=True, help="the model to sample from")
    parser.add_argument("--gold", required=True, help="JSONL of the student's training prompts")
    parser.add_argument("--classifier", help="classifier folder (feedback.kind: classifier)")
    parser.add_argument("--out", required=True, help="output JSONL of {prompt, chosen, rejected}")
    parser.add_argument("--metrics", required=True, help="output JSON of pair statistics")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    gold = read_records(args.gold, required=("id", "prompt", "response"))
    policy = load_causal_lm(args.policy, dtype=inference_dtype(params.model.dtype))
    samples = sample_policy(policy, load_tokenizer(args.policy), gold, task=task,
                            n_samples=params.dpo.n_samples, generation=params.dpo.generation,
                            seed=params.seed)
    pairs = build_sample_pairs(gold, samples, n_samples=params.dpo.n_samples)
    scores = score_items(pairs, params=params.feedback, task=task, gold=gold, seed=params.seed,
                         classifier=args.classifier, dtype=params.model.dtype)
    n_all = len(gold) * (params.dpo.n_samples // 2)  # identical samples included, as the reference
    kept = select_preference_pairs(pairs, scores, keep_share=params.dpo.keep_share, n_all=n_all)
    by_id = {g["id"]: g for g in gold}
    metrics = {"n_samples": len(samples), "n_pairs_all": n_all, "n_pairs": len(pairs),
               "n_kept": len(kept),
               "chosen_correct": sum(task.grade(p["chosen"], by_id[p["id"]]["response"],
                                                item=by_id[p["id"]]) for p in kept)
               / len(kept) if kept else None,
               "rejected_correct": sum(task.grade(p["rejected"], by_id[p["id"]]["response"],
                                                  item=by_id[p["id"]]) for p in kept)
               / len(kept) if kept else None}
    write_jsonl(args.out, kept)
    write_json(args.metrics, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
