"""Model-written SQL, run where it can neither write nor hang.

Every query runs on its own connection to one SQLite file, opened

- read-only twice over: a ``file:...?mode=ro`` URI (SQLite refuses every write to the file) and
  ``PRAGMA query_only = 1``;
- under an authorizer that allows reading only: ``SELECT``, reading columns, recursive CTEs,
  functions other than those that touch files or load code (``load_extension``, ``readfile``,
  ``writefile``, ``edit``, ``fts3_tokenizer``, ...) and a short list of read-only PRAGMAs
  (``table_info``, ``foreign_key_list``, ...); ATTACH, DETACH, every write, DDL, transaction
  and any other PRAGMA is refused before it runs;
- with no database attachable and values capped at 1 MB (``setlimit``);
- under a time limit (a progress handler interrupts the query) and a row cap.

A query that is refused, stopped or fails gives an :class:`Outcome` with no rows and a one-line
``note`` saying why; nothing here raises for a bad query. Gold records carry their database
either as a path (BIRD) or as its tables and rows, which :func:`database_file` writes once into
a cache folder (``ILR_SQL_CACHE``, default ``<tmp>/ilr-sql-<uid>``), named by a hash of its content.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ilr.io import DataFileError

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


@dataclass(frozen=True)
class Outcome:
    """What one query gave: its rows, or none and why (``kind``: ``ok``, ``refused``,
    ``timeout``, ``too_many_rows``, ``error``)."""
    rows: tuple | None
    kind: str = "ok"
    note: str | None = None


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


def open_readonly(path: Path, *, refusals: list | None = None) -> sqlite3.Connection:
    """A read-only connection with the authorizer installed; refused actions are appended to
    ``refusals`` so the caller can say which one stopped a query."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
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


def run_query(sql: str, path: Path, *, timeout_s: float, max_rows: int) -> Outcome:
    """Run one statement read-only on the database at ``path``; never raises for the query."""
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
    except Exception as e:  # any failure of model-written SQL is an outcome, never a crash
        if refusals:
            what = ", ".join(dict.fromkeys(refusals))
            return Outcome(None, "refused", f"refused: {what} not allowed (the sandbox runs "
                                            "read-only SELECT queries)")
        if "interrupted" in str(e) and time.monotonic() > deadline:
            return Outcome(None, "timeout", f"stopped: ran past {timeout_s:g} s "
                                            "(task.sql.sandbox.timeout_s)")
        return Outcome(None, "error", f"{type(e).__name__}: {e}")
    finally:
        conn.close()


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
