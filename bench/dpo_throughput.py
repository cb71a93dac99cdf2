"""DPO training step time on this machine, TRL's defaults against the CPU path.

    python bench/dpo_throughput.py                       # data/dpo/d1.jsonl from models/sft/r0
    python bench/dpo_throughput.py --json bench/results/dpo-kernels.json

Trains the pipeline's DPO (``ilr.train.dpo.build_dpo_trainer``: params.yaml's ``dpo.args``, bf16
per ``model.dtype``) on `--pairs` from `--policy`, one warm-up and ``--steps`` timed steps, once
per ``model.train_kernels`` value: ``library`` (sdpa, TRL's log-prob head scoring every
position, as TRL does without Triton) and ``auto`` (eager attention for the policy and the
reference, the head scoring the completion tokens only: ``ilr.train.dpo.dpo_training_kernels``).
Prints seconds per step and the losses by step of each. Needs the policy and the pairs (``dvc
repro dpo_pairs@d1`` or ``dvc pull``); exits 2 with one line without them. About a minute per
mode for 5 steps of batch 8 on 2 CPU cores; nothing here is a timed test.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from train_throughput import StepTimer, cpu_line


def run_mode(kernels: str, args, params, pairs, dtype: str) -> dict:
    from ilr.tasks.task import task_from_params
    from ilr.train.dpo import build_dpo_trainer, dpo_training_kernels

    dpo = params.dpo.model_copy(update={"args": {**params.dpo.args, "max_steps": args.steps + 1,
                                                 "logging_steps": 1, "disable_tqdm": True}})
    with tempfile.TemporaryDirectory(prefix="bench-dpo-") as workdir:
        trainer, _ = build_dpo_trainer(args.policy, pairs, task=task_from_params(params.task),
                                       dpo=dpo, workdir=workdir, seed=params.seed, dtype=dtype)
        timer = StepTimer()
        trainer.add_callback(timer)
        with dpo_training_kernels(trainer, kernels):
            trainer.train()
    steps = timer.seconds[1:]  # the first is the warm-up
    losses = [round(h["loss"], 4) for h in trainer.state.log_history if "loss" in h]
    return {"kernels": kernels, "s_per_step": round(sum(steps) / len(steps), 2),
            "steps_s": [round(s, 2) for s in steps], "losses": losses}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--policy", default="models/sft/r0", help="DPO's policy and reference")
    parser.add_argument("--pairs", default="data/dpo/d1.jsonl", help="JSONL of DPO pairs")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (after 1 warm-up)")
    parser.add_argument("--kernels", default="library,auto", help="model.train_kernels values")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    for need in (args.policy, args.pairs):
        if not Path(need).exists():
            print(f"{need} is missing: `dvc repro dpo_pairs@d1` or `dvc pull` it first")
            return 2
    from ilr.core.io import read_jsonl
    from ilr.core.params import load_params
    from ilr.train.checkpoints import resolve_dtype

    params = load_params(args.params)
    pairs = read_jsonl(args.pairs, required=("id", "prompt", "chosen", "rejected"))
    dtype = resolve_dtype(params.model.dtype)
    print(cpu_line())
    print(f"DPO: {args.policy}, {len(pairs)} pairs from {args.pairs}; batch "
          f"{params.dpo.args.get('per_device_train_batch_size')}, dtype {dtype}, 1 warm-up + "
          f"{args.steps} timed steps per mode")
    rows = [run_mode(k, args, params, pairs, dtype) for k in args.kernels.split(",")]
    for row in rows:
        print(f"{row['kernels']:8} {row['s_per_step']:6.2f} s/step  losses {row['losses']}")
    if len(rows) == 2:
        print(f"{rows[1]['kernels']} / {rows[0]['kernels']}: "
              f"{rows[1]['s_per_step'] / rows[0]['s_per_step']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu_line(), "dtype": dtype,
                                               "policy": args.policy, "pairs": args.pairs,
                                               "modes": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
