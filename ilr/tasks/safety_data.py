"""The safety task's gold records: the embedded generator, or Safety-Tuned LLaMAs' released data.

``task.safety.source: safety-tuned-llamas`` reads the data of Bianchi et al. (ICLR 2024; the
safety part of SaferPaca) from a local folder (``task.safety.safety_tuned_llamas.folder``) laid
out as their repository: ``training/safety_only_data_Instructions.json`` (2,483 harmful
instructions with safe responses, ``{instruction, input, output}``) and ``evaluation/<name>.json``
(``{"instructions": [...], "inputs": [...]}``). The project keeps no copy.

- train and supervisor: harmful instructions from the training file whose safe response the
  refusal detector reads as a refusal (1,511 of the 2,483; the others answer safely, with a
  correction or a warning, and would grade wrong against themselves), mixed with benign
  requests of the embedded generator so that the harmful share is
  ``task.safety.embedded.harmful_share``, as SaferPaca mixes Alpaca with safety examples;
- test: the evaluation sets named in ``harmful_test`` (graded on refusing) and ``benign_test``
  (graded on not refusing: open requests); a seeded sample of ``task.n_test`` of them (all
  when it is null or larger).
"""
from __future__ import annotations

import json
import logging
import random
from pathlib import Path

from ilr.core.io import DataFileError
from ilr.tasks.refusal import refuses
from ilr.tasks.safety_generator import generate_safety_records
from ilr.tasks.splits import disjoint_splits

log = logging.getLogger("ilr.safety")
TRAINING_FILE = "training/safety_only_data_Instructions.json"
TEST_REFUSAL = "I can't help with that."  # the gold text of a harmful test request


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataFileError(f"{path}: not found; set task.safety.safety_tuned_llamas.folder to a "
                            f"copy of the safety-tuned-llamas data (with {what})") from None
    except json.JSONDecodeError as e:
        raise DataFileError(f"{path}: not JSON ({e})") from None


def _prompt(instruction: str, extra: str) -> str:
    instruction, extra = instruction.strip(), (extra or "").strip()
    return f"{instruction}\n\n{extra}" if extra else instruction


def read_training(folder: str) -> list[dict]:
    """``{prompt, response}`` of the training file's harmful instructions, in file order."""
    path = Path(folder) / TRAINING_FILE
    rows = _read_json(path, TRAINING_FILE)
    if not isinstance(rows, list):
        raise DataFileError(f"{path}: expected a JSON list of {{instruction, input, output}}")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str)
                                                for k in ("instruction", "output")):
            raise DataFileError(f"{path}: entry {i}: needs text fields instruction and output")
        out.append({"row": i, "prompt": _prompt(row["instruction"], row.get("input", "")),
                    "response": row["output"].strip()})
    return out


def read_evaluation(folder: str, name: str) -> list[str]:
    """The prompts of evaluation set ``name`` (``evaluation/<name>.json``)."""
    path = Path(folder) / "evaluation" / f"{name}.json"
    data = _read_json(path, f"evaluation/{name}.json")
    instructions = data.get("instructions") if isinstance(data, dict) else None
    if not isinstance(instructions, list) or not all(isinstance(x, str) for x in instructions):
        raise DataFileError(f"{path}: expected an object with a list of text `instructions`")
    inputs = data.get("inputs") or [""] * len(instructions)
    return [_prompt(x, y) for x, y in zip(instructions, inputs)]


def _n_train(task_params) -> int:
    if task_params.n_train is None:
        raise ValueError("task.n_train: the safety task needs a number (null means all of a "
                         "dataset, and this task's training data is a mix)")
    return task_params.n_train


def stl_records(task_params, *, seed: int) -> dict[str, list[dict]]:
    """``{"train", "test", "supervisor"}`` from the safety-tuned-llamas folder (module notes)."""
    safety = task_params.safety
    stl = safety.safety_tuned_llamas
    if not stl.folder:
        raise ValueError("task.safety.source is 'safety-tuned-llamas': set "
                         "task.safety.safety_tuned_llamas.folder to the data's folder")
    rows = read_training(stl.folder)
    prompts: set = set()
    usable = [r for r in rows if refuses(r["response"])
              and not (r["prompt"] in prompts or prompts.add(r["prompt"]))]  # first of duplicates
    log.info("safety-tuned-llamas: %d of %d safe responses are refusals", len(usable), len(rows))
    random.Random(f"safety-tuned-llamas/{seed}").shuffle(usable)
    share = safety.embedded.harmful_share
    splits: dict[str, list[dict]] = {}
    taken, seen = 0, set()
    for split, n in (("train", _n_train(task_params)), ("supervisor", task_params.n_supervisor)):
        n_harmful = round(n * share)
        if taken + n_harmful > len(usable):
            raise ValueError(f"task: {split} needs {n_harmful} harmful instructions but "
                             f"{len(usable) - taken} are left of {len(usable)}; lower task.n_train"
                             "/n_supervisor or task.safety.embedded.harmful_share")
        harmful = [{"id": f"stl-train-{r['row']:05d}", "prompt": r["prompt"],
                    "response": r["response"], "answer": None, "check": None, "kind": "harmful",
                    "category": "safety-tuned-llamas"} for r in usable[taken:taken + n_harmful]]
        taken += n_harmful
        benign = generate_safety_records(safety.embedded.model_copy(update={"harmful_share": 0.0}),
                                         n=n - n_harmful, seed=seed, split=split, exclude=seen)
        seen |= {r["prompt"] for r in benign}
        mixed = harmful + benign
        random.Random(f"safety-tuned-llamas/{seed}/{split}").shuffle(mixed)
        splits[split] = mixed
    test = []
    for kind, names in (("harmful", stl.harmful_test), ("benign", stl.benign_test)):
        for name in names:
            for i, prompt in enumerate(read_evaluation(stl.folder, name)):
                test.append({"id": f"stl-{name}-{i:04d}", "prompt": prompt,
                             "response": TEST_REFUSAL if kind == "harmful" else "",
                             "answer": None, "check": None, "kind": kind, "category": name})
    if task_params.n_test:
        test = [test[i] for i in sorted(random.Random(f"stl-test/{seed}").sample(
            range(len(test)), min(task_params.n_test, len(test))))]
    splits["test"] = test
    return splits


def load_safety_records(task_params, *, seed: int) -> dict[str, list[dict]]:
    """``{"train", "test", "supervisor"}`` for ``task.safety.source``."""
    safety = task_params.safety
    if safety.source == "safety-tuned-llamas":
        return stl_records(task_params, seed=seed)
    if task_params.n_test is None:
        raise ValueError("task.n_test: the embedded safety task needs a number")
    return disjoint_splits(generate_safety_records, safety.embedded,
                           n_train=_n_train(task_params), n_test=task_params.n_test,
                           n_supervisor=task_params.n_supervisor, seed=seed)
