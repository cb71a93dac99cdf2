"""The reward-model head of the comparison feedback (``feedback_model.head: reward``).

TRL's ``RewardTrainer`` fine-tunes the base model with one scalar output on the same pairs as
the classifier (the better answer chosen, the worse rejected), so each answer gets a reward
r(question, answer). A proposal's score against the current label is sigmoid(r_B - r_A): the
Bradley-Terry probability that the proposal (B) is preferred. It is antisymmetric by
construction (swapping A and B gives 1 - score), so there is no position bias to average away.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from ilr.core.params import FeedbackModelParams
from ilr.core.phases import phase
from ilr.train.checkpoints import inference_dtype, training_attention
from ilr.train.curves import curve_callbacks
from ilr.train.feedback_model import build_training_args, save_comparison_model

PROMPT = "Question: {question}\n\nAnswer: "


def build_reward_examples(pairs: list[dict]) -> list[dict]:
    """``RewardTrainer`` rows ``{prompt, chosen, rejected}`` (explicit prompt, plain text)."""
    return [{"prompt": PROMPT.format(question=p["prompt"]), "chosen": p["better"],
             "rejected": p["worse"]} for p in pairs]


def train_reward_model(base: str, train: list[dict], heldout: list[dict], *,
                       params: FeedbackModelParams, out: str, seed: int,
                       dtype: str = "float32", kernels: str = "library",
                       curves: str | None = None) -> dict:
    """``RewardTrainer`` from ``base`` on ``train`` pairs, early stopping on ``heldout`` pairs
    as the classifier does; saved to ``out`` in ``feedback_model.save_dtype``."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, EarlyStoppingCallback
    from trl import RewardConfig, RewardTrainer

    torch.manual_seed(seed)  # the new reward head is initialised at random
    with phase("load"):
        tokenizer = AutoTokenizer.from_pretrained(base)
        tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1,
                                                                   dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    with tempfile.TemporaryDirectory(prefix="reward-") as workdir:
        args = build_training_args(params, output_dir=workdir, seed=seed, dtype=dtype,
                                   evaluate=bool(heldout), config_class=RewardConfig,
                                   extra={"max_length": params.max_length})
        trainer = RewardTrainer(
            model=model, args=args, processing_class=tokenizer,
            train_dataset=Dataset.from_list(build_reward_examples(train)),
            eval_dataset=Dataset.from_list(build_reward_examples(heldout)) if heldout else None,
            callbacks=([EarlyStoppingCallback(params.early_stopping_patience)] if heldout else [])
            + curve_callbacks(curves))
        with training_attention(model, kernels):
            result = trainer.train()
    return save_comparison_model(trainer, result, tokenizer, out=out, params=params,
                                 n_train=len(train), n_heldout=len(heldout))


def reward_scorer_from(model, tokenizer, *, batch_size: int = 16, max_length: int = 512):
    """A function: feedback items ``{prompt, label, proposal}`` -> sigmoid(r(proposal) -
    r(label)), from a reward model in memory."""
    model = model.eval()

    @torch.inference_mode()
    def rewards(texts: list[str]) -> list[float]:
        out = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                            truncation=True, max_length=max_length).to(model.device)
            out += model(**enc).logits.float()[:, 0].tolist()
        return out

    def score(items: list[dict]) -> list[float]:
        r_a = rewards([PROMPT.format(question=i["prompt"]) + i["label"] for i in items])
        r_b = rewards([PROMPT.format(question=i["prompt"]) + i["proposal"] for i in items])
        return torch.sigmoid(torch.tensor(r_b) - torch.tensor(r_a)).tolist()

    return score


def is_reward_model(path: str) -> bool:
    """Whether the saved comparison model has one output (a reward head) rather than two."""
    config = json.loads((Path(path) / "config.json").read_text())
    return len(config.get("id2label") or {}) == 1 or config.get("num_labels") == 1


def load_reward_scorer(path: str, *, batch_size: int = 16, max_length: int = 512,
                       dtype: str = "float32"):
    """:func:`reward_scorer_from` a saved reward model, loaded in ``model.dtype``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with phase("load"):
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, dtype=inference_dtype(dtype, source=path))
    return reward_scorer_from(model, tokenizer, batch_size=batch_size, max_length=max_length)
