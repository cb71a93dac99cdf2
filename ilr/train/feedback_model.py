"""The comparison classifier (``feedback.kind: classifier``), fine-tuned once, as the paper's
reference code trains its evaluator.

Material: the supervisor checkpoints' sampled answers to held-back half-A prompts, graded against
gold. Pairs of the reference's kinds: gold over a wrong answer, a right answer over a wrong one,
and gold over a right answer. Every pair is shown in both orders (the better answer as (B):
accept; as (A): refuse), so the classifier cannot learn a position bias. A share of the prompts
is held out: the trainer evaluates on it each epoch and stops early, and the ``feedback`` stage
measures the saved classifier on it.
"""
from __future__ import annotations

import random
import tempfile

import torch

from ilr.core.params import FeedbackModelParams
from ilr.core.phases import phase
from ilr.method.comparison import render_comparison
from ilr.train.checkpoints import inference_dtype, save_causal_lm, training_attention
from ilr.train.curves import curve_callbacks
from ilr.train.sft import check_fields, default_trainer_args


def build_preference_pairs(outputs: list[dict], gold: list[dict], *, n_pairs: int,
                           seed: int) -> list[dict]:
    """Up to ``n_pairs`` pairs ``{id, prompt, better, worse, kind}`` from graded outputs
    (``{id, response, correct}``): gold > wrong, right > wrong, gold > right (distinct texts)."""
    gold_by_id = {r["id"]: r for r in gold}
    by_id: dict[str, dict[str, bool]] = {}
    for o in outputs:
        if o["id"] in gold_by_id and o["response"].strip():
            by_id.setdefault(o["id"], {})[o["response"].strip()] = bool(o["correct"])
    pairs = []
    for pid, answers in sorted(by_id.items()):
        g = gold_by_id[pid]
        gold_text = g["response"].strip()
        right = [a for a, ok in answers.items() if ok and a != gold_text]
        wrong = [a for a, ok in answers.items() if not ok]
        kinds = ([("gold>wrong", gold_text, w) for w in wrong]
                 + [("right>wrong", r, w) for r in right for w in wrong]
                 + [("gold>right", gold_text, r) for r in right])
        pairs += [{"id": pid, "prompt": g["prompt"], "kind": kind, "better": better, "worse": worse}
                  for kind, better, worse in kinds]
    if not pairs:
        raise ValueError("feedback_model: no supervisor output differs from gold; nothing to learn")
    rng = random.Random(f"pairs/{seed}")
    return sorted(rng.sample(pairs, min(n_pairs, len(pairs))),
                  key=lambda p: (p["id"], p["kind"], p["better"], p["worse"]))


def split_heldout(pairs: list[dict], *, share: float, seed: int) -> tuple[list, list]:
    """(train, held-out) split by prompt, so no held-out question was seen in training."""
    ids = sorted({p["id"] for p in pairs})
    random.Random(f"heldout/{seed}").shuffle(ids)
    held = set(ids[:round(share * len(ids))])
    return [p for p in pairs if p["id"] not in held], [p for p in pairs if p["id"] in held]


def build_examples(pairs: list[dict]) -> list[dict]:
    """Classifier examples ``{text, label}``: each pair in both orders (1 = accept (B))."""
    examples = []
    for p in pairs:
        examples.append({"text": render_comparison(p["prompt"], p["worse"], p["better"]), "label": 1})
        examples.append({"text": render_comparison(p["prompt"], p["better"], p["worse"]), "label": 0})
    return examples


def pair_items(pairs: list[dict]) -> list[dict]:
    """Feedback items where the answer is known, both roles: ``want`` = the proposal should win."""
    items = []
    for p in pairs:
        items.append({"id": p["id"], "prompt": p["prompt"], "label": p["worse"],
                      "proposal": p["better"], "want": True, "kind": p["kind"]})
        items.append({"id": p["id"], "prompt": p["prompt"], "label": p["better"],
                      "proposal": p["worse"], "want": False, "kind": p["kind"]})
    return items


def build_training_args(params: FeedbackModelParams, *, output_dir: str, seed: int,
                        dtype: str = "float32", evaluate: bool = False, config_class=None,
                        extra: dict | None = None):
    """``TrainingArguments`` (or ``config_class``, e.g. TRL's ``RewardConfig`` for the reward
    head) from ``feedback_model.args``; with a held-out set, evaluation and a checkpoint each
    epoch, and the best epoch (lowest held-out loss) restored at the end."""
    from transformers import TrainingArguments

    config_class = config_class or TrainingArguments
    check_fields(config_class, params.args, "feedback_model.args")
    early = {"eval_strategy": "epoch", "save_strategy": "epoch", "save_only_model": True,
             "load_best_model_at_end": True, "metric_for_best_model": "eval_loss",
             "save_total_limit": 2} if evaluate else {}
    return config_class(output_dir=output_dir, **{**default_trainer_args(seed, dtype), **early,
                                                  **(extra or {}), **params.args})


def train_feedback_model(base: str, train: list[dict], heldout: list[dict], *,
                         params: FeedbackModelParams, out: str, seed: int,
                         dtype: str = "float32", kernels: str = "library",
                         curves: str | None = None) -> dict:
    """Fine-tune ``base`` as a 2-way sequence classifier on ``train`` pairs (both orders), stop
    early on ``heldout`` pairs, save it to ``out`` in ``feedback_model.save_dtype``;
    ``kernels`` is ``model.train_kernels`` (eager attention while training on a CPU)."""
    from datasets import Dataset
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              DataCollatorWithPadding, EarlyStoppingCallback, Trainer)

    torch.manual_seed(seed)  # the new classification head is initialised at random
    with phase("load"):
        tokenizer = AutoTokenizer.from_pretrained(base)
        tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
        tokenizer.truncation_side = "left"  # the question to answer is at the end of the prompt
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2,
                                                                   dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id

    def encode(pairs):
        examples = build_examples(pairs)
        random.Random(f"order/{seed}").shuffle(examples)
        return Dataset.from_list(examples).map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=params.max_length),
            batched=True, remove_columns=["text"])

    with tempfile.TemporaryDirectory(prefix="feedback-") as workdir:
        trainer = Trainer(
            model=model, train_dataset=encode(train),
            eval_dataset=encode(heldout) if heldout else None,
            args=build_training_args(params, output_dir=workdir, seed=seed, dtype=dtype,
                                     evaluate=bool(heldout)),
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=([EarlyStoppingCallback(params.early_stopping_patience)] if heldout else [])
            + curve_callbacks(curves))
        with training_attention(model, kernels):
            result = trainer.train()
    return save_comparison_model(trainer, result, tokenizer, out=out, params=params,
                                 n_train=len(train), n_heldout=len(heldout))


def save_comparison_model(trainer, result, tokenizer, *, out: str, params: FeedbackModelParams,
                          n_train: int, n_heldout: int) -> dict:
    """Save a trained comparison model (classifier or reward head) to ``out`` in
    ``feedback_model.save_dtype``; its training log with the loss curve, the model and tokenizer."""
    save_causal_lm(trainer.model, tokenizer, out, dtype=params.save_dtype)
    curve = [{k: v for k, v in row.items() if k in ("epoch", "step", "loss", "eval_loss")}
             for row in trainer.state.log_history if "loss" in row or "eval_loss" in row]
    return {"train_loss": result.training_loss, "steps": result.global_step,
            "n_train_pairs": n_train, "n_heldout_pairs": n_heldout, "curve": curve,
            "model": trainer.model, "tokenizer": tokenizer}


def acceptor_from(model, tokenizer, *, batch_size: int = 16, max_length: int = 512):
    """A function: comparison prompts -> P(accept the change to answer (B)), from a classifier
    in memory."""
    model = model.eval()

    @torch.inference_mode()
    def accept(texts: list[str]) -> list[float]:
        probs = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                            truncation=True, max_length=max_length).to(model.device)
            logits = model(**enc).logits.float()
            probs += torch.softmax(logits, dim=-1)[:, 1].tolist()
        return probs

    return accept


def load_acceptor(path: str, *, batch_size: int = 16, max_length: int = 512,
                  dtype: str = "float32"):
    """:func:`acceptor_from` a saved classifier, loaded in ``model.dtype``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with phase("load"):
        tokenizer = AutoTokenizer.from_pretrained(path)
        tokenizer.truncation_side = "left"
        model = AutoModelForSequenceClassification.from_pretrained(
            path, dtype=inference_dtype(dtype, source=path))
    return acceptor_from(model, tokenizer, batch_size=batch_size, max_length=max_length)
