"""Unreliable demonstrations for the student's prompts (gold half B): the round-0 labels.

``supervise.kind``: ``model`` (the paper's weak supervisor writes them), ``noise`` (gold
solutions with planted human-like mistakes, ``ilr.method.noise``), or ``file`` (a user's JSONL, say
human-written, checked against the gold prompts; dvc.yaml gives its fixed path).
"""
from __future__ import annotations

from ilr.core.io import DataFileError, read_numbered
from ilr.core.params import Params
from ilr.method.noise import corrupt_records
from ilr.tasks.grading import NumberFormatError, read_answer
from ilr.tasks.task import Task


def read_label_file(path: str, gold: list[dict]) -> list[dict]:
    """User demonstrations ``{id, response[, prompt]}``; ids must be gold training ids and a
    given prompt must match the gold prompt, and a final answer must read as one number.
    Duplicate and missing ids are left to the quality gate, which names them."""
    numbered = read_numbered(path, required=("id", "response"))
    records = [r for _, r in numbered]
    by_id = {r["id"]: r for r in gold}
    unknown = [r["id"] for r in records if not isinstance(r["id"], str) or r["id"] not in by_id]
    if unknown:
        raise DataFileError(f"{path}: {len(unknown)} id(s) are not among the gold training "
                            f"prompts, e.g. {unknown[:5]}; use the ids of data/gold/train.jsonl")
    changed = [r["id"] for r in records if "prompt" in r and r["prompt"] != by_id[r["id"]]["prompt"]]
    if changed:
        raise DataFileError(f"{path}: prompt differs from the gold prompt for id(s) {changed[:5]}; "
                            "drop the prompt field or copy it from data/gold/train.jsonl")
    if not all(isinstance(r["response"], str) and r["response"].strip() for r in records):
        raise DataFileError(f"{path}: every response must be a non-empty string")
    for lineno, r in numbered:
        try:
            read_answer(r["response"])
        except NumberFormatError as e:
            raise DataFileError(f"{path}:{lineno}: id {r['id']!r}: the final answer {e}") from None
    return [{"id": r["id"], "prompt": by_id[r["id"]]["prompt"], "response": r["response"],
             "source": "file"} for r in records]


def write_model_labels(model, tokenizer, gold: list[dict], *, task: Task,
                       params: Params) -> list[dict]:
    from ilr.engines.generation import generate_responses

    responses = generate_responses(model, tokenizer, [task.render_messages(r["prompt"]) for r in gold],
                                   params=params.supervisor.generation, seed=params.seed,
                                   desc="supervise", backend=params.generation.backend,
                                   dtype=params.model.dtype)
    return [{"id": r["id"], "prompt": r["prompt"], "response": o["text"], "source": "model"}
            for r, o in zip(gold, responses)]


def supervise_labels(gold: list[dict], *, task: Task, params: Params, supervisor: str | None = None,
                     label_file: str | None = None) -> tuple[list[dict], dict]:
    """Round-0 labels for ``gold``'s prompts and a report on how they were made (``label_file``:
    the user's demonstrations, read by kind ``file``)."""
    kind = params.supervise.kind
    if kind == "model":
        if supervisor is None:
            raise ValueError("supervise.kind is 'model' but no --supervisor model was given")
        from ilr.train.checkpoints import check_model_source, load_tokenizer

        check_model_source(supervisor)  # weights first: the engine loads them later
        return write_model_labels(supervisor, load_tokenizer(supervisor), gold, task=task,
                                  params=params), {"kind": kind, "supervisor": supervisor}
    if kind == "noise":
        if task.name in ("sql", "safety"):
            raise ValueError("supervise.kind 'noise' plants arithmetic mistakes; with task.name "
                             f"{task.name} use supervise.kind model or file")
        noise = params.supervise.noise
        labels, report = corrupt_records(gold, error_rate=noise.error_rate, mix=noise.mix,
                                         seed=params.seed)
        return labels, {"kind": kind, "target_error_rate": noise.error_rate, **report}
    if kind == "file":
        if label_file is None:
            raise ValueError("supervise.kind is 'file' but no --label-file was given")
        return read_label_file(label_file, gold), {"kind": kind}
    raise ValueError(f"supervise.kind: unknown kind {kind!r}; allowed model, noise, file")


def measure_labels(labels: list[dict], gold: list[dict], *, task: Task) -> dict:
    """Label accuracy against gold (where gold is known), n, the share with a strict
    ``#### <answer>`` line and the share the lenient extraction reads an answer from."""
    by_id = {r["id"]: r for r in gold}
    known = [lab for lab in labels if lab["id"] in by_id]
    correct = sum(task.grade(lab["response"], by_id[lab["id"]]["response"], item=by_id[lab["id"]])
                  for lab in known)
    return {"n": len(labels), "label_accuracy": correct / len(known) if known else None,
            "has_final_answer": sum(task.has_final_answer(lab["response"])
                                    for lab in labels) / len(labels) if labels else 0.0,
            "answer_extracted": sum(task.extract_answer(lab["response"]) is not None
                                    for lab in labels) / len(labels) if labels else 0.0}
