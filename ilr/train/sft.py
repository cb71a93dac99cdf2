"""Supervised fine-tuning with TRL's ``SFTTrainer`` on prompt/completion records.

The dataset is conversational prompt/completion, so TRL computes the loss on the completion
only. ``sft.args`` are ``SFTConfig`` fields and ``sft.lora`` are ``LoraConfig`` fields; unknown
names are refused here with the key that carries them.
"""
from __future__ import annotations

import dataclasses
import tempfile

import torch

from ilr.core.io import atomic_path
from ilr.core.params import ParamsError, SftParams
from ilr.core.phases import phase
from ilr.tasks.task import Task
from ilr.train.checkpoints import (DTYPES, cpu_train_path, load_causal_lm, load_tokenizer,
                                   resolve_dtype, save_causal_lm, training_attention)
from ilr.train.curves import curve_callbacks


def check_fields(cls, values: dict, key: str) -> None:
    """Refuse keys of a params section that are not fields of the library's config class."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ParamsError(f"{key}: unknown {cls.__name__} field(s) {unknown}; "
                          f"see the {cls.__module__.split('.')[0]} docs for {cls.__name__}")


def build_sft_config(sft: SftParams, *, output_dir: str, seed: int, dtype: str = "float32"):
    """``trl.SFTConfig`` from ``sft.args``. Unless set there, bf16 autocast is on only when
    ``model.dtype`` resolves to bfloat16: on a CPU without native bf16 (AVX2 only) it is ~20x
    slower than fp32."""
    from trl import SFTConfig

    check_fields(SFTConfig, sft.args, "sft.args")
    return SFTConfig(output_dir=output_dir, **{**default_trainer_args(seed, dtype), **sft.args})


def default_trainer_args(seed: int, dtype: str = "float32") -> dict:
    """What every trainer here sets unless params say otherwise: seeded, no checkpoints or
    trackers, bf16 autocast only when ``model.dtype`` resolves to bfloat16, the CPU when there
    is no GPU."""
    return {"report_to": "none", "save_strategy": "no", "seed": seed, "data_seed": seed,
            "bf16": resolve_dtype(dtype) == "bfloat16", "use_cpu": not torch.cuda.is_available()}


def build_lora_config(section, key: str = "sft.lora"):
    """``peft.LoraConfig`` from ``section.lora`` when ``section.use_lora``, else None (full
    fine-tune); ``section`` is ``sft`` or ``dpo``."""
    if not section.use_lora:
        return None
    from peft import LoraConfig

    check_fields(LoraConfig, section.lora, key)
    return LoraConfig(**{"task_type": "CAUSAL_LM", **section.lora})


def build_sft_dataset(task: Task, records: list[dict]):
    """A ``datasets.Dataset`` of conversational prompt/completion pairs."""
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": task.render_messages(r["prompt"]),
         "completion": [{"role": "assistant", "content": r["response"]}]} for r in records])


def sft_trainer_class(kernels: str = "library"):
    """``trl.SFTTrainer``, or on the CPU path of ``model.train_kernels`` its subclass that takes
    the loss from the model's own forward (:func:`ilr.train.checkpoints.cpu_train_path`)."""
    from trl import SFTTrainer

    if not cpu_train_path(kernels):
        return SFTTrainer

    class LogitsLossSFTTrainer(SFTTrainer):
        """SFT with the loss from the model's own forward: the same completion-only negative
        log-likelihood over the same tokens, with logits computed only over the batch's
        completion window (:func:`completion_window`, the model's ``logits_to_keep``).

        Why not TRL's: TRL 1.16 computes it through a chunked log-prob head that has a Triton
        kernel for GPUs and runs as torch ops over ``[chunk, vocab]`` tiles elsewhere, several
        passes per tile for its entropy and top-1 metrics: 47% of a step's CPU time on the
        2-core CPU (a torch profile: docs/hardware-and-time.md, Speed). Why not transformers'
        ``Trainer.compute_loss``: it takes the LM head and a float32 cross-entropy over every
        position, prompt and padding included, where only the completion's count (an arith
        prompt is ~70 tokens, its answer ~27): an SFT step 3.16 -> 2.55 s without them in
        bfloat16 on the 2-core CPU (docs/hardware-and-time.md, Speed). Logged: the loss and
        ``mean_token_accuracy`` as TRL logs them; TRL's ``entropy`` is not computed here.
        """

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            from transformers import Trainer

            if self.label_smoother is not None or self.compute_loss_func is not None:
                return Trainer.compute_loss(self, model, {**inputs, "use_cache": False},
                                            return_outputs, num_items_in_batch)
            mode = "train" if self.model.training else "eval"
            labels = inputs["labels"]
            window = completion_window(labels)
            outputs = model(**{k: v for k, v in inputs.items() if k != "labels"},
                            use_cache=False, logits_to_keep=window)
            targets = labels[:, window + 1]
            loss = completion_nll(outputs.logits, targets, num_items_in_batch=num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                # as Trainer.compute_loss: the token count is every process's, and DDP averages
                loss = loss * (self.accelerator.num_processes // self.get_tp_size())
            with torch.no_grad():
                valid = targets != -100
                right = (outputs.logits.argmax(-1) == targets) & valid
                self._metrics[mode]["mean_token_accuracy"].append(
                    (right.sum() / valid.sum().clamp(min=1)).item())
            if mode == "train" and "attention_mask" in inputs:
                self._total_train_tokens += int(inputs["attention_mask"].sum())
                self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
            return (loss, outputs) if return_outputs else loss

    return LogitsLossSFTTrainer


def completion_window(labels: torch.Tensor) -> torch.Tensor:
    """The positions whose logits the loss needs: from the one before the batch's first
    completion token to the one before its last (labels not -100), as one index range shared
    by every row (the model's ``logits_to_keep`` takes one for the whole batch)."""
    targets = (labels[:, 1:] != -100).any(0).nonzero().flatten()
    if len(targets) == 0:
        return torch.arange(0, 1, device=labels.device)
    return torch.arange(int(targets[0]), int(targets[-1]) + 1, device=labels.device)


def completion_nll(logits: torch.Tensor, targets: torch.Tensor, *, num_items_in_batch=None):
    """The causal-LM loss transformers computes (``ForCausalLMLoss``): cross-entropy in float32
    over the tokens whose target is not -100, summed and divided by ``num_items_in_batch``
    when the trainer passes it (gradient accumulation), else their mean."""
    loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), targets.flatten(),
                                             ignore_index=-100, reduction="sum")
    if num_items_in_batch is None:
        return loss / (targets != -100).sum().clamp(min=1)
    return loss / torch.as_tensor(num_items_in_batch, device=loss.device)


def build_sft_trainer(base: str, records: list[dict], *, task: Task, sft: SftParams,
                      workdir: str, seed: int, dtype: str = "float32", kernels: str = "library",
                      curves: str | None = None, **overrides):
    """``(trainer, tokenizer)``: an ``SFTTrainer`` on ``records`` in ``workdir``, not yet trained
    (the training stages' path, also what bench/train_throughput.py and tests/test_sft.py use).

    ``overrides`` are SFTConfig fields set by the caller (checkpointing, for the supervisor);
    ``kernels`` is ``model.train_kernels``; ``curves`` a folder for the loss curve
    (``ilr.train.curves``).
    """
    tokenizer = load_tokenizer(base)
    # a full fine-tune keeps float32 master weights (bf16 autocast computes in bfloat16); with
    # LoRA only the adapter trains (PEFT keeps it in float32), so the frozen base weights stay
    # in the compute dtype: no float32 copy of weights that get no update
    model = load_causal_lm(base, dtype=DTYPES[resolve_dtype(dtype)] if sft.use_lora
                           else torch.float32)
    config = build_sft_config(sft.model_copy(update={"args": {**sft.args, **overrides}}),
                              output_dir=workdir, seed=seed, dtype=dtype)
    trainer = sft_trainer_class(kernels)(model=model, args=config,
                                         train_dataset=build_sft_dataset(task, records),
                                         processing_class=tokenizer,
                                         peft_config=build_lora_config(sft),
                                         callbacks=curve_callbacks(curves))
    return trainer, tokenizer


def run_sft_trainer(base: str, records: list[dict], *, task: Task, sft: SftParams,
                    workdir: str, seed: int, dtype: str = "float32", kernels: str = "library",
                    curves: str | None = None, **overrides):
    """Train with ``SFTTrainer`` in ``workdir``; returns ``(trainer, tokenizer, train_output)``.

    ``overrides`` are SFTConfig fields set by the caller (checkpointing, for the supervisor);
    ``curves`` a folder for the loss curve (``ilr.train.curves``).
    """
    trainer, tokenizer = build_sft_trainer(base, records, task=task, sft=sft, workdir=workdir,
                                           seed=seed, dtype=dtype, kernels=kernels,
                                           curves=curves, **overrides)
    with training_attention(trainer.model, kernels):
        result = trainer.train()
    return trainer, tokenizer, result


def train_sft(base: str, records: list[dict], *, task: Task, sft: SftParams, out: str,
              seed: int, save_dtype: str = "bfloat16", dtype: str = "float32",
              kernels: str = "library", curves: str | None = None) -> dict:
    """Fine-tune ``base`` on ``records`` and save to ``out`` (a full model, or a LoRA adapter).

    Returns the trainer's final log (train loss, runtime, steps).
    """
    with tempfile.TemporaryDirectory(prefix="sft-") as workdir:
        trainer, tokenizer, result = run_sft_trainer(base, records, task=task, sft=sft,
                                                     workdir=workdir, seed=seed, dtype=dtype,
                                                     kernels=kernels, curves=curves)
    if sft.use_lora:
        with phase("save"), atomic_path(out) as tmp:
            trainer.model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
    else:
        save_causal_lm(trainer.model, tokenizer, out, dtype=save_dtype)
    return {"train_loss": result.training_loss, "steps": result.global_step,
            "runtime_s": result.metrics.get("train_runtime")}
