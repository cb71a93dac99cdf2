"""Gold train/test records for the configured task, with stable ids."""
from __future__ import annotations

from ilr.io import write_jsonl
from ilr.params import Params
from ilr.tasks import load_gold_records


def write_gold_splits(params: Params, *, train_out: str, test_out: str,
                      supervisor_out: str) -> dict[str, int]:
    """Write the gold splits: the student's training prompts (half B), the test set, and the
    supervisor's half A; returns the size of each split."""
    splits = load_gold_records(params.task, seed=params.seed)
    ids = [r["id"] for split in splits.values() for r in split]
    if len(set(ids)) != len(ids):
        raise ValueError("task produced duplicate ids; ids must be unique across splits")
    write_jsonl(train_out, splits["train"])
    write_jsonl(test_out, splits["test"])
    write_jsonl(supervisor_out, splits["supervisor"])
    return {name: len(records) for name, records in splits.items()}
