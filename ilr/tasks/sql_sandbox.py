"""Model-written SQL, run where it can neither write, hang nor exhaust memory.

Every query runs in a worker process (:mod:`ilr.tasks.sql_worker`, one kept alive per process), on
its own connection to one SQLite file, opened

- read-only twice over: a ``file:...?mode=ro`` URI (SQLite refuses every write to the file) and
  ``PRAGMA query_only = 1``;
- under an authorizer that allows reading only: ``SELECT``, reading columns, recursive CTEs,
  functions other than those that touch files or load code (``load_extension``, ``readfile``,
  ``writefile``, ``edit``, ``fts3_tokenizer``, ...) and a short list of read-only PRAGMAs
  (``table_info``, ``foreign_key_list``, ...); ATTACH, DETACH, every write, DDL, transaction
  and any other PRAGMA is refused before it runs;
- with no database attachable and values capped at 1 MB (``setlimit``);
- under hard limits: the worker's address space is capped (``task.sql.sandbox.max_memory_mb``,
  ``RLIMIT_AS``; it may not write files either), and the worker is killed at the query's
  deadline (``timeout_s``) whatever SQLite is doing: a progress handler alone never sees a
  query whose time goes into one built-in call (``printf('%.*c', 2000000000, 'x')``);
- under a row cap.

A query that is refused, stopped or fails gives an :class:`Outcome` with no rows and a one-line
``note`` saying why; nothing here raises for a bad query. Gold records carry their database
either as a path (BIRD) or as its tables and rows, which :func:`database_file` writes once into
a cache folder (``ILR_SQL_CACHE``, default ``<tmp>/ilr-sql-<uid>``), named by a hash of its content.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import pickle
import re
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from ilr.core.io import DataFileError
from ilr.tasks.sql_worker import HEADER, Outcome, memory_outcome, message_bytes, timeout_outcome

WORKER = str(Path(__file__).with_name("sql_worker.py"))
DEFAULT_MEMORY_MB = 512  # task.sql.sandbox.max_memory_mb
REPLY_GRACE_S = 0.25  # past the time limit, for a result on its way back

def cache_folder() -> Path:
    return Path(os.environ.get("ILR_SQL_CACHE")
                or Path(tempfile.gettempdir()) / f"ilr-sql-{os.getuid()}")


def database_key(db: dict) -> str:
    """A stable name for a database spec: its path, or a hash of its tables and rows."""
    if "path" in db:
        return str(db["path"])
    return hashlib.sha256(json.dumps(db, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()[:32]


def _quote_name(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def build_database(db: dict, path: Path) -> None:
    """Write the tables and rows of ``db`` (``{"tables": [{"name", "columns": [[name, type],
    ...], "rows": [[...], ...]}]}``) into a new SQLite file at ``path``."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        for table in db["tables"]:
            columns = ", ".join(f"{_quote_name(c)} {t}" for c, t in table["columns"])
            conn.execute(f"CREATE TABLE {_quote_name(table['name'])} ({columns})")
        for table in db["tables"]:
            marks = ", ".join("?" * len(table["columns"]))
            conn.executemany(f"INSERT INTO {_quote_name(table['name'])} VALUES ({marks})",
                             table["rows"])
        conn.commit()
    finally:
        conn.close()


def database_file(db: dict, *, where: str = "", cache: Path | None = None) -> Path:
    """The SQLite file of a gold record's ``db``: its ``path``, or its tables and rows written
    once (atomically, read-only) into the cache folder."""
    if not isinstance(db, dict) or not ("path" in db or "tables" in db):
        raise DataFileError(f"{where}: the record's `db` must be {{path}} or {{tables}}; "
                            "rebuild the gold data with the prepare stage")
    if "path" in db:
        path = Path(db["path"])
        if not path.is_file():
            raise DataFileError(f"{where}: database {path} not found; set task.sql.bird.*_databases "
                                "to the folder of <db_id>/<db_id>.sqlite and rerun prepare")
        return path
    folder = cache or cache_folder()
    path = folder / f"{database_key(db)}.sqlite"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
        try:
            build_database(db, Path(tmp))
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except (sqlite3.Error, KeyError, TypeError, ValueError) as e:
            raise DataFileError(f"{where}: its `db` cannot be built ({e}); rebuild the gold "
                                "data with the prepare stage") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path


class Sandbox:
    """One worker process (:mod:`ilr.tasks.sql_worker`) that runs queries one at a time, killed at
    a query's deadline and started again for the next. A process per query would cost tens of
    milliseconds each; one kept alive costs a pipe round trip (bench/sql_grading.py)."""

    def __init__(self, *, max_memory_mb: int = DEFAULT_MEMORY_MB):
        self.max_memory_mb = max_memory_mb
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _worker(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", WORKER, str(self.max_memory_mb)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True)
        return self._proc

    def close(self) -> None:
        """Stop the worker (the next query starts a new one)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()

    def run(self, sql: str, path: Path, *, timeout_s: float, max_rows: int) -> Outcome:
        """Run one statement in the worker; at ``timeout_s`` (plus a short grace for the reply)
        the worker is killed, whatever the query is doing. Never raises for the query."""
        if not sql or not sql.strip():
            return Outcome(None, "error", "no query")
        with self._lock:
            proc = self._worker()
            deadline = time.monotonic() + timeout_s + REPLY_GRACE_S
            try:
                proc.stdin.write(message_bytes((sql, str(path), timeout_s, max_rows)))
                proc.stdin.flush()
                reply = _read_reply(proc.stdout.fileno(), deadline)
            except (OSError, EOFError, pickle.UnpicklingError):
                reply = None
            if reply is not None:
                kind, rows, note = reply
                return Outcome(rows, kind, note)
            ran_out = time.monotonic() >= deadline
            self.close()
            if ran_out:
                return timeout_outcome(timeout_s)
            if proc.returncode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGKILL):
                return memory_outcome(self.max_memory_mb)  # an allocation the child could not survive
            return Outcome(None, "error", f"stopped: the query's process ended (exit "
                                          f"{proc.returncode})")


def _read_reply(fd: int, deadline: float):
    """One reply from the worker's stdout, or None when the deadline passes or the pipe ends."""
    data = bytearray()
    need = HEADER.size
    while len(data) < need:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, min(need - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
        if need == HEADER.size and len(data) == HEADER.size:
            need += HEADER.unpack(bytes(data))[0]
    return pickle.loads(bytes(data[HEADER.size:]))


_SANDBOXES: dict[int, Sandbox] = {}


def sandbox(max_memory_mb: int = DEFAULT_MEMORY_MB) -> Sandbox:
    """This process's sandbox for a memory limit (one worker each, stopped at exit)."""
    if max_memory_mb not in _SANDBOXES:
        _SANDBOXES[max_memory_mb] = Sandbox(max_memory_mb=max_memory_mb)
    return _SANDBOXES[max_memory_mb]


@atexit.register
def _close_sandboxes() -> None:
    for box in _SANDBOXES.values():
        box.close()


def run_query(sql: str, path: Path, *, timeout_s: float, max_rows: int,
              max_memory_mb: int = DEFAULT_MEMORY_MB) -> Outcome:
    """Run one statement read-only on the database at ``path``, in a worker process with hard
    time and memory limits; never raises for the query."""
    return sandbox(max_memory_mb).run(sql, path, timeout_s=timeout_s, max_rows=max_rows)

def canonical_value(value):
    """Numbers compare by value (``3`` equals ``3.0``; floats to 10 significant digits)."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return float(f"{value:.10g}")
    return value


def same_rows(a: tuple, b: tuple, *, ordered: bool) -> bool:
    """Whether two result sets are equal: as multisets of rows, or as lists when ``ordered``."""
    rows_a = [tuple(canonical_value(v) for v in row) for row in a]
    rows_b = [tuple(canonical_value(v) for v in row) for row in b]
    return rows_a == rows_b if ordered else Counter(rows_a) == Counter(rows_b)


_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/",
                       re.S)


def has_order_by(sql: str) -> bool:
    """Whether the outer query sorts its result (an ORDER BY outside parentheses, literals and
    comments): only then does the order of the rows count."""
    text = _LITERALS.sub(" ", sql)
    while True:
        shorter = re.sub(r"\([^()]*\)", " ", text)
        if shorter == text:
            break
        text = shorter
    return re.search(r"\border\s+by\b", text, re.I) is not None
