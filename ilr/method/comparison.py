"""The paper's comparison question, in one place: the feedback stages ask it, the comparison
classifier and reward head are trained on it, and the two-order average cancels position bias.
Imports nothing from the package, so the feedback and the trainers both stand on it."""
from __future__ import annotations

from typing import Callable

TEMPLATE = ("Question: {question}\n\nAnswer (A): {a}\n\nAnswer (B): {b}\n\n"
            "You gave the answer (A) to the question. Do you accept to change it to answer (B) "
            "proposed by another model?")


def render_comparison(question: str, a: str, b: str) -> str:
    """The paper's comparison prompt: keep answer (A), or change to answer (B)?"""
    return TEMPLATE.format(question=question, a=a, b=b)


def score_both_orders(items: list[dict],
                      accept: Callable[[list[str]], list[float]]) -> list[float]:
    """Average P(switch label -> proposal) and 1 - P(switch proposal -> label).

    ``accept`` maps comparison prompts to P(accept the change to answer (B)).
    """
    forward = accept([render_comparison(i["prompt"], i["label"], i["proposal"]) for i in items])
    reverse = accept([render_comparison(i["prompt"], i["proposal"], i["label"]) for i in items])
    return [(f + (1.0 - r)) / 2.0 for f, r in zip(forward, reverse)]
