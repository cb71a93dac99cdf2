"""DVC stage `round_kl@<round>` / `dpo_kl@<round>`: KL of a model from the round-0 SFT policy,
sampled on test prompts.

    python -m stages.kl --params params.yaml --policy models/sft/r1 --reference models/sft/r0 --test data/gold/test.jsonl --metrics metrics/kl/r1.json
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import read_records, write_json
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.measure.kl import estimate_kl
from ilr.tasks.task import task_from_params
from ilr.train.checkpoints import DTYPES, inference_name, load_causal_lm, load_tokenizer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--policy", required=True, help="the model whose KL is measured")
    parser.add_argument("--reference", required=True, help="the round-0 SFT model")
    parser.add_argument("--test", required=True, help="JSONL of gold test records (prompts)")
    parser.add_argument("--metrics", required=True, help="output JSON {kl, kl_se, n}")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    task = task_from_params(params.task)
    records = read_records(args.test, required=("id", "prompt"))[:params.kl.n_prompts]
    dtype = inference_name(params.model.dtype, args.policy)  # both models in the policy's
    with phase("compute"):
        metrics = estimate_kl(load_causal_lm(args.policy, dtype=DTYPES[dtype]),
                              load_causal_lm(args.reference, dtype=DTYPES[dtype]),
                              load_tokenizer(args.policy),
                              [task.render_messages(r["prompt"]) for r in records],
                              generation=params.kl.generation, seed=params.seed)
    metrics["dtype"] = dtype
    with phase("save"):
        write_json(args.metrics, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main)
