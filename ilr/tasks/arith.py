"""A seeded generator of GSM8K-style multi-step arithmetic word problems.

Each problem is a short story: a starting amount, then ``steps`` operations, each told in words.
The worked solution has one ``a op b = c.`` line per operation and ends in ``#### c``, so it
grades with the GSM8K conventions and its arithmetic can be re-checked line by line.
"""
from __future__ import annotations

import operator
import random
import re

from pydantic import Field, model_validator

from ilr.core.params_section import Section

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
NAMES = ["Mia", "Liam", "Ava", "Noah", "Zoe", "Omar", "Lena", "Ravi", "Sofia", "Kenji",
         "Amara", "Diego", "Hana", "Felix", "Nadia", "Theo"]
ITEMS = ["apples", "stickers", "marbles", "books", "coins", "shells", "pencils", "cards",
         "cookies", "stamps", "beads", "toy cars"]
_STEP_TEXT = {
    "+": ["Then {name} gets {x} more {item}.", "A friend gives {name} {x} more {item}.",
          "{name} finds {x} more {item}."],
    "-": ["Then {name} gives away {x} {item}.", "{name} loses {x} of the {item}.",
          "{name} uses up {x} {item}."],
    "*": ["Then {name}'s pile of {item} becomes {x} times as large.",
          "{name} ends up with {x} times as many {item} as before."],
}
# one written step of a worked solution, ``a op b = c`` (also used by the noise model)
EQUATION = re.compile(r"(-?\d+)\s*([-+*])\s*(-?\d+)\s*=\s*(-?\d+)")


class ArithSpec(Section):
    """Difficulty knobs (``task.arith`` in params)."""
    steps: int = 2
    min_value: int = 2
    max_value: int = 20
    ops: list[str] = Field(default_factory=lambda: ["+", "-", "*"])

    @model_validator(mode="after")
    def _check(self):
        if self.steps < 1:
            raise ValueError(f"task.arith.steps must be >= 1, got {self.steps}")
        if not 0 <= self.min_value <= self.max_value:
            raise ValueError("task.arith needs 0 <= min_value <= max_value, got "
                             f"{self.min_value}..{self.max_value}")
        bad = [op for op in self.ops if op not in OPS]
        if bad or not self.ops:
            raise ValueError(f"task.arith.ops: unknown {bad or 'empty list'}; allowed {list(OPS)}")
        return self


def generate_problem(rng: random.Random, spec: ArithSpec) -> dict:
    """One problem as ``{"prompt", "response", "answer"}``."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    value = rng.randint(spec.min_value, spec.max_value)
    sentences = [f"{name} has {value} {item}."]
    lines = []
    for _ in range(spec.steps):
        ops = [op for op in spec.ops if op != "-" or value >= spec.min_value]
        op = rng.choice(ops or ["+"])
        hi = min(spec.max_value, value) if op == "-" else spec.max_value
        x = rng.randint(spec.min_value, hi)
        result = OPS[op](value, x)
        sentences.append(rng.choice(_STEP_TEXT[op]).format(name=name, x=x, item=item))
        lines.append(f"{value} {op} {x} = {result}.")
        value = result
    sentences.append(f"How many {item} does {name} have now?")
    return {"prompt": " ".join(sentences),
            "response": " ".join(lines) + f"\n#### {value}",
            "answer": str(value)}


def generate_records(spec: ArithSpec, *, n: int, seed: int, split: str,
                     exclude: set[str] = frozenset()) -> list[dict]:
    """``n`` distinct problems for ``split`` with stable ids ``arith-<split>-00000``.

    Each split has its own random stream; prompts in ``exclude`` (the train prompts, when making
    the test split) are skipped so that no test problem is a training problem.
    """
    rng = random.Random(f"arith/{seed}/{split}")
    records, seen = [], set(exclude)
    attempts = 0
    while len(records) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ValueError(f"task.arith: cannot make {n} distinct problems with these knobs; "
                             "widen min_value..max_value or add steps")
        problem = generate_problem(rng, spec)
        if problem["prompt"] in seen:
            continue
        seen.add(problem["prompt"])
        records.append({"id": f"arith-{split}-{len(records):05d}", **problem})
    return records


def parse_solution_lines(response: str) -> list[tuple[int, str, int, int]]:
    """The ``(a, op, b, c)`` equations written in a solution, in order."""
    return [(int(a), op, int(b), int(c)) for a, op, b, c in EQUATION.findall(response)]
