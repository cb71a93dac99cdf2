"""ILR cross-labeling: split the current labels in two halves, fine-tune one model per half
from the base model, and let each propose answers for the half it did not see.

The two half models are intermediates: they live in a temporary folder for the length of the
stage and never reach the DVC cache; only their proposals are an output.
"""
from __future__ import annotations

import random
import tempfile

from ilr.core.params import GenerationParams, SftParams
from ilr.engines.generation import generate_responses, engine_model
from ilr.tasks.task import Task
from ilr.train.sft import run_sft_trainer


def split_halves(labels: list[dict], *, seed: int, version: str) -> tuple[list, list]:
    """A seeded split of the labels into two halves (a new split for every label version)."""
    order = list(range(len(labels)))
    random.Random(f"halves/{seed}/{version}").shuffle(order)
    cut = len(order) // 2
    return [labels[i] for i in sorted(order[:cut])], [labels[i] for i in sorted(order[cut:])]


def propose_labels(base: str, labels: list[dict], *, task: Task, sft: SftParams,
                   generation: GenerationParams, seed: int, version: str,
                   dtype: str = "float32", backend: str = "transformers",
                   kernels: str = "library") -> list[dict]:
    """One proposal per label of label version ``version``, ``{id, proposal, half}``, each
    written by the model that was fine-tuned on the other half. Every round that refines this
    version reads the same proposals: an ILR and a naive round differ only in the decision."""
    halves = split_halves(labels, seed=seed, version=version)
    proposals = []
    for k, (train, other) in enumerate([(halves[0], halves[1]), (halves[1], halves[0])]):
        with tempfile.TemporaryDirectory(prefix=f"half{k}-") as workdir:
            trainer, tokenizer, _ = run_sft_trainer(base, train, task=task, sft=sft,
                                                    workdir=workdir, seed=seed + k, dtype=dtype,
                                                    kernels=kernels)
            model = engine_model(trainer.model, tokenizer, f"{workdir}/model", backend=backend,
                                 dtype=dtype)
            del trainer
            responses = generate_responses(model, tokenizer,
                                           [task.render_messages(r["prompt"]) for r in other],
                                           params=generation, seed=seed + k,
                                           desc=f"propose half {k}", backend=backend, dtype=dtype)
        proposals += [{"id": r["id"], "proposal": o["text"], "half": 1 - k}
                      for r, o in zip(other, responses)]
        del model
    by_id = {p["id"]: p for p in proposals}
    return [by_id[lab["id"]] for lab in labels]
