"""Grading throughput of the sql task: queries in a worker process with hard limits (today)
against the same queries run in the calling process (before issue 32), same machine, same
sitting, alternating the two so load on the machine hits both alike.

    python bench/sql_grading.py --n 500 --repeats 3 --out bench/results/sql-grading.json

Each pass grades ``--n`` embedded test problems with a fresh judge (no cached outcomes): the
gold query and a prediction that returns the same rows through other text (``SELECT * FROM
(<gold>)``), so every problem runs two queries, as a real evaluation does.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from unittest import mock

from ilr.core.io import write_json
from ilr.tasks import sql_sandbox
from ilr.tasks import sql_worker
from ilr.tasks.sql_generator import SqlSpec, generate_sql_records
from ilr.tasks.sql_task import SqlJudge


def in_process(sql, path, *, timeout_s, max_rows, max_memory_mb=None):
    """The pre-issue-32 path: the query in this process, the progress handler its only clock."""
    return sql_worker.outcome_in_process(sql, path, timeout_s=timeout_s, max_rows=max_rows)


def grading_seconds(records: list[dict]) -> tuple[float, int]:
    judge = SqlJudge(timeout_s=2.0, max_rows=10_000)
    start = time.perf_counter()
    right = sum(judge.grade(f"SELECT * FROM ({r['answer']})", r["answer"], r)
                for r in records)
    return time.perf_counter() - start, right


def cpu_flags() -> list[str]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return sorted(f for f in flags if f.startswith(("avx", "amx")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    records = generate_sql_records(SqlSpec(), n=args.n, seed=0, split="test")
    for r in records:  # build the databases once, outside the timing
        sql_sandbox.database_file(r["db"])
    times = {"in_process": [], "worker": []}
    for _ in range(args.repeats):
        with mock.patch.object(sql_sandbox, "run_query", in_process):
            seconds, right_before = grading_seconds(records)
        times["in_process"].append(seconds)
        seconds, right_after = grading_seconds(records)
        times["worker"].append(seconds)
        assert right_before == right_after == len(records), (right_before, right_after)
    before, after = statistics.median(times["in_process"]), statistics.median(times["worker"])
    result = {"problems": args.n, "queries_per_pass": 2 * args.n, "repeats": args.repeats,
              "in_process_s": round(before, 3), "worker_s": round(after, 3),
              "ratio": round(after / before, 2), "all_s": {k: [round(t, 3) for t in v]
                                                          for k, v in times.items()},
              "cpu_flags": cpu_flags(), "machine": platform.machine(),
              "cores": __import__("os").cpu_count()}
    print(json.dumps(result, indent=1))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
