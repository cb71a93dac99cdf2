"""A seeded error model that makes human-like mistakes inside worked solutions.

Kinds of mistake, each made in one step and carried through to the end:

- ``slip``: the result of one ``a op b = c`` line is off (``12 + 9 = 22``). Re-doing that
  line's arithmetic catches it.
- ``wrong_op``: one step uses the wrong operation, computed correctly (``12 - 9 = 3`` where the
  problem adds). Every line checks out; only reading the problem catches it.
- ``misread``: one operand is misread from the problem (``12 + 6 = 18`` where it says 9).
  Every line checks out; only reading the problem catches it.

An all-slip model would make feedback unrealistically easy, so the mix is a parameter and the
realised mix is reported. Solutions without ``a op b = c`` lines (free-form GSM8K text) get a
slip in their final answer.
"""
from __future__ import annotations

import random
import re
from collections import Counter

from ilr.tasks.arith import EQUATION, OPS
from ilr.tasks.grading import extract_answer

KINDS = ("slip", "wrong_op", "misread")


def _nearby(rng: random.Random, value: int) -> int:
    """A plausible wrong number near ``value`` (off by a little, or by ten)."""
    return value + rng.choice([-10, -2, -1, 1, 2, 10]) if value > 10 else \
        value + rng.choice([-2, -1, 1, 2, 3])


def _corrupt_lines(rng: random.Random, response: str, kind: str) -> str | None:
    """One mistake in a consistent ``a op b = c`` line, carried through the lines that use its
    result and into the ``####`` answer; None when the text has no such line."""
    lines = list(EQUATION.finditer(response))
    steps = [[int(m[1]), m[2], int(m[3]), int(m[4])] for m in lines]
    consistent = [i for i, (a, op, b, c) in enumerate(steps) if OPS[op](a, b) == c]
    if not consistent:
        return None
    k = rng.choice(consistent)
    original = [list(s) for s in steps]
    a, op, b, c = steps[k]
    if kind == "slip":
        steps[k][3] = _nearby(rng, c)
    elif kind == "wrong_op":
        steps[k][1] = rng.choice([o for o in OPS if o != op])
        steps[k][3] = OPS[steps[k][1]](a, b)
    else:  # misread
        steps[k][2] = max(1, _nearby(rng, b))
        steps[k][3] = OPS[op](a, steps[k][2])
    for i in range(k + 1, len(steps)):  # carry the mistake into the lines that use it
        if original[i][0] == original[i - 1][3]:
            steps[i][0] = steps[i - 1][3]
            steps[i][3] = OPS[steps[i][1]](steps[i][0], steps[i][2])
    text, last = [], 0
    for m, (a2, op2, b2, c2) in zip(lines, steps):
        text.append(response[last:m.start()] + f"{a2} {op2} {b2} = {c2}")
        last = m.end()
    body = "".join(text) + response[last:]
    if "####" in body and extract_answer(response) == str(original[-1][3]):
        body = re.sub(r"####\s*.*$", f"#### {steps[-1][3]}", body, flags=re.S)
    return body


def corrupt_response(rng: random.Random, response: str, kind: str) -> tuple[str, str]:
    """A wrong version of ``response`` with one mistake of ``kind``; returns (text, kind used)."""
    gold = extract_answer(response)
    for _ in range(20):
        text = _corrupt_lines(rng, response, kind)
        if text is not None and extract_answer(text) != gold:
            return text, kind
    # no equation lines (or every try landed on the gold answer): a slip in the final answer
    wrong = str(_nearby(rng, int(float(gold)))) if gold and float(gold).is_integer() else "0"
    if "####" in response:
        return re.sub(r"####\s*.*$", f"#### {wrong}", response, flags=re.S), "final_slip"
    return f"{response}\n#### {wrong}", "final_slip"


def corrupt_records(records: list[dict], *, error_rate: float, mix: dict[str, float],
                    seed: int) -> tuple[list[dict], dict]:
    """Labels from gold records with exactly ``round(error_rate * n)`` corrupted.

    Returns ``(labels, report)``; each label is ``{id, prompt, response, source, error}`` with
    ``error`` the kind of mistake or None, and the report gives the realised mix.
    """
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"supervise.noise.error_rate must be in [0, 1], got {error_rate}")
    unknown = sorted(set(mix) - set(KINDS))
    if unknown or not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"supervise.noise.mix: weights >= 0 over {list(KINDS)}, got {mix}")
    rng = random.Random(f"noise/{seed}")
    wrong = set(rng.sample(range(len(records)), round(error_rate * len(records))))
    kinds, weights = list(mix), list(mix.values())
    labels, counts = [], Counter()
    for i, record in enumerate(records):
        response, error = record["response"], None
        if i in wrong:
            response, error = corrupt_response(rng, response, rng.choices(kinds, weights)[0])
            counts[error] += 1
        labels.append({"id": record["id"], "prompt": record["prompt"], "response": response,
                       "source": "noise", "error": error})
    return labels, {"n_corrupted": len(wrong), "mix": dict(sorted(counts.items()))}
