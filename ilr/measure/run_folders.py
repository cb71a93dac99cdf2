"""Run folders as `dvc repro` leaves them (params.yaml, data/predictions, data/labels,
data/gold/train.jsonl, metrics/labels, metrics/kl), read for `ilr compare` and the compare stage:
each version's test outcomes, graded labels, label and KL metrics."""
from __future__ import annotations

from pathlib import Path

from ilr.core.io import DataFileError, read_json, read_records
from ilr.core.params import load_params
from ilr.method.rounds import ROUND_ZERO, round_depth
from ilr.report.summary import ARMS, dpo_depth
from ilr.tasks.task import task_from_params

REFERENCES = ("base", "supervisor", "gold")


def parse_runs(options: list[str] | tuple[str, ...]) -> dict[str, Path]:
    """``["seed0=PATH", ...]`` as ``{seed: folder}``; refuses a bad, repeated or missing entry."""
    runs: dict[str, Path] = {}
    for option in options:
        name, sep, path = option.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--run {option!r}: write it as NAME=PATH (e.g. seed0=../seed0)")
        if name in runs:
            raise ValueError(f"--run {name}: given twice; each seed needs its own name")
        if not Path(path).is_dir():
            raise ValueError(f"--run {name}={path}: not a folder")
        runs[name] = Path(path)
    if not runs:
        raise ValueError("no runs: give --run NAME=PATH at least once")
    return runs


def _outcomes(path: Path) -> dict:
    records = read_records(path, required=("id", "correct"))
    for r in records:
        if not isinstance(r["correct"], bool):
            raise DataFileError(f"{path}: id {r['id']!r}: correct must be true or false, "
                                f"got {r['correct']!r}")
    return {"path": str(path), "correct": {r["id"]: r["correct"] for r in records}}


def load_run(folder: str | Path) -> dict:
    """One run's versions (name -> arm, round), test outcomes, graded labels, label and KL
    metrics; a version with no file at all is left out."""
    folder = Path(folder)
    params = load_params(folder / "params.yaml")
    versions = {ROUND_ZERO: ("sft", 0)}
    versions.update({n: (ARMS[r.mode], round_depth(params.rounds, n))
                     for n, r in params.rounds.items()})
    versions.update({n: ("dpo", dpo_depth(params.dpo_rounds, n)) for n in params.dpo_rounds})
    versions.update({n: ("reference", None) for n in REFERENCES})
    gold_path = folder / "data/gold/train.jsonl"
    gold = ({r["id"]: r for r in read_records(gold_path, required=("id", "response"))}
            if gold_path.is_file() else None)
    task = task_from_params(params.task)
    run = {"folder": str(folder), "versions": {}, "test": {}, "labels": {}, "label_metrics": {},
           "kl": {}}
    for name, (arm, depth) in versions.items():
        files = {kind: folder / pattern.format(name) for kind, pattern in (
            ("test", "data/predictions/{}.jsonl"), ("labels", "data/labels/{}.jsonl"),
            ("label_metrics", "metrics/labels/{}.json"), ("kl", "metrics/kl/{}.json"))}
        if arm == "reference" and not files["test"].is_file():
            continue
        if files["test"].is_file():
            run["test"][name] = _outcomes(files["test"])
        if arm in ("sft", "ilr", "naive") and gold is not None and files["labels"].is_file():
            labels = read_records(files["labels"], required=("id", "response"))
            run["labels"][name] = {"path": str(files["labels"]), "correct": {
                r["id"]: task.grade(r["response"], gold[r["id"]]["response"], item=gold[r["id"]])
                for r in labels if r["id"] in gold}}
        for kind in ("label_metrics", "kl"):
            if files[kind].is_file():
                run[kind][name] = read_json(files[kind])
        if any(name in run[kind] for kind in ("test", "labels", "label_metrics")):
            run["versions"][name] = {"arm": arm, "round": depth}
    return run
