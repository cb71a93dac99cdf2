"""The comparison classifier (``feedback.kind: classifier``), fine-tuned once.

Training pairs follow the paper: from the supervisor checkpoints' outputs on held-back prompts
of half A and their gold solutions, prefer correct over incorrect and gold over a correct model
output. Every pair is shown in both orders (gold as answer (B): accept; gold as answer (A):
refuse), so the classifier cannot learn a position bias.
"""
from __future__ import annotations

import random
import tempfile

import torch

from ilr.checkpoints import inference_dtype, save_causal_lm
from ilr.feedback import render_comparison
from ilr.params import FeedbackModelParams
from ilr.sft import check_fields, default_trainer_args


def build_pairs(outputs: list[dict], gold: list[dict], *, n_pairs: int, seed: int) -> list[dict]:
    """Classifier examples ``{text, label}`` (label 1 = accept the change to answer (B))."""
    gold_by_id = {r["id"]: r for r in gold}
    candidates = [o for o in outputs if o["id"] in gold_by_id
                  and o["response"].strip() != gold_by_id[o["id"]]["response"].strip()]
    if not candidates:
        raise ValueError("feedback_model: no supervisor outputs differ from gold; nothing to learn")
    rng = random.Random(f"pairs/{seed}")
    chosen = rng.sample(candidates, min(n_pairs, len(candidates)))
    examples = []
    for o in chosen:
        g = gold_by_id[o["id"]]
        examples.append({"text": render_comparison(g["prompt"], o["response"], g["response"]), "label": 1})
        examples.append({"text": render_comparison(g["prompt"], g["response"], o["response"]), "label": 0})
    rng.shuffle(examples)
    return examples


def build_training_args(params: FeedbackModelParams, *, output_dir: str, seed: int):
    from transformers import TrainingArguments

    check_fields(TrainingArguments, params.args, "feedback_model.args")
    return TrainingArguments(output_dir=output_dir, **{**default_trainer_args(seed), **params.args})


def train_feedback_model(base: str, examples: list[dict], *, params: FeedbackModelParams,
                         out: str, seed: int, save_dtype: str = "bfloat16") -> dict:
    """Fine-tune ``base`` as a 2-way sequence classifier on ``examples`` and save it to ``out``."""
    from datasets import Dataset
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              DataCollatorWithPadding, Trainer)

    torch.manual_seed(seed)  # the new classification head is initialised at random
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    tokenizer.truncation_side = "left"  # the question to answer is at the end of the prompt
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2,
                                                               dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    data = Dataset.from_list(examples).map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=params.max_length),
        batched=True, remove_columns=["text"])
    with tempfile.TemporaryDirectory(prefix="feedback-") as workdir:
        trainer = Trainer(model=model, args=build_training_args(params, output_dir=workdir, seed=seed),
                          train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer))
        result = trainer.train()
    save_causal_lm(trainer.model, tokenizer, out, dtype=save_dtype)
    return {"train_loss": result.training_loss, "steps": result.global_step,
            "n_examples": len(examples)}


def load_acceptor(path: str, *, batch_size: int = 16, max_length: int = 512):
    """A function: comparison prompts -> P(accept the change to answer (B)), from a classifier."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.truncation_side = "left"
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=inference_dtype()).eval()

    @torch.inference_mode()
    def accept(texts: list[str]) -> list[float]:
        probs = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                            truncation=True, max_length=max_length)
            logits = model(**enc).logits.float()
            probs += torch.softmax(logits, dim=-1)[:, 1].tolist()
        return probs

    return accept
