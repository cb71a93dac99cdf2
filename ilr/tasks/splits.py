"""The three gold splits of a seeded generator task (arith, sql, safety), drawn disjoint."""
from __future__ import annotations

from typing import Callable


def disjoint_splits(generate: Callable[..., list[dict]], spec, *, n_train: int, n_test: int,
                    n_supervisor: int, seed: int) -> dict[str, list[dict]]:
    """``{"train", "test", "supervisor"}`` from ``generate(spec, n=, seed=, split=, exclude=)``:
    no prompt of a later split repeats one of an earlier split."""
    train = generate(spec, n=n_train, seed=seed, split="train")
    test = generate(spec, n=n_test, seed=seed, split="test", exclude={r["prompt"] for r in train})
    supervisor = generate(spec, n=n_supervisor, seed=seed, split="supervisor",
                          exclude={r["prompt"] for r in train + test})
    return {"train": train, "test": test, "supervisor": supervisor}
