"""DVC stage `feedback_model`: fine-tune the comparison classifier (or, with `feedback_model.head:
reward`, a reward model through TRL's RewardTrainer) once, from the base model, on
pairs of the reference code's kinds; a share of the prompts is held out (early stopping, and the
`feedback` stage's held-out metrics).

    python -m stages.feedback_model --params params.yaml --base models/base --half-a data/gold/supervisor.jsonl --outputs data/supervisor/outputs.jsonl --out models/feedback --heldout data/feedback/heldout.jsonl
"""
import argparse
import json

from ilr.core.errors import run_stage
from ilr.core.io import read_jsonl, read_records, write_jsonl
from ilr.core.params import load_params
from ilr.core.phases import phase
from ilr.train.feedback_model import build_preference_pairs, split_heldout, train_feedback_model
from ilr.train.reward_model import train_reward_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--base", required=True, help="base model folder")
    parser.add_argument("--half-a", required=True, help="JSONL of gold half A")
    parser.add_argument("--outputs", required=True, help="JSONL of graded checkpoint answers")
    parser.add_argument("--out", required=True, help="output classifier folder")
    parser.add_argument("--heldout", required=True, help="output JSONL of the held-out pairs")
    parser.add_argument("--curves", help="output folder of the training curves (dvc plots)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    fm = params.feedback_model
    gold = read_records(args.half_a, required=("id", "prompt", "response"))
    outputs = read_jsonl(args.outputs, required=("id", "response", "correct"))
    pairs = build_preference_pairs(outputs, gold, n_pairs=fm.n_pairs, seed=params.seed)
    train, heldout = split_heldout(pairs, share=fm.heldout_share, seed=params.seed)
    base = params.model.supervisor_base or args.base  # the weak model's own base, if set
    train_model = train_reward_model if fm.head == "reward" else train_feedback_model
    with phase("compute"):
        log = train_model(base, train, heldout, params=fm, out=args.out, seed=params.seed,
                          dtype=params.model.dtype, kernels=params.model.train_kernels,
                          curves=args.curves)
    with phase("save"):
        write_jsonl(args.heldout, heldout)
    print(json.dumps({k: v for k, v in log.items() if k not in ("model", "tokenizer")}))


if __name__ == "__main__":
    run_stage(main)
