"""SFT training throughput on this machine, against its measured matmul peak.

    python bench/train_throughput.py                               # padded batches (the default)
    python bench/train_throughput.py --padding-free --packing      # and TRL's two alternatives
    python bench/train_throughput.py --dtype bfloat16              # bf16 matmuls, bf16 autocast

Needs models/base (`dvc repro base_model` or `dvc pull`); exits 2 with one line without it.
Trains on `--train` (default data/labels/r0.jsonl; the task's own generated gold records when
that file is absent) through the training stages' own code path (``ilr.train.sft.build_sft_trainer``:
the same ``SFTConfig`` from params.yaml's ``sft.args``), for one warm-up step and ``--steps``
timed steps, once per mode asked for: padded (always), ``padding_free`` (TRL's flattened batch
with position_ids; ``max_length`` is then None, as TRL requires: records are not truncated) and
``packing`` (TRL's ``bfd`` packing into rows of ``max_length`` tokens, padding-free collated).

Prints the CPU and its matmul-relevant flags, the matmul peak at the compute dtype (best of
several reps over a few sizes, all threads), and per mode: seconds per step, tokens/s (non-pad
tokens and computed tokens, padding included), and FLOP/s as a share of the peak. FLOPs are
``6 * n_params`` per token (the tied embedding counted once, as the LM head's matmul; the input
lookup is free), on non-pad tokens for the model FLOP/s ("useful"), and on computed tokens plus
the attention term ``12 * n_layers * hidden * L`` per token for the hardware FLOP/s, where L is
the length attention is computed over: the padded row length, or for padding-free and packed
batches the whole flattened row (sdpa on CPU takes the block-diagonal mask over all of it).
About 2-3 minutes per mode for the default 5 steps of batch 8 on 2 CPU cores; nothing here is a
timed test.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16",
         "amx_int8")


def cpu_info() -> tuple[str, set[str]]:
    """The CPU's model name and its flags, from /proc/cpuinfo."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), "unknown CPU")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines()
                      if line.startswith("flags")), []))
    return model, flags


def cpu_line() -> str:
    model, flags = cpu_info()
    have = " ".join(f if f in flags else f"-{f}" for f in FLAGS)
    line = (f"cpu: {model}; {have}; torch {torch.__version__}, capability "
            f"{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5:
        line += (f"\nwarning: load average {load:.1f} on {cores} cores before the bench: other "
                 "processes share the CPU, so these numbers are not the machine's")
    return line


def matmul_peak(dtype: torch.dtype, *, reps: int = 5) -> tuple[float, list]:
    """The best FLOP/s of ``reps`` matmuls at each shape (m, k, n); also the SFT model's MLP
    shape (1024 tokens x 576 -> 1536) for reference. Returns (peak over the square sizes, rows)."""
    rows = []
    for m, k, n in ((256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
                    (1024, 576, 1536)):
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        torch.matmul(a, b)  # warm-up
        best = math.inf
        for _ in range(reps):
            start = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - start)
        rows.append((f"{m}x{k} @ {k}x{n}", 2 * m * k * n / best, m == k == n))
    return max(f for _, f, square in rows if square), rows


def load_records(path: str, params, needed: int) -> tuple[list[dict], str]:
    """The records to train on, repeated to ``needed`` (ids made unique), and where from."""
    from ilr.core.io import read_records

    if Path(path).is_file():
        records, source = read_records(path, required=("id", "prompt", "response")), path
    else:
        from ilr.tasks.prepare import build_gold_splits

        records = build_gold_splits(params)["train"]
        source = f"{path} is absent: the task's gold training records"
    out = [{**r, "id": f"{r['id']}-{k}"} for k in range(math.ceil(needed / len(records)))
           for r in records]
    return out[:max(needed, len(records))], source


class StepTimer:
    """A TrainerCallback: each optimizer step's seconds (batch fetch excluded)."""

    def __init__(self):
        self.seconds, self._start = [], None

    def __getattr__(self, name):  # every other callback event: nothing
        if name.startswith("on_"):
            return lambda *a, **k: None
        raise AttributeError(name)

    def on_step_begin(self, *a, **k):
        self._start = time.perf_counter()

    def on_step_end(self, *a, **k):
        self.seconds.append(time.perf_counter() - self._start)


def run_mode(mode: str, args, params, records, dtype: str, kernels: str = "library") -> dict:
    from ilr.tasks.task import task_from_params
    from ilr.train.checkpoints import training_attention
    from ilr.train.sft import build_sft_trainer

    extra = {"padding-free": {"padding_free": True, "max_length": None},
             "packing": {"packing": True}}.get(mode, {})
    sft = params.sft
    if mode == "lora":  # the reference's student: LoRA r 64, alpha 128 on every linear layer
        sft = sft.model_copy(update={"use_lora": True, "lora": {
            "r": args.lora_r, "lora_alpha": 2 * args.lora_r, "lora_dropout": 0.05,
            "target_modules": "all-linear"}})
    batches = []
    with tempfile.TemporaryDirectory(prefix="bench-sft-") as workdir:
        trainer, _ = build_sft_trainer(
            args.model, records, task=task_from_params(params.task), sft=sft,
            workdir=workdir, seed=params.seed, dtype=dtype, kernels=kernels,
            max_steps=args.steps + 1,
            logging_steps=1, disable_tqdm=True, **extra)
        collate = trainer.data_collator

        def counting(examples):
            batch = collate(examples)
            ids = batch["input_ids"]  # (rows, row length); padding-free: (1, all tokens)
            batches.append({"real": sum(len(e["input_ids"]) for e in examples),
                            "computed": ids.numel(), "span": ids.shape[1]})
            return batch

        trainer.data_collator = counting
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # the per-step log dicts (losses kept below)
        timer = StepTimer()
        trainer.add_callback(timer)
        with training_attention(trainer.model, kernels):
            trainer.train()
        model = trainer.model
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    n_params = sum(p.numel() for n, p in model.named_parameters() if "lora_" not in n)
    config = model.config
    timed, steps = batches[1:len(timer.seconds)], timer.seconds[1:]
    seconds = sum(steps)
    real = sum(b["real"] for b in timed)
    computed = sum(b["computed"] for b in timed)
    attention = sum(12 * config.num_hidden_layers * config.hidden_size * b["span"] * b["computed"]
                    for b in timed)
    return {"mode": f"{mode}/{kernels}", "steps": len(steps), "s_per_step": seconds / len(steps),
            "real_tps": real / seconds, "computed_tps": computed / seconds,
            "pad_share": 1 - real / computed, "model_flops": 6 * n_params * real / seconds,
            "hw_flops": (6 * n_params * computed + attention) / seconds,
            "tokens_per_step": computed / len(steps), "n_params": n_params,
            "losses": losses}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/base", help="base model folder")
    parser.add_argument("--train", default="data/labels/r0.jsonl", help="JSONL of labels")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (after 1 warm-up)")
    parser.add_argument("--records", type=int, help="records to train on (default: enough "
                        "for the steps, 4x for packing)")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"],
                        help="compute dtype (default: params model.dtype, resolved)")
    parser.add_argument("--padding-free", action="store_true", help="also TRL padding_free")
    parser.add_argument("--packing", action="store_true", help="also TRL packing (bfd)")
    parser.add_argument("--lora", action="store_true", help="also LoRA (frozen base weights in "
                        "the compute dtype, adapter r --lora-r, alpha 2r, all linear layers)")
    parser.add_argument("--lora-r", type=int, default=64)
    parser.add_argument("--kernels", default="library,auto", help="model.train_kernels values "
                        "to time, comma-separated (auto: the CPU path where there is no GPU)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--reps", type=int, default=5, help="matmul reps per size (best kept)")
    args = parser.parse_args(argv)
    if not (Path(args.model) / "config.json").is_file():
        print(f"train_throughput: {args.model} has no model (config.json); run `dvc repro "
              "base_model` or `dvc pull` first", file=sys.stderr)
        return 2

    from ilr.core.params import load_params
    from ilr.train.checkpoints import DTYPES, resolve_dtype

    params = load_params(args.params)
    dtype = args.dtype or resolve_dtype(params.model.dtype)
    print(cpu_line())
    peak, rows = matmul_peak(DTYPES[dtype], reps=args.reps)
    print(f"\nmatmul ({dtype}, best of {args.reps}):")
    for shape, flops, _ in rows:
        print(f"  {shape:>22}  {flops / 1e9:8.1f} GFLOP/s")
    print(f"  peak (square sizes)     {peak / 1e9:8.1f} GFLOP/s")

    sft_args = params.sft.args
    batch = sft_args.get("per_device_train_batch_size", 8)
    modes = ["padded"] + ["padding-free"] * args.padding_free + ["packing"] * args.packing + ["lora"] * args.lora
    needed = args.records or (args.steps + 1) * batch * (4 if args.packing else 1)
    records, source = load_records(args.train, params, needed)
    print(f"\nSFT: {args.model}, {len(records)} records from {source}; batch {batch}, "
          f"max_length {sft_args.get('max_length')}, dtype {dtype} (weights float32"
          f"{', bf16 autocast' if dtype == 'bfloat16' else ''}), 1 warm-up + {args.steps} "
          "timed steps per mode", flush=True)
    results = [run_mode(mode, args, params, records, dtype, kernels) for mode in modes
               for kernels in args.kernels.split(",")]
    print(f"n_params {results[0]['n_params'] / 1e6:.1f}M; model FLOP/s = 6 N x non-pad "
          "tokens/s; hw FLOP/s = 6 N x computed tokens/s + attention; % of the matmul peak")
    print(f"{'mode':<21} {'s/step':>7} {'tok/step':>8} {'non-pad tok/s':>13} "
          f"{'computed tok/s':>14} {'pad':>5} {'model GFLOP/s':>13} {'%peak':>6} "
          f"{'hw GFLOP/s':>10} {'%peak':>6} losses by step")
    for r in results:
        print(f"{r['mode']:<21} {r['s_per_step']:7.2f} {r['tokens_per_step']:8.0f} "
              f"{r['real_tps']:13.1f} {r['computed_tps']:14.1f} {r['pad_share']:5.0%} "
              f"{r['model_flops'] / 1e9:13.1f} {r['model_flops'] / peak:6.1%} "
              f"{r['hw_flops'] / 1e9:10.1f} {r['hw_flops'] / peak:6.1%} "
              + " ".join(f"{x:.4g}" for x in r["losses"]))
    if args.json:
        from ilr.core.io import write_json

        write_json(args.json, {"cpu": cpu_line(), "dtype": dtype, "matmul_peak_flops": peak,
                               "batch": batch, "timed_steps": args.steps, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
