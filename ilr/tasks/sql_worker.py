"""The process that runs model-written SQL: read-only, and inside hard limits of its own.

:mod:`ilr.tasks.sql_sandbox` starts this file as a child process (``python -I sql_worker.py
<max_memory_mb>``) and sends it one query at a time. The child

- limits its own address space (``RLIMIT_AS``) to ``max_memory_mb`` and may not write files
  (``RLIMIT_FSIZE`` 0, temp storage in memory), so a query that builds huge values or many
  rows fails with an ``out of memory`` outcome instead of taking the machine's memory;
- runs each statement read-only (a ``mode=ro`` URI, ``PRAGMA query_only``, an authorizer that
  allows reading only, no ATTACH, values capped at 1 MB) with SQLite's progress handler as a
  soft time limit.

The hard time limit is the parent's: it kills this process at the deadline, whatever SQLite is
doing (a single slow built-in call, for instance, never reaches the progress handler). Only the
standard library is imported here, so the child starts in a few tens of milliseconds.

Protocol over stdin/stdout: 8-byte big-endian length, then a pickle. Request ``(sql, path,
timeout_s, max_rows)``; reply ``(kind, rows, note)``.
"""
from __future__ import annotations

import pickle
import resource
import signal
import sqlite3
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MAX_VALUE_BYTES = 1_000_000  # the longest string or blob a query may build
FILE_FUNCTIONS = frozenset({
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile",
    "sqlar_compress", "sqlar_uncompress", "fsdir", "lsmode", "shell", "system", "eval"})
READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "collation_list", "function_list"})
_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE,
            sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_PRAGMA}
_ACTIONS = {getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ") for name in (
    "ATTACH", "DETACH", "INSERT", "UPDATE", "DELETE", "PRAGMA", "TRANSACTION", "SAVEPOINT",
    "ALTER_TABLE", "ANALYZE", "REINDEX", "CREATE_TABLE", "CREATE_TEMP_TABLE", "CREATE_INDEX",
    "CREATE_TEMP_INDEX", "CREATE_VIEW", "CREATE_TEMP_VIEW", "CREATE_TRIGGER",
    "CREATE_TEMP_TRIGGER", "CREATE_VTABLE", "DROP_TABLE", "DROP_TEMP_TABLE", "DROP_INDEX",
    "DROP_TEMP_INDEX", "DROP_VIEW", "DROP_TEMP_VIEW", "DROP_TRIGGER", "DROP_TEMP_TRIGGER",
    "DROP_VTABLE")}
HEADER = struct.Struct(">Q")


@dataclass(frozen=True)
class Outcome:
    """What one query gave: its rows, or none and why (``kind``: ``ok``, ``refused``,
    ``timeout``, ``too_many_rows``, ``memory``, ``error``)."""
    rows: tuple | None
    kind: str = "ok"
    note: str | None = None


def open_readonly(path: Path, *, refusals: list | None = None) -> sqlite3.Connection:
    """A read-only connection with the authorizer installed; refused actions are appended to
    ``refusals`` so the caller can say which one stopped a query."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    conn.execute("PRAGMA temp_store = MEMORY")  # sorts never spill to a file (no file writes)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    seen = refusals if refusals is not None else []

    def authorize(action, arg1, arg2, database, trigger):
        if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in FILE_FUNCTIONS:
            seen.append(f"the function {arg2}()")
        elif action == sqlite3.SQLITE_PRAGMA and str(arg1).lower() not in READ_PRAGMAS:
            seen.append(f"PRAGMA {arg1}")
        elif action not in _ALLOWED:  # a DROP or CREATE shows as a write to sqlite_master
            seen.append(_ACTIONS.get(action, f"action {action}") + (f" ({arg1})" if arg1 else ""))
        else:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    conn.set_authorizer(authorize)
    return conn


def outcome_in_process(sql: str, path: Path, *, timeout_s: float, max_rows: int) -> Outcome:
    """Run one statement read-only in this process, with the soft limits only (the progress
    handler and the row cap); never raises for the query. The sandbox calls it in the child."""
    if not sql or not sql.strip():
        return Outcome(None, "error", "no query")
    refusals: list[str] = []
    deadline = time.monotonic() + timeout_s
    try:
        conn = open_readonly(path, refusals=refusals)
    except sqlite3.Error as e:
        return Outcome(None, "error", f"cannot open the database: {e}")
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
    try:
        cursor = conn.execute(sql)
        rows: list[tuple] = []
        while True:
            batch = cursor.fetchmany(256)
            if not batch:
                return Outcome(tuple(rows))
            rows.extend(batch)
            if len(rows) > max_rows:
                return Outcome(None, "too_many_rows",
                               f"stopped: more than {max_rows} rows (task.sql.sandbox.max_rows)")
    except MemoryError:
        return memory_outcome()
    except Exception as e:  # any failure of model-written SQL is an outcome, never a crash
        if refusals:
            what = ", ".join(dict.fromkeys(refusals))
            return Outcome(None, "refused", f"refused: {what} not allowed (the sandbox runs "
                                            "read-only SELECT queries)")
        if "interrupted" in str(e) and time.monotonic() > deadline:
            return timeout_outcome(timeout_s)
        if "out of memory" in str(e):
            return memory_outcome()
        return Outcome(None, "error", f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def timeout_outcome(timeout_s: float) -> Outcome:
    return Outcome(None, "timeout", f"stopped: ran past {timeout_s:g} s (task.sql.sandbox.timeout_s)")


def memory_outcome(max_memory_mb: int | None = None) -> Outcome:
    limit = f" {max_memory_mb} MB" if max_memory_mb else " its memory limit"
    return Outcome(None, "memory", f"stopped: needed more than{limit} "
                                   "(task.sql.sandbox.max_memory_mb)")


def read_message(stream):
    """One length-prefixed pickle from ``stream``, or None at end of file."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    return pickle.loads(stream.read(HEADER.unpack(header)[0]))


def message_bytes(obj) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def serve(max_memory_mb: int) -> None:
    """The child's loop: answer queries until stdin closes."""
    limit = max_memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the size limit fails, no kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (request := read_message(stdin)) is not None:
        sql, path, timeout_s, max_rows = request
        outcome = outcome_in_process(sql, path, timeout_s=timeout_s, max_rows=max_rows)
        if outcome.kind == "memory":  # name the limit in the note
            outcome = memory_outcome(max_memory_mb)
        try:
            reply = message_bytes((outcome.kind, outcome.rows, outcome.note))
        except MemoryError:  # the rows fit, their pickle did not
            reply = message_bytes(("memory", None, memory_outcome(max_memory_mb).note))
        stdout.write(reply)
        stdout.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
