"""The paper's weak supervisor: the base model fine-tuned on part of gold half A.

It is made weaker than the student through params (fewer examples, fewer steps). Its
checkpoints (``supervisor.args.save_steps`` apart, or one per epoch) answer the held-back prompts
of half A, sampled as the reference code does (``supervisor.checkpoint_generation``: temperature
0.6); those outputs, graded against gold, are the feedback classifier's training material.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

from ilr.core.params import Params, SftParams
from ilr.engines.generation import generate_responses
from ilr.tasks.task import Task
from ilr.train.base_model import save_first_layers
from ilr.train.checkpoints import save_causal_lm, saved_parameter_count
from ilr.train.sft import run_sft_trainer


def split_half_a(records: list[dict], *, n_train: int, seed: int) -> tuple[list, list]:
    """Seeded split of half A into the supervisor's training part and the held-back rest."""
    if n_train > len(records):
        raise ValueError(f"supervisor.n_train = {n_train} but gold half A has {len(records)} "
                         "records; lower it or raise task.n_supervisor")
    shuffled = records[:]
    random.Random(f"supervisor/{seed}").shuffle(shuffled)
    return shuffled[:n_train], shuffled[n_train:] or shuffled


def train_supervisor(base: str, half_a: list[dict], *, task: Task, params: Params,
                     out: str) -> tuple[list[dict], dict]:
    """Train the supervisor into ``out``; returns its checkpoints' outputs on held-back prompts
    (``{id, checkpoint, response, correct}``) and a summary with each checkpoint's accuracy."""
    sup, base_source = params.supervisor, base
    train, held_back = split_half_a(half_a, n_train=sup.n_train, seed=params.seed)
    conversations = [task.render_messages(r["prompt"]) for r in held_back]
    outputs, summary = [], {"n_train": len(train), "n_held_back": len(held_back), "checkpoints": {}}
    with tempfile.TemporaryDirectory(prefix="supervisor-") as workdir:
        if sup.layers is not None:  # a smaller model of the same family: the first k layers
            base = f"{workdir}/first-layers"
            cut = save_first_layers(base_source, layers=sup.layers, out=base)
            summary.update(layers=cut["layers"], of_layers=cut["of_layers"])
        checkpointing = {"save_strategy": "epoch", **sup.args, "save_only_model": True}
        trainer, tokenizer, result = run_sft_trainer(
            base, train, task=task, workdir=workdir,
            sft=SftParams(use_lora=sup.use_lora, lora=sup.lora, args=checkpointing),
            seed=params.seed, dtype=params.model.dtype, kernels=params.model.train_kernels)
        save_causal_lm(trainer.model, tokenizer, out, dtype=params.model.save_dtype)
        summary["parameters"] = saved_parameter_count(out)
        del trainer
        for ckpt in sorted(Path(workdir).glob("checkpoint-*"), key=lambda p: int(p.name[11:])):
            responses = generate_responses(str(ckpt), tokenizer, conversations,
                                           params=sup.checkpoint_generation, seed=params.seed,
                                           desc=ckpt.name, backend=params.generation.backend,
                                           dtype=params.model.dtype)
            correct = [task.grade(o["text"], r["response"], item=r)
                       for o, r in zip(responses, held_back)]
            outputs += [{"id": r["id"], "checkpoint": ckpt.name, "response": o["text"], "correct": c}
                        for r, o, c in zip(held_back, responses, correct)]
            summary["checkpoints"][ckpt.name] = sum(correct) / len(correct)
    summary["train_loss"] = result.training_loss
    return outputs, summary
