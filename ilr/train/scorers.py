"""Items -> scores from a saved comparison model, whichever head it has (``feedback_model.head``):
the one place that knows both trainers, so the feedback module imports neither."""
from __future__ import annotations

from typing import Callable

from ilr.method.comparison import score_both_orders
from ilr.train.feedback_model import load_acceptor
from ilr.train.reward_model import is_reward_model, load_reward_scorer


def load_item_scorer(path: str, *, batch_size: int = 16,
                     dtype: str = "float32") -> Callable[[list[dict]], list[float]]:
    """Items -> scores from a saved comparison model: a classifier asked in both orders, or a
    reward model's sigmoid(r_B - r_A) (``feedback_model.head``; told apart by its config)."""
    if is_reward_model(path):
        return load_reward_scorer(path, batch_size=batch_size, dtype=dtype)
    accept = load_acceptor(path, batch_size=batch_size, dtype=dtype)
    return lambda items: score_both_orders(items, accept)
