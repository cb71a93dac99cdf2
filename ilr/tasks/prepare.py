"""Gold train/test records for the configured task, with stable ids."""
from __future__ import annotations

from pathlib import Path

from ilr.core.io import StagedOutputs
from ilr.core.params import Params
from ilr.tasks.task import load_gold_records


def check_local_source(task_params, folder: str) -> None:
    """A local ``task.gsm8k.source`` must lie in ``folder`` (inputs/gsm8k), the folder dvc.yaml
    declares as stage prepare's dep, so that DVC sees its files change; a hub id passes."""
    source = task_params.gsm8k.source
    if task_params.name != "gsm8k" or not (Path(source).exists() or source.startswith((".", "/"))):
        return
    inside = Path(folder).resolve()
    if Path(source).resolve() != inside and inside not in Path(source).resolve().parents:
        raise ValueError(f"task.gsm8k.source: {source!r} is a local path outside {folder}, the "
                         f"folder DVC tracks for stage prepare; copy it there (cp -r "
                         f"{source.rstrip('/')}/. {folder}/) and set task.gsm8k.source: {folder}")


def build_gold_splits(params: Params) -> dict[str, list[dict]]:
    """The gold splits: the student's training prompts (half B), the test set, and the
    supervisor's half A."""
    splits = load_gold_records(params.task, seed=params.task.data_seed)
    ids = [r["id"] for split in splits.values() for r in split]
    if len(set(ids)) != len(ids):
        raise ValueError("task produced duplicate ids; ids must be unique across splits")
    return splits


def write_gold_splits(splits: dict[str, list[dict]], out: StagedOutputs, *, train_out: str,
                      test_out: str, supervisor_out: str) -> dict[str, int]:
    """Stage the gold splits in ``out`` (``ilr.core.io.commit_outputs``); returns the size of each."""
    out.jsonl(train_out, splits["train"])
    out.jsonl(test_out, splits["test"])
    out.jsonl(supervisor_out, splits["supervisor"])
    return {name: len(records) for name, records in splits.items()}
