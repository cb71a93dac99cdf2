"""Does DPO's reference attention move test accuracy, or only DPO's own seed-to-seed spread?

    python bench/dpo_reference.py                      # data/dpo/d1.jsonl from models/sft/r0
    python bench/dpo_reference.py --seeds 0,1,2,3,4 --json bench/results/dpo-reference.json

593e4b1 made DPO's reference run eager attention like the policy on the CPU path (with an sdpa
reference a bfloat16 DPO started at loss 0.6904, not log 2). Two seeds of the default then put d1
and d3 4-5 points lower (docs/hardware-and-time.md), and McNemar on the test problems cannot
tell a code change from retraining noise. This holds everything else fixed, the policy, the
pairs and params.yaml's ``dpo`` section, and trains DPO once per training seed and variant:

- ``eager``: the pipeline's ``model.train_kernels`` auto (``ilr.train.dpo.dpo_training_kernels``);
- ``sdpa``: the same but the reference keeps sdpa, as before 593e4b1.

Each model is evaluated as stage ``evaluate`` does (params.yaml's ``evaluate``). Prints the first
and the mean training loss, the test accuracy per seed and variant, the policy's own accuracy as
saved and saved in ``dpo.save_dtype`` (DPO models are evaluated in the dtype they were saved
in), and the variants' difference next to the spread over training seeds, with McNemar per seed
and stratified over seeds. About 2.5 minutes per model on 2 CPU cores; nothing here is a test.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

from train_throughput import cpu_line

VARIANTS = ("eager", "sdpa")


@contextlib.contextmanager
def variant_kernels(trainer, variant: str):
    """The training kernels of one variant (see the module docstring)."""
    from ilr.train.checkpoints import training_attention
    from ilr.train.dpo import compact_log_prob_head, dpo_training_kernels

    if variant == "eager":
        with dpo_training_kernels(trainer, "auto"):
            yield
    else:
        with training_attention(trainer.model, "auto"), compact_log_prob_head("auto"):
            yield


def test_outcomes(source: str, tokenizer, records, params) -> tuple[dict, float]:
    """``({id: correct}, accuracy)`` of the model at ``source`` on ``records``, as stage
    ``evaluate`` scores them (params.yaml's ``evaluate``, in the dtype the model was saved in)."""
    from ilr.measure.evaluate import evaluate_model
    from ilr.tasks.task import task_from_params

    predictions, metrics = evaluate_model(source, tokenizer, task_from_params(params.task),
                                          records, params=params.evaluate, seed=params.seed,
                                          backend=params.generation.backend,
                                          dtype=params.model.dtype)
    return {p["id"]: p["correct"] for p in predictions}, metrics["accuracy"]


def train_and_score(variant: str, seed: int, *, policy: str, pairs, records, params) -> dict:
    """DPO from ``policy`` with one variant and training seed, then its test outcomes."""
    from ilr.tasks.task import task_from_params
    from ilr.train.checkpoints import save_causal_lm
    from ilr.train.dpo import build_dpo_trainer

    dpo = params.dpo.model_copy(update={"args": {**params.dpo.args, "logging_steps": 1,
                                                 "disable_tqdm": True}})
    with tempfile.TemporaryDirectory(prefix="bench-dpo-ref-") as workdir:
        trainer, tokenizer = build_dpo_trainer(policy, pairs, task=task_from_params(params.task),
                                               dpo=dpo, workdir=f"{workdir}/run", seed=seed,
                                               dtype=params.model.dtype)
        with variant_kernels(trainer, variant):
            trainer.train()
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        save_causal_lm(trainer.model, tokenizer, f"{workdir}/model", dtype=params.dpo.save_dtype)
        del trainer
        correct, accuracy = test_outcomes(f"{workdir}/model", tokenizer, records, params)
    return {"variant": variant, "seed": seed, "first_loss": round(losses[0], 4),
            "mean_loss": round(sum(losses) / len(losses), 4),
            "accuracy": accuracy, "correct": correct}


def policy_outcomes(policy: str, records, params, *, save_dtype: str | None = None) -> dict:
    """The policy's own test outcomes (what DPO starts from), evaluated in the dtype it was
    saved in, or first saved again in ``save_dtype`` (``dpo.save_dtype``: how a DPO model that
    did not move would be evaluated)."""
    from ilr.train.checkpoints import load_causal_lm, load_tokenizer, save_causal_lm

    tokenizer = load_tokenizer(policy)
    if not save_dtype:
        return test_outcomes(policy, tokenizer, records, params)[0]
    with tempfile.TemporaryDirectory(prefix="bench-dpo-ref-") as workdir:
        save_causal_lm(load_causal_lm(policy), tokenizer, f"{workdir}/policy", dtype=save_dtype)
        return test_outcomes(f"{workdir}/policy", tokenizer, records, params)[0]


def comparison(runs: list[dict], policy: dict, policy_as_dpo: dict) -> dict:
    """Accuracy per variant (mean and sd over seeds), the eager - sdpa difference, McNemar per
    seed and stratified over seeds, and each variant against the policy saved as DPO saves
    (``policy_as_dpo``: the same weights in ``dpo.save_dtype``, DPO's true start)."""
    from ilr.measure.paired_stats import mcnemar, mean_sd, stratified_mcnemar

    ids = sorted(policy)
    by = {(r["variant"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    out = {"policy_accuracy": sum(policy.values()) / len(policy),
           "policy_as_dpo_accuracy": sum(policy_as_dpo.values()) / len(policy_as_dpo),
           "policy_as_dpo_vs_policy": mcnemar([policy[i] for i in ids],
                                              [policy_as_dpo[i] for i in ids]),
           "variants": {}}
    for variant in VARIANTS:
        accs = [by[variant, s]["accuracy"] for s in seeds if (variant, s) in by]
        mean, sd = mean_sd(accs)
        tables = [mcnemar([policy_as_dpo[i] for i in ids],
                          [by[variant, s]["correct"][i] for i in ids])
                  for s in seeds if (variant, s) in by]
        out["variants"][variant] = {"accuracy_by_seed": accs, "mean": mean, "sd": sd,
                                    "vs_policy": stratified_mcnemar(tables)}
    pairs = [s for s in seeds if all((v, s) in by for v in VARIANTS)]
    tables = [mcnemar([by["sdpa", s]["correct"][i] for i in ids],
                      [by["eager", s]["correct"][i] for i in ids]) for s in pairs]
    out["eager_minus_sdpa"] = {"per_seed": [{"seed": s, **t} for s, t in zip(pairs, tables)],
                               "stratified": stratified_mcnemar(tables) if tables else None}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--policy", default="models/sft/r0", help="DPO's policy and reference")
    parser.add_argument("--pairs", default="data/dpo/d1.jsonl", help="JSONL of DPO pairs")
    parser.add_argument("--test", default="data/gold/test.jsonl", help="gold test records")
    parser.add_argument("--seeds", default="0,1,2", help="DPO training seeds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    for need in (args.policy, args.pairs, args.test):
        if not Path(need).exists():
            print(f"{need} is missing: `dvc repro dpo_pairs@d1` or `dvc pull` it first")
            return 2
    from ilr.core.io import read_jsonl
    from ilr.core.params import load_params

    params = load_params(args.params)
    pairs = read_jsonl(args.pairs, required=("id", "prompt", "chosen", "rejected"))
    records = read_jsonl(args.test, required=("id", "prompt", "response"))
    print(cpu_line())
    print(f"DPO: {args.policy}, {len(pairs)} pairs from {args.pairs}, {len(records)} test "
          f"problems, model.dtype {params.model.dtype}, seeds {args.seeds}")
    policy = policy_outcomes(args.policy, records, params)
    policy_as_dpo = policy_outcomes(args.policy, records, params,
                                    save_dtype=params.dpo.save_dtype)
    runs = []
    for seed in map(int, args.seeds.split(",")):
        for variant in VARIANTS:
            runs.append(train_and_score(variant, seed, policy=args.policy, pairs=pairs,
                                        records=records, params=params))
            r = runs[-1]
            print(f"seed {seed} {variant:5} first loss {r['first_loss']:.4f} mean loss "
                  f"{r['mean_loss']:.4f} accuracy {r['accuracy']:.3f}", flush=True)
    result = comparison(runs, policy, policy_as_dpo)
    print(f"policy {result['policy_accuracy']:.3f} as saved, "
          f"{result['policy_as_dpo_accuracy']:.3f} saved in dpo.save_dtype "
          f"({params.dpo.save_dtype}; McNemar p {result['policy_as_dpo_vs_policy']['p']:.3f})")
    for variant, row in result["variants"].items():
        print(f"{variant:5} mean {row['mean']:.3f} sd {row['sd'] or 0:.3f} over seeds "
              f"{row['accuracy_by_seed']}; vs the policy in dpo.save_dtype: stratified McNemar p "
              f"{row['vs_policy']['p']:.3f}")
    strat = result["eager_minus_sdpa"]["stratified"]
    if strat:
        print(f"eager - sdpa: only sdpa right {strat['a_only']}, only eager right "
              f"{strat['b_only']} over seeds; stratified McNemar p {strat['p']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"cpu": cpu_line(), "policy": args.policy, "pairs": args.pairs, "test": args.test,
             "runs": [{k: v for k, v in r.items() if k != "correct"} for r in runs],
             **result}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
