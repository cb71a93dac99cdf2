"""The SQL sandbox: model-written queries never write, never hang, never crash the caller."""
import hashlib
import sqlite3
import time

import pytest

from ilr.core.io import DataFileError
from ilr.tasks.sql_generator import SqlSpec, generate_sql_records
from ilr.tasks.sql_sandbox import REPLY_GRACE_S, database_file, has_order_by, run_query, same_rows

RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture()
def db_path(tmp_path):
    record = generate_sql_records(SqlSpec(domains=["shop"]), n=1, seed=0, split="train")[0]
    return database_file(record["db"], cache=tmp_path / "cache")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sql, refused", [
    ("INSERT INTO customers VALUES (99, 'Mallory', 'Lyon')", "INSERT"),
    ("UPDATE customers SET name = 'Mallory'", "UPDATE"),
    ("DELETE FROM orders", "DELETE"),
    ("DROP TABLE orders", "DELETE (sqlite_master)"),
    ("CREATE TABLE evil (x)", "INSERT (sqlite_master)"),
    ("ALTER TABLE customers ADD COLUMN x", "ALTER TABLE"),
    ("ATTACH DATABASE '{other}' AS other", "ATTACH"),
    ("DETACH DATABASE main", "DETACH"),
    ("VACUUM INTO '{other}'", "ATTACH"),
    ("PRAGMA query_only = 0", "PRAGMA query_only"),
    ("PRAGMA journal_mode = WAL", "PRAGMA journal_mode"),
    ("PRAGMA writable_schema = 1", "PRAGMA writable_schema"),
    ("BEGIN IMMEDIATE", "TRANSACTION"),
    ("SELECT load_extension('/tmp/evil.so')", "load_extension()"),
])
def test_writes_and_escapes_are_refused_and_change_nothing(db_path, tmp_path, sql, refused):
    other = tmp_path / "other.db"
    before = _digest(db_path)
    outcome = run_query(sql.format(other=other), db_path, timeout_s=1.0, max_rows=100)
    assert outcome.rows is None and outcome.kind == "refused"
    assert refused in outcome.note and "not allowed" in outcome.note
    assert _digest(db_path) == before
    assert not other.exists()  # ATTACH / VACUUM INTO created no file
    assert run_query("SELECT count(*) FROM customers", db_path, timeout_s=1.0,
                     max_rows=10).rows == ((8,),)


def test_a_second_statement_is_refused(db_path):
    before = _digest(db_path)
    outcome = run_query("SELECT 1; DROP TABLE orders", db_path, timeout_s=1.0, max_rows=10)
    assert outcome.rows is None and "one statement" in outcome.note
    assert _digest(db_path) == before


def test_the_file_is_read_only_even_without_the_authorizer(db_path):
    """The ``mode=ro`` URI alone stops a write (the authorizer is a second wall)."""
    from urllib.parse import quote

    conn = sqlite3.connect(f"file:{quote(str(db_path))}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM orders")
    conn.close()


def test_a_runaway_recursive_cte_is_stopped_within_the_limit(db_path):
    start = time.monotonic()
    outcome = run_query(RUNAWAY, db_path, timeout_s=0.5, max_rows=100)
    elapsed = time.monotonic() - start
    assert outcome.kind == "timeout" and "0.5 s" in outcome.note
    assert elapsed < 1.5


def test_the_row_cap_stops_an_endless_result(db_path):
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
    outcome = run_query(endless, db_path, timeout_s=5.0, max_rows=1000)
    assert outcome.kind == "too_many_rows" and "1000 rows" in outcome.note


def test_huge_values_and_bad_sql_are_notes_not_crashes(db_path):
    assert run_query("SELECT zeroblob(100000000)", db_path, timeout_s=1.0,
                     max_rows=10).kind == "error"
    assert "syntax error" in run_query("SELEC name FROM customers", db_path, timeout_s=1.0,
                                       max_rows=10).note
    assert run_query("", db_path, timeout_s=1.0, max_rows=10).note == "no query"
    assert run_query("SELECT '\x00'", db_path, timeout_s=1.0, max_rows=10).kind in ("ok", "error")


def test_read_only_pragmas_and_recursive_ctes_are_allowed(db_path):
    info = run_query("PRAGMA table_info(orders)", db_path, timeout_s=1.0, max_rows=10)
    assert [row[1] for row in info.rows] == ["id", "customer_id", "product_id", "quantity"]
    counted = run_query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                        "WHERE x < 5) SELECT sum(x) FROM c", db_path, timeout_s=1.0, max_rows=10)
    assert counted.rows == ((15,),)


def test_the_cached_database_is_built_once_and_read_only(tmp_path):
    record = generate_sql_records(SqlSpec(), n=1, seed=3, split="test")[0]
    first = database_file(record["db"], cache=tmp_path)
    stamp = first.stat().st_mtime_ns
    assert database_file(record["db"], cache=tmp_path) == first
    assert first.stat().st_mtime_ns == stamp and not first.stat().st_mode & 0o222
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temp file left


def test_a_bad_database_spec_is_one_clear_error(tmp_path):
    with pytest.raises(DataFileError, match="id 'x'.*prepare"):
        database_file({"tables": [{"name": "t"}]}, where="id 'x'", cache=tmp_path)
    with pytest.raises(DataFileError, match="not found.*bird"):
        database_file({"path": str(tmp_path / "missing.sqlite")}, where="id 'y'")


def test_result_comparison():
    assert same_rows(((1, "a"), (2, "b")), ((2, "b"), (1, "a")), ordered=False)
    assert not same_rows(((1, "a"), (2, "b")), ((2, "b"), (1, "a")), ordered=True)
    assert not same_rows(((1,), (1,)), ((1,),), ordered=False)  # a multiset, not a set
    assert same_rows(((3,),), ((3.0,),), ordered=True)
    assert same_rows(((1 / 3,),), ((0.3333333333333333,),), ordered=True)
    assert not same_rows(((1, "a"),), (("a", 1),), ordered=False)  # column order counts


def test_has_order_by_looks_at_the_outer_query_only():
    assert has_order_by("SELECT name FROM t ORDER BY price DESC LIMIT 3")
    assert has_order_by("select name from t order\n by price")
    assert not has_order_by("SELECT name FROM (SELECT name FROM t ORDER BY price LIMIT 3)")
    assert not has_order_by("SELECT 'order by' FROM t -- order by x")
    assert not has_order_by("SELECT rank() OVER (ORDER BY x) FROM t")
    assert not has_order_by("SELECT border, bypass FROM t")


# hard limits: queries whose cost the progress handler never sees, or that build memory
HOSTILE = {
    # one built-in call asked for a two-billion-character width: no VM step until it returns
    "slow_function": "SELECT printf('%.*c', 2000000000, 'x')",
    # a huge result in few rows: 300 values of ~1 MB (the value cap) each
    "huge_few_rows": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300) "
                     "SELECT randomblob(999999) FROM c",
    # many rows of maximal values: as many 1 MB rows as the row cap allows
    "many_max_rows": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                     "SELECT zeroblob(999999), x FROM c",
    # deep recursion: an expression nested past SQLite's parser stack, and a CTE that doubles a
    # string until the value cap stops it
    "deep_nesting": "SELECT " + "(" * 5000 + "1" + ")" * 5000,
    "deep_cte": "WITH RECURSIVE c(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM c) "
                "SELECT max(length(s)) FROM c",
    # never yields a row
    "never_yields": RUNAWAY,
}


@pytest.mark.parametrize("name, kinds", [
    ("slow_function", {"timeout"}),
    ("huge_few_rows", {"memory"}),
    ("many_max_rows", {"memory"}),
    ("deep_nesting", {"error"}),
    ("deep_cte", {"error"}),
    ("never_yields", {"timeout"}),
])
def test_hostile_queries_stop_within_hard_limits(db_path, name, kinds):
    start = time.monotonic()
    outcome = run_query(HOSTILE[name], db_path, timeout_s=1.0, max_rows=5000, max_memory_mb=128)
    elapsed = time.monotonic() - start
    assert outcome.rows is None and outcome.kind in kinds, outcome
    assert "\n" not in outcome.note
    assert elapsed < 3.0  # the deadline (1 s), the reply's grace and a worker restart
    if outcome.kind == "memory":
        assert "128 MB" in outcome.note and "max_memory_mb" in outcome.note
    # the sandbox is usable right after (a killed worker is replaced)
    assert run_query("SELECT count(*) FROM customers", db_path, timeout_s=1.0, max_rows=10,
                     max_memory_mb=128).rows == ((8,),)


def test_the_slow_function_is_killed_at_the_deadline_not_after_it_returns(db_path):
    """The progress handler alone let this query run 11 s under a 2 s limit."""
    start = time.monotonic()
    outcome = run_query(HOSTILE["slow_function"], db_path, timeout_s=0.5, max_rows=10)
    assert outcome.kind == "timeout" and "0.5 s" in outcome.note
    assert time.monotonic() - start < 0.5 + REPLY_GRACE_S + 0.5


def test_a_large_sort_answers_in_memory_under_the_no_file_limit(db_path):
    """The worker may not write files (RLIMIT_FSIZE 0), so SQLite keeps its temporary sort
    storage in memory (temp_store): a sort past the page cache still answers (a spill to a
    temporary file would fail with a disk I/O error)."""
    sort = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 20000) "
            "SELECT count(*), sum(x) FROM (SELECT x, randomblob(2000) b FROM c ORDER BY b "
            "LIMIT 100000)")
    outcome = run_query(sort, db_path, timeout_s=10.0, max_rows=10)
    assert outcome.kind == "ok" and outcome.rows == ((20000, 20000 * 20001 // 2),)


def test_the_judge_logs_a_stopped_query_with_its_item_id(tmp_path, caplog):
    from ilr.tasks.sql_task import SqlJudge

    record = generate_sql_records(SqlSpec(domains=["shop"]), n=1, seed=0, split="train")[0]
    judge = SqlJudge(timeout_s=0.5, max_rows=100, max_memory_mb=128)
    with caplog.at_level("WARNING"):
        assert not judge.grade(HOSTILE["slow_function"], record["answer"], record)
    assert judge.run(HOSTILE["slow_function"], record).kind == "timeout"  # cached, not rerun
    lines = [r.getMessage() for r in caplog.records if "ran past" in r.getMessage()]
    assert len(lines) == 1 and str(record["id"]) in lines[0]
