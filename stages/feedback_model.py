"""DVC stage `feedback_model`: fine-tune the comparison classifier once, from the base model.

    python -m stages.feedback_model --params params.yaml --base models/base --half-a data/gold/supervisor.jsonl --outputs data/supervisor/outputs.jsonl --out models/feedback
"""
import argparse
import json

from ilr.feedback_model import build_pairs, train_feedback_model
from ilr.io import read_records, read_jsonl
from ilr.params import load_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--base", required=True, help="base model folder")
    parser.add_argument("--half-a", required=True, help="JSONL of gold half A")
    parser.add_argument("--outputs", required=True, help="JSONL of supervisor checkpoint answers")
    parser.add_argument("--out", required=True, help="output classifier folder")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    gold = read_records(args.half_a, required=("id", "prompt", "response"))
    outputs = read_jsonl(args.outputs, required=("id", "response"))
    pairs = build_pairs(outputs, gold, n_pairs=params.feedback_model.n_pairs, seed=params.seed)
    log = train_feedback_model(args.base, pairs, params=params.feedback_model, out=args.out,
                               seed=params.seed, save_dtype=params.model.save_dtype)
    print(json.dumps(log))


if __name__ == "__main__":
    main()
