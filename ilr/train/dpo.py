"""The SFT+DPO baseline, fed the same comparison feedback as ILR.

From the policy (the round-0 SFT model, or the previous DPO round's model) sample ``n_samples``
responses per training prompt; consecutive samples form pairs (6 samples give 3 pairs); the
feedback scores each pair in both orders, averaged (the same ``score_items`` ILR uses: the
item's ``label`` is sample A and its ``proposal`` sample B); the most confident ``keep_share``
of the pairs become DPO's chosen/rejected data; TRL's ``DPOTrainer`` trains from the policy
with the policy as its reference.
"""
from __future__ import annotations

import contextlib
import tempfile

import torch

from ilr.core.params import DpoParams, GenerationParams
from ilr.tasks.task import Task
from ilr.train.checkpoints import (cpu_train_path, load_causal_lm, load_tokenizer,
                                   save_causal_lm, training_attention)
from ilr.train.curves import curve_callbacks
from ilr.train.sft import build_lora_config, check_fields, default_trainer_args


def sample_policy(model, tokenizer, records: list[dict], *, task: Task, n_samples: int,
                  generation: GenerationParams, seed: int, backend: str = "transformers",
                  dtype: str = "float32") -> list[str]:
    """``n_samples`` sampled responses per record, record by record, through the shared
    batched generator (``model``: loaded, or a folder)."""
    from ilr.engines.generation import generate_responses

    conversations = [task.render_messages(r["prompt"]) for r in records for _ in range(n_samples)]
    return [o["text"] for o in generate_responses(model, tokenizer, conversations,
                                                  params=generation, seed=seed, desc="dpo sample",
                                                  backend=backend, dtype=dtype)]


def build_sample_records(records: list[dict], samples: list[str], *, n_samples: int) -> list[dict]:
    """``samples`` (``n_samples`` per record, in record order) as one ``{id, prompt, samples}``
    record per prompt: the file `dpo_samples` writes and `dpo_pairs` reads."""
    if len(samples) != len(records) * n_samples:
        raise ValueError(f"{len(samples)} samples for {len(records)} prompts x {n_samples}")
    return [{"id": r["id"], "prompt": r["prompt"], "samples": samples[k * n_samples:(k + 1) * n_samples]}
            for k, r in enumerate(records)]


def build_sample_pairs(records: list[dict], *, n_samples: int) -> list[dict]:
    """Pair consecutive samples of each ``{id, prompt, samples}`` record. Pairs of identical
    responses carry no preference and are dropped."""
    pairs = []
    for record in records:
        own = record["samples"]
        if len(own) != n_samples or not all(isinstance(s, str) for s in own):
            raise ValueError(f"id {record['id']!r}: {len(own)} samples where dpo.n_samples is "
                             f"{n_samples} (all strings); rerun dpo_samples with these params")
        for j in range(0, n_samples - 1, 2):
            if own[j] != own[j + 1]:
                pairs.append({"id": record["id"], "pair": j // 2, "prompt": record["prompt"],
                              "label": own[j], "proposal": own[j + 1]})
    return pairs


def select_preference_pairs(pairs: list[dict], scores: list[float], *, keep_share: float,
                            n_all: int | None = None) -> list[dict]:
    """The most confident ``keep_share`` of all ``n_all`` pairs (the reference code's count,
    identical samples included; default: the scored pairs) as ``{prompt, chosen, rejected}``:
    chosen is the response the feedback preferred (score > 0.5 prefers the pair's B). Ties
    (0.5) are never kept, so fewer come back when too few pairs are decided."""
    if not 0 < keep_share <= 1:
        raise ValueError(f"dpo.keep_share must be in (0, 1], got {keep_share}")
    if len(scores) != len(pairs):
        raise ValueError("one score per pair is needed")
    decided = [(abs(s - 0.5), p, s) for p, s in zip(pairs, scores) if s != 0.5]
    decided.sort(key=lambda t: (-t[0], t[1]["id"], t[1]["pair"]))
    keep = decided[:round(keep_share * (len(pairs) if n_all is None else n_all))]
    return [{"id": p["id"], "pair": p["pair"], "prompt": p["prompt"], "score": s,
             "chosen": p["proposal"] if s > 0.5 else p["label"],
             "rejected": p["label"] if s > 0.5 else p["proposal"]} for _, p, s in keep]


def measure_preference_pairs(pairs: list[dict], scores: list[float], kept: list[dict], *,
                             task: Task, gold: list[dict], n_all: int, n_samples: int) -> dict:
    """Pair statistics: counts, the share of kept pairs whose chosen (and rejected) response is
    right, and the feedback's accuracy, interval and AUROC on the scored pairs where exactly one
    sample is right (the sweep's x axis for DPO)."""
    from ilr.measure.reliability import measure_decisions

    by_id = {g["id"]: g for g in gold}

    def right(text: str, pid: str) -> bool:
        return task.grade(text, by_id[pid]["response"], item=by_id[pid])

    sides = [(right(p["label"], p["id"]), right(p["proposal"], p["id"])) for p in pairs]
    decided = [(b, s) for (a, b), s in zip(sides, scores) if a != b]
    return {"n_samples": n_samples, "n_pairs_all": n_all, "n_pairs": len(pairs),
            "n_kept": len(kept),
            "chosen_correct": sum(right(p["chosen"], p["id"]) for p in kept) / len(kept)
            if kept else None,
            "rejected_correct": sum(right(p["rejected"], p["id"]) for p in kept) / len(kept)
            if kept else None,
            **measure_decisions([w for w, _ in decided], [s for _, s in decided],
                                prefix="feedback_")}


def build_dpo_config(dpo: DpoParams, *, output_dir: str, seed: int, dtype: str = "float32"):
    """``trl.DPOConfig`` from ``dpo.args`` (DPOConfig field names; bf16 per ``model.dtype``)."""
    from trl import DPOConfig

    check_fields(DPOConfig, dpo.args, "dpo.args")
    return DPOConfig(output_dir=output_dir, **{**default_trainer_args(seed, dtype), **dpo.args})


def build_dpo_dataset(task: Task, pairs: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": task.render_messages(p["prompt"]),
         "chosen": [{"role": "assistant", "content": p["chosen"]}],
         "rejected": [{"role": "assistant", "content": p["rejected"]}]} for p in pairs])


def build_dpo_trainer(policy: str, pairs: list[dict], *, task: Task, dpo: DpoParams,
                      workdir: str, seed: int, dtype: str = "float32", curves: str | None = None):
    """``(trainer, tokenizer)``: a ``DPOTrainer`` on ``pairs`` (reference = a frozen copy of
    ``policy``), not yet trained."""
    from trl import DPOTrainer

    tokenizer = load_tokenizer(policy)
    trainer = DPOTrainer(model=load_causal_lm(policy, dtype=torch.float32),
                         args=build_dpo_config(dpo, output_dir=workdir, seed=seed, dtype=dtype),
                         train_dataset=build_dpo_dataset(task, pairs), processing_class=tokenizer,
                         peft_config=build_lora_config(dpo, "dpo.lora"),
                         callbacks=curve_callbacks(curves))
    return trainer, tokenizer


def run_dpo_trainer(policy: str, pairs: list[dict], *, task: Task, dpo: DpoParams, workdir: str,
                    seed: int, dtype: str = "float32", kernels: str = "library",
                    curves: str | None = None):
    """Train :func:`build_dpo_trainer`'s trainer; returns ``(trainer, tokenizer, train_output)``.
    ``kernels`` (``model.train_kernels``): :func:`dpo_training_kernels`."""
    trainer, tokenizer = build_dpo_trainer(policy, pairs, task=task, dpo=dpo, workdir=workdir,
                                           seed=seed, dtype=dtype, curves=curves)
    with dpo_training_kernels(trainer, kernels):
        result = trainer.train()
    return trainer, tokenizer, result


@contextlib.contextmanager
def dpo_training_kernels(trainer, kernels: str = "library"):
    """What ``model.train_kernels`` auto changes while DPO trains on a CPU: eager attention for
    the policy and its reference alike, and TRL's log-prob head on the completions only
    (:func:`compact_log_prob_head`). Why the reference too: in bfloat16 an sdpa reference and
    an eager policy round differently, so their log-probs differ before any step (a first loss
    of 0.6904 where DPO starts at log 2 = 0.6931, bench/results/dpo-kernels.json)."""
    with contextlib.ExitStack() as stack:
        for model in filter(None, (trainer.model, getattr(trainer, "ref_model", None))):
            stack.enter_context(training_attention(model, kernels))
        stack.enter_context(compact_log_prob_head(kernels))
        yield


@contextlib.contextmanager
def compact_log_prob_head(kernels: str = "library"):
    """On the CPU path of ``model.train_kernels``, TRL's fused LM head scores only the positions
    whose label counts (the completion's), for the policy and the reference, as it does on a GPU.

    Why: TRL 1.16's head (``trl.trainer.utils.add_fused_lm_head``) keeps only those positions
    where its Triton kernel runs, and scores every position elsewhere, prompt and padding
    included, so that tile shapes stay fixed for compilers such as Neuron's. An eager CPU
    compiles nothing. TRL has no setting for it, so for the ``with`` block its module's
    ``_use_triton`` answers True. The tiles stay TRL's torch ones: ``trl.kernels.chunked_logprob``
    asks its own ``_use_triton``. Same loss and gradients (tests/test_dpo.py, which also fail if
    TRL's code moves); a DPO step 11.5 -> 6.5 s on the 2-core CPU in bfloat16, eager attention
    both ways (docs/hardware-and-time.md, Speed)."""
    if not cpu_train_path(kernels):
        yield
        return
    from unittest import mock

    from trl.trainer import utils

    with mock.patch.object(utils, "_use_triton", lambda device: True):
        yield


def train_dpo(policy: str, pairs: list[dict], *, task: Task, dpo: DpoParams, out: str, seed: int,
              save_dtype: str = "bfloat16", dtype: str = "float32", kernels: str = "library",
              curves: str | None = None) -> dict:
    """DPO from ``policy`` on ``pairs``; saves a full model (LoRA is merged) to ``out``."""
    if not pairs:
        raise ValueError("no preference pairs to train on: every pair tied (score 0.5); "
                         "raise dpo.n_samples or dpo.keep_share, or check the feedback")
    with tempfile.TemporaryDirectory(prefix="dpo-") as workdir:
        trainer, tokenizer, result = run_dpo_trainer(policy, pairs, task=task, dpo=dpo,
                                                     workdir=workdir, seed=seed, dtype=dtype,
                                                     kernels=kernels, curves=curves)
    model = trainer.model.merge_and_unload() if dpo.use_lora else trainer.model
    save_causal_lm(model, tokenizer, out, dtype=save_dtype)
    return {"train_loss": result.training_loss, "steps": result.global_step, "n_pairs": len(pairs)}
