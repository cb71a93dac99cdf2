"""Text-to-SQL: the gold records (embedded generator or BIRD files) and execution grading.

A response is a short plan, then the query after ``####``. A prediction is right when its query,
run in the sandbox (``ilr.tasks.sql_sandbox``) on the item's database, returns the same result as the
gold query: the same multiset of rows, or the same list of rows when the gold query sorts its
result (a top-level ORDER BY). The difference filter uses the same comparison between label and
proposal; it looks at the item's database only, never at the gold query, and compares in order
when either query sorts. A query that is refused, stopped or fails is wrong and never the same
as another; the sandbox's interventions (refused, timed out, too many rows) are logged once per
query with the item's id.

BIRD files are JSON lists of ``{question, SQL, db_id[, evidence]}`` beside a folder of
``<db_id>/<db_id>.sqlite`` (``task.sql.bird``); records point at those files, so the databases
stay where the user keeps them. The embedded generator's records carry their tables and rows.
"""
from __future__ import annotations

import json
import logging
import random
import re
from pathlib import Path

from ilr.core.io import DataFileError
from ilr.tasks import sql_sandbox
from ilr.tasks.splits import disjoint_splits
from ilr.tasks.sql_generator import generate_sql_records, render_prompt

log = logging.getLogger("ilr.sql")
_FENCE = re.compile(r"^```(?:sql|sqlite)?\s*|\s*```.*$", re.S | re.I)


def extract_sql(text: str) -> str | None:
    """The query after the first ``####`` that has one, up to the next ``####`` (code fences
    dropped), or None when there is none: the first answer counts, as in :mod:`ilr.tasks.grading`."""
    for part in text.split("####")[1:]:
        sql = _FENCE.sub("", part.strip()).strip()
        if sql:
            return sql
    return None


class SqlJudge:
    """Runs queries in the sandbox, once per (database, query), and compares their results."""

    def __init__(self, *, timeout_s: float, max_rows: int, max_memory_mb: int = 512):
        self.timeout_s, self.max_rows, self.max_memory_mb = timeout_s, max_rows, max_memory_mb
        self._outcomes: dict[tuple[str, str], sql_sandbox.Outcome] = {}
        self._warned: set = set()

    def run(self, sql: str | None, item: dict | None) -> sql_sandbox.Outcome:
        if item is None or "db" not in item:
            raise ValueError("the sql task grades on the item's database: pass the gold record "
                             "(with its `db`) as item=")
        if sql is None:
            return sql_sandbox.Outcome(None, "error", "no query after ####")
        key = (sql_sandbox.database_key(item["db"]), sql)
        if key not in self._outcomes:
            path = sql_sandbox.database_file(item["db"], where=f"id {item.get('id')!r}")
            outcome = sql_sandbox.run_query(sql, path, timeout_s=self.timeout_s,
                                            max_rows=self.max_rows,
                                            max_memory_mb=self.max_memory_mb)
            if outcome.kind in ("refused", "timeout", "too_many_rows", "memory"):
                log.warning("sql: id %s: %s: %s", item.get("id"), outcome.note, sql[:200])
            self._outcomes[key] = outcome
        return self._outcomes[key]

    def grade(self, prediction: str | None, gold: str | None, item: dict | None) -> bool:
        want = self.run(gold, item)
        if want.rows is None:
            if (gold, (item or {}).get("id")) not in self._warned:
                self._warned.add((gold, (item or {}).get("id")))
                log.warning("sql: id %s: the gold query gives no result (%s)",
                            (item or {}).get("id"), want.note)
            return False
        got = self.run(prediction, item)
        return got.rows is not None and sql_sandbox.same_rows(
            got.rows, want.rows, ordered=sql_sandbox.has_order_by(gold))

    def same(self, a: str | None, b: str | None, item: dict | None) -> bool:
        if a is None or b is None:
            return False
        ra, rb = self.run(a, item), self.run(b, item)
        return ra.rows is not None and rb.rows is not None and sql_sandbox.same_rows(
            ra.rows, rb.rows, ordered=sql_sandbox.has_order_by(a) or sql_sandbox.has_order_by(b))


def _read_bird(path: str, key: str) -> list[dict]:
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataFileError(f"{path}: BIRD file not found; set task.sql.bird.{key} to the "
                            "train.json / dev.json of a BIRD download") from None
    except json.JSONDecodeError as e:
        raise DataFileError(f"{path}: not JSON ({e}); task.sql.bird.{key} takes BIRD's "
                            "train.json / dev.json") from None
    if not isinstance(rows, list):
        raise DataFileError(f"{path}: expected a JSON list of {{question, SQL, db_id}}")
    for i, row in enumerate(rows):
        missing = [f for f in ("question", "SQL", "db_id") if not isinstance(row, dict)
                   or not isinstance(row.get(f), str)]
        if missing:
            raise DataFileError(f"{path}: entry {i}: missing or non-text {missing}; BIRD entries "
                                "have question, SQL and db_id")
    return rows


def bird_schema(path: Path) -> str:
    """The CREATE TABLE statements of a BIRD database, one per line."""
    outcome = sql_sandbox.run_query(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL", path,
        timeout_s=10.0, max_rows=10_000)
    if outcome.rows is None:
        raise DataFileError(f"{path}: cannot read its schema ({outcome.note})")
    return "\n".join(" ".join(row[0].split()) for row in outcome.rows)


def bird_records(rows: list[dict], *, databases: str, split: str, indices,
                 evidence: bool = True) -> list[dict]:
    """Gold records from BIRD rows (those at ``indices``); the id keeps the row number."""
    schemas: dict[str, str] = {}
    records = []
    for i in indices:
        row = rows[i]
        path = (Path(databases) / row["db_id"] / f"{row['db_id']}.sqlite").resolve()
        if row["db_id"] not in schemas:
            if not path.is_file():
                raise DataFileError(f"{path}: database of db_id {row['db_id']!r} not found; set "
                                    f"task.sql.bird.{split}_databases to BIRD's *_databases folder")
            schemas[row["db_id"]] = bird_schema(path)
        hint = f"\nHint: {row['evidence']}" if evidence and row.get("evidence") else ""
        question = f"{row['question'].strip()}{hint}"
        sql = " ".join(row["SQL"].split())
        records.append({"id": f"bird-{split}-{i:05d}",
                        "prompt": render_prompt(schemas[row["db_id"]], question),
                        "response": f"#### {sql}", "answer": sql,
                        "db": {"db_id": row["db_id"], "path": str(path)}})
    return records


def load_sql_records(task_params, *, seed: int) -> dict[str, list[dict]]:
    """``{"train", "test", "supervisor"}`` for ``task.sql.source`` (embedded or bird)."""
    sql = task_params.sql
    if sql.source == "embedded":
        return disjoint_splits(generate_sql_records, sql.embedded, n_train=task_params.n_train,
                               n_test=task_params.n_test, n_supervisor=task_params.n_supervisor,
                               seed=seed)
    bird = sql.bird
    for key in ("train", "train_databases", "test", "test_databases"):
        if not getattr(bird, key):
            raise ValueError(f"task.sql.source is 'bird': set task.sql.bird.{key}")
    rows = _read_bird(bird.train, "train")
    order = list(range(len(rows)))
    random.Random(f"bird/{seed}").shuffle(order)
    n_train = task_params.n_train or len(rows) - task_params.n_supervisor
    if n_train + task_params.n_supervisor > len(rows):
        raise ValueError(f"task: n_train + n_supervisor = {n_train + task_params.n_supervisor} "
                         f"but {bird.train} has {len(rows)} entries; lower them")
    test_rows = _read_bird(bird.test, "test")
    n_test = min(task_params.n_test or len(test_rows), len(test_rows))
    return {
        "train": bird_records(rows, databases=bird.train_databases, split="train",
                              indices=sorted(order[:n_train]), evidence=bird.evidence),
        "supervisor": bird_records(rows, databases=bird.train_databases, split="train",
                                   indices=sorted(order[n_train:n_train + task_params.n_supervisor]),
                                   evidence=bird.evidence),
        "test": bird_records(test_rows, databases=bird.test_databases, split="test",
                             indices=range(n_test), evidence=bird.evidence)}
