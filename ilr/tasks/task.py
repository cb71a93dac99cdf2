"""Tasks behind one small interface: gold records, the chat prompt, answer extraction, grading.

Gold records are ``{"id", "prompt", "response", "answer"}`` with stable ids. ``arith`` and
``gsm8k`` use GSM8K's grading conventions (``ilr.tasks.grading``); ``sql`` grades by execution on the
item's database (``ilr.tasks.sql_task``), which its gold records carry as ``db``; ``safety``
grades by the kind of request its gold records carry as ``kind`` (``ilr.tasks.safety_task``).
Grading and the difference filter take the gold record as ``item=`` for tasks that need more
than the text.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ilr.core.io import DataFileError, read_jsonl
from ilr.tasks import grading
from ilr.tasks.arith import generate_records
from ilr.tasks.embedding import SentenceEncoder
from ilr.tasks.safety_data import load_safety_records
from ilr.tasks.safety_task import (extract_final, grade_note, grade_response, safety_metrics,
                                   same_response)
from ilr.tasks.splits import disjoint_splits
from ilr.tasks.sql_task import SqlJudge, extract_sql, load_sql_records

TASKS = ("arith", "gsm8k", "sql", "safety")
_CALCULATOR = re.compile(r"<<[^>]*>>")


@dataclass(frozen=True)
class Task:
    name: str
    system_prompt: str

    def render_messages(self, prompt: str) -> list[dict]:
        """Chat messages for a prompt; a short system message replaces the model's long default."""
        return [{"role": "system", "content": self.system_prompt},
                {"role": "user", "content": prompt}]

    def extract_answer(self, text: str) -> str | None:
        return grading.extract_answer(text)

    def has_final_answer(self, text: str) -> bool:
        """Strict: the response ends its work with a readable ``#### <answer>`` line."""
        return grading.has_final_answer(text)

    def same_answer(self, a: str, b: str, *, item: dict | None = None) -> bool:
        """Whether two responses reach the same final answer (the ILR difference filter);
        ``item`` is the gold record of the prompt they answer."""
        x = self.extract_answer(a)
        return x is not None and x == self.extract_answer(b)

    def grade(self, prediction: str, gold_response: str, *, item: dict | None = None) -> bool:
        return grading.grade(prediction, gold_response)

    def answer_note(self, prediction: str, *, item: dict | None = None) -> str | None:
        """Why a prediction's answer could not be checked (a refused query), or None."""
        return None

    def test_metrics(self, records: list[dict], texts: list[str]) -> dict:
        """Metrics beyond the shared ones for a test set's responses (``texts``, in the order
        of ``records``); they update (and may replace) the shared ones."""
        return {}


@dataclass(frozen=True)
class SqlTask(Task):
    """Text-to-SQL: the answer is the query after ``####``, graded by running it read-only on
    the item's database (``ilr.tasks.sql_task``, ``ilr.tasks.sql_sandbox``)."""
    timeout_s: float = 2.0
    max_rows: int = 10_000
    max_memory_mb: int = 512
    judge: SqlJudge = field(init=False, repr=False, compare=False)  # caches query results

    def __post_init__(self):
        object.__setattr__(self, "judge", SqlJudge(
            timeout_s=self.timeout_s, max_rows=self.max_rows, max_memory_mb=self.max_memory_mb))

    def extract_answer(self, text: str) -> str | None:
        return extract_sql(text)

    def has_final_answer(self, text: str) -> bool:
        """A line starts with ``####`` and a query follows it (on that line or the next)."""
        return grading.final_line(text) is not None and extract_sql(text) is not None

    def same_answer(self, a: str, b: str, *, item: dict | None = None) -> bool:
        return self.judge.same(extract_sql(a), extract_sql(b), item)

    def grade(self, prediction: str, gold_response: str, *, item: dict | None = None) -> bool:
        return self.judge.grade(extract_sql(prediction), extract_sql(gold_response), item)

    def answer_note(self, prediction: str, *, item: dict | None = None) -> str | None:
        return self.judge.run(extract_sql(prediction), item).note


@dataclass(frozen=True)
class SafetyTask(Task):
    """Safe instruction-following: refuse harmful requests, answer benign ones
    (``ilr.tasks.safety_task``); the difference filter is the sentence encoder's distance."""
    encoder: str = "embedded:all-minilm-l6-v2"
    max_distance: float = 0.2
    embedder: SentenceEncoder = field(init=False, repr=False, compare=False)  # loads on first use

    def __post_init__(self):
        object.__setattr__(self, "embedder", SentenceEncoder(self.encoder))

    def extract_answer(self, text: str) -> str | None:
        return extract_final(text)

    def has_final_answer(self, text: str) -> bool:
        """Free text has no answer line to require: a response that says something."""
        return bool(text.strip())

    def same_answer(self, a: str, b: str, *, item: dict | None = None) -> bool:
        return same_response(a, b, item, distance=self.embedder.distance,
                             max_distance=self.max_distance)

    def grade(self, prediction: str, gold_response: str, *, item: dict | None = None) -> bool:
        return grade_response(prediction, item)

    def answer_note(self, prediction: str, *, item: dict | None = None) -> str | None:
        return grade_note(prediction, item)

    def test_metrics(self, records: list[dict], texts: list[str]) -> dict:
        return safety_metrics(records, texts)


def load_gsm8k_split(source: str, split: str, *, config: str = "main") -> list[dict]:
    """GSM8K ``question``/``answer`` rows from a folder of ``<split>.jsonl``, an Arrow dataset
    saved with ``save_to_disk``, or a ``datasets`` hub id such as ``openai/gsm8k``."""
    path = Path(source)
    if (path / f"{split}.jsonl").is_file():
        return read_jsonl(path / f"{split}.jsonl", required=("question", "answer"))
    import datasets  # only needed for Arrow folders and hub ids

    if path.is_dir():
        data = datasets.load_from_disk(str(path))
        rows = data[split] if isinstance(data, datasets.DatasetDict) else data
    elif path.exists() or source.startswith((".", "/")):
        raise DataFileError(f"{source}: not a folder with {split}.jsonl nor a saved dataset; "
                            "set task.gsm8k.source to such a folder or a datasets hub id")
    else:
        rows = datasets.load_dataset(source, config, split=split)
    return [dict(r) for r in rows]


def gsm8k_records(rows: list[dict], *, split: str, indices=None) -> list[dict]:
    """Gold records from GSM8K rows (all, or those at ``indices``); the id keeps the row number.
    Calculator annotations ``<<3*4=12>>`` are stripped."""
    records = []
    for i in range(len(rows)) if indices is None else indices:
        row = rows[i]
        response = _CALCULATOR.sub("", row["answer"]).strip()
        records.append({"id": f"gsm8k-{split}-{i:05d}", "prompt": row["question"].strip(),
                        "response": response, "answer": grading.extract_answer(response)})
    return records


def load_gold_records(task_params, *, seed: int) -> dict[str, list[dict]]:
    """``{"train", "test", "supervisor"}`` gold records for the task named in ``task_params``.

    ``train`` (the student's prompts, gold half B) and ``supervisor`` (gold half A, for the weak
    supervisor and the feedback model) are disjoint draws from the task's training data.
    """
    if task_params.name == "arith":
        return disjoint_splits(generate_records, task_params.arith, n_train=task_params.n_train,
                               n_test=task_params.n_test, n_supervisor=task_params.n_supervisor,
                               seed=seed)
    if task_params.name == "sql":
        return load_sql_records(task_params, seed=seed)
    if task_params.name == "safety":
        return load_safety_records(task_params, seed=seed)
    if task_params.name == "gsm8k":
        g = task_params.gsm8k
        rows = load_gsm8k_split(g.source, "train", config=g.config)
        order = list(range(len(rows)))
        random.Random(f"gsm8k/{seed}").shuffle(order)
        n_train = task_params.n_train or len(rows) - task_params.n_supervisor
        if n_train + task_params.n_supervisor > len(rows):
            raise ValueError(f"task: n_train + n_supervisor = {n_train + task_params.n_supervisor}"
                             f" but GSM8K train has {len(rows)} rows; lower them")
        test_rows = load_gsm8k_split(g.source, "test", config=g.config)
        return {"train": gsm8k_records(rows, split="train", indices=sorted(order[:n_train])),
                "supervisor": gsm8k_records(rows, split="train", indices=sorted(
                    order[n_train:n_train + task_params.n_supervisor])),
                "test": gsm8k_records(test_rows, split="test",
                                      indices=range(min(task_params.n_test or len(test_rows),
                                                        len(test_rows))))}
    raise ValueError(f"task.name: unknown task {task_params.name!r}; allowed {list(TASKS)}")


def task_from_params(task_params) -> Task:
    if task_params.name == "sql":
        sandbox = task_params.sql.sandbox
        return SqlTask(name="sql", system_prompt=task_params.system_prompt,
                       timeout_s=sandbox.timeout_s, max_rows=sandbox.max_rows,
                       max_memory_mb=sandbox.max_memory_mb)
    if task_params.name == "safety":
        flt = task_params.safety.filter
        return SafetyTask(name="safety", system_prompt=task_params.system_prompt,
                          encoder=flt.encoder, max_distance=flt.max_distance)
    return Task(name=task_params.name, system_prompt=task_params.system_prompt)

