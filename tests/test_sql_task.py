"""The sql task: the seeded generator, execution grading, the difference filter, BIRD files."""
import json
import logging
import sqlite3

import pytest

from ilr.core.io import DataFileError
from ilr.core.params import BirdParams, SqlParams, TaskParams, load_params
from ilr.measure.evaluate import score_predictions
from ilr.method.refine import refine_round
from ilr.tasks.sql_generator import LEVELS, SqlSpec, generate_sql_records
from ilr.tasks.sql_task import extract_sql
from ilr.tasks.task import load_gold_records, task_from_params

TASK_PARAMS = TaskParams(name="sql", n_train=40, n_test=20, n_supervisor=30)
TASK = task_from_params(TASK_PARAMS)


@pytest.fixture(scope="module")
def splits():
    return load_gold_records(TASK_PARAMS, seed=0)


def _find(records, fragment):
    return next(r for r in records if fragment in r["answer"])


def test_the_generator_is_deterministic_and_seeded():
    a = generate_sql_records(SqlSpec(), n=30, seed=0, split="train")
    assert a == generate_sql_records(SqlSpec(), n=30, seed=0, split="train")
    assert a != generate_sql_records(SqlSpec(), n=30, seed=1, split="train")
    assert [r["id"] for r in a] == [f"sql-train-{i:05d}" for i in range(30)]
    assert len({r["prompt"] for r in a}) == 30


def test_splits_are_disjoint_and_cover_every_level(splits):
    prompts = [r["prompt"] for split in splits.values() for r in split]
    assert len(prompts) == len(set(prompts)) == 90
    assert {r["level"] for r in splits["train"]} == set(LEVELS)
    record = splits["train"][0]
    assert record["response"].endswith(f"#### {record['answer']}")
    assert "Question:" in record["prompt"] and "REFERENCES" not in record["prompt"]
    assert {len(r["db"]["tables"]) for r in splits["train"]} == {3}


def test_every_gold_query_grades_right_on_its_database(splits):
    for split in splits.values():
        for r in split:
            assert TASK.grade(r["response"], r["response"], item=r), r["id"]


def test_the_embedded_generator_knobs_are_checked():
    with pytest.raises(ValueError, match="task.sql.embedded.levels"):
        SqlSpec(levels=["window"])
    with pytest.raises(ValueError, match="task.sql.embedded.domains"):
        SqlSpec(domains=[])


def test_equivalent_but_different_queries_grade_right(splits):
    r = _find(splits["train"] + splits["test"] + splits["supervisor"], "COUNT(*) FROM")
    gold = r["answer"]
    rewritten = ("select count(1) from (" + gold.replace("COUNT(*)", "*") + ")")
    assert TASK.grade(f"Count them.\n#### {rewritten}", r["response"], item=r)
    assert TASK.grade(f"#### {gold.lower()};", r["response"], item=r)
    assert TASK.grade(f"```sql\n#### {gold}\n```", r["response"], item=r)  # a closing fence
    assert TASK.grade(f"Plan.\n#### ```sql\n{gold}\n```", r["response"], item=r)
    assert not TASK.grade(f"#### {gold.replace('COUNT(*)', 'COUNT(*) + 1')}", r["response"],
                          item=r)
    assert not TASK.grade("no query here", r["response"], item=r)


def test_row_order_counts_only_when_the_gold_query_sorts(splits):
    everything = splits["train"] + splits["test"] + splits["supervisor"]
    ordered = _find(everything, " DESC LIMIT ")
    head, limit = ordered["answer"].split(" ORDER BY ")
    table = head.split(" FROM ")[1]
    column = ordered["answer"].split(" ORDER BY ")[1].split()[0]
    name = head.split()[1]
    same_set = (f"SELECT {name} FROM (SELECT {name}, {column} FROM {table} ORDER BY {column} "
                f"DESC LIMIT {limit.split('LIMIT ')[1]}) ORDER BY {column} ASC")
    assert not TASK.grade(f"#### {same_set}", ordered["response"], item=ordered)
    assert TASK.grade(f"#### {ordered['answer'].replace(' DESC', ' DESC, 1')}",
                      ordered["response"], item=ordered)
    unordered = next(r for r in everything if r["level"] == "select"
                     and r["answer"].startswith("SELECT name FROM"))
    reversed_sql = unordered["answer"] + " ORDER BY name DESC"
    forward_sql = unordered["answer"] + " ORDER BY name ASC"
    assert TASK.grade(f"#### {reversed_sql}", unordered["response"], item=unordered)
    assert TASK.grade(f"#### {forward_sql}", unordered["response"], item=unordered)
    # the difference filter compares as multisets when neither side sorts, else in order
    shuffled = f"SELECT name FROM ({reversed_sql})"
    assert TASK.same_answer(f"#### {unordered['answer']}", f"#### {shuffled}", item=unordered)
    assert TASK.same_answer(f"#### {forward_sql}", f"#### {forward_sql.lower()}", item=unordered)
    if len(TASK.judge.run(unordered["answer"], unordered).rows) > 1:
        assert not TASK.same_answer(f"#### {reversed_sql}", f"#### {forward_sql}",
                                    item=unordered)


def test_same_answer_is_the_difference_filter_on_results(splits):
    r = _find(splits["train"], "COUNT(*)")
    assert TASK.same_answer(f"#### {r['answer']}", f"Other words.\n#### {r['answer'].lower()}",
                            item=r)
    assert not TASK.same_answer(f"#### {r['answer']}", "#### SELECT 12345", item=r)
    assert not TASK.same_answer("#### DROP TABLE orders", "#### DROP TABLE orders", item=r)
    assert not TASK.same_answer("no query", "no query", item=r)
    with pytest.raises(ValueError, match="item="):
        TASK.same_answer("#### SELECT 1", "#### SELECT 1")


def test_a_refused_query_is_wrong_with_a_note_and_logged(splits, caplog):
    r = splits["test"][0]
    response = {"text": "#### ATTACH DATABASE '/tmp/x.db' AS x", "n_tokens": 9}
    runaway = {"text": "#### WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                       "SELECT count(*) FROM c", "n_tokens": 30}
    fast = TASK_PARAMS.model_copy(update={"sql": SqlParams(sandbox={"timeout_s": 0.2})})
    with caplog.at_level(logging.WARNING, logger="ilr.sql"):
        predictions, metrics = score_predictions(task_from_params(fast), [r, r, r],
                                                 [response, runaway,
                                                  {"text": r["response"], "n_tokens": 5}])
    assert [p["correct"] for p in predictions] == [False, False, True]
    assert "ATTACH" in predictions[0]["note"] and "stopped" in predictions[1]["note"]
    assert "note" not in predictions[2]
    assert metrics["accuracy"] == pytest.approx(1 / 3)
    assert r["id"] in caplog.text and "ATTACH" in caplog.text


def test_refine_runs_the_difference_filter_on_the_items_database(splits):
    gold = splits["train"][:6]
    labels = [{"id": g["id"], "prompt": g["prompt"], "response": "#### SELECT 1"} for g in gold]
    proposals = [{"id": g["id"], "proposal": g["response"] if i % 2 else "#### SELECT 1;"}
                 for i, g in enumerate(gold)]
    new, audit, counts = refine_round(labels, proposals, same_answer=TASK.same_answer,
                                      score=lambda items: [1.0] * len(items), grade=TASK.grade,
                                      gold=gold, alpha=0.5, round_name="r1")
    assert counts["n_compared"] == 3 and counts["n_replaced"] == 3 and counts["n_fixed"] == 3
    assert all(a["new_correct"] and not a["old_correct"] for a in audit)


def test_extract_sql():
    assert extract_sql("plan\n#### SELECT 1 ") == "SELECT 1"
    # the first answer counts (as in ilr.tasks.grading); an empty #### is no answer
    assert extract_sql("#### SELECT 1\n#### SELECT 2") == "SELECT 1"
    assert extract_sql("#### a\n#### SELECT 2") == "a"
    assert extract_sql("####\n#### SELECT 2") == "SELECT 2"
    assert extract_sql("SELECT 1") is None and extract_sql("####   ") is None


def test_has_final_answer_needs_a_query_after_a_final_line():
    from ilr.tasks.task import SqlTask

    task = SqlTask(name="sql", system_prompt="")
    assert task.has_final_answer("plan\n#### SELECT 1")
    assert task.has_final_answer("plan\n####\n```sql\nSELECT 1\n```")  # the query on the next line
    assert not task.has_final_answer("SELECT 1") and not task.has_final_answer("plan\n####  ")
    assert not task.has_final_answer("plan #### SELECT 1")  # '####' mid-line


def test_params_accept_the_sql_task(tmp_path):
    import yaml

    params = yaml.safe_load(open("params.yaml"))
    params["task"]["name"] = "sql"
    params["task"]["sql"]["sandbox"]["timeout_s"] = 0.5
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    loaded = load_params(tmp_path / "p.yaml")
    assert loaded.task.sql.sandbox.timeout_s == 0.5
    assert task_from_params(loaded.task).timeout_s == 0.5
    params["task"]["sql"]["source"] = "spider"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ValueError, match="task.sql.source"):
        load_params(tmp_path / "p.yaml")


def _bird_folder(root, split, rows):
    db_dir = root / f"{split}_databases" / "tiny"
    db_dir.mkdir(parents=True)
    conn = sqlite3.connect(db_dir / "tiny.sqlite")
    conn.execute("CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)")
    conn.executemany("INSERT INTO pets VALUES (?, ?, ?)", [(1, "Rex", 3), (2, "Tom", 5),
                                                          (3, "Kit", 1)])
    conn.commit()
    conn.close()
    (root / f"{split}.json").write_text(json.dumps(rows))


def test_bird_files_load_and_grade(tmp_path):
    rows = [{"question": f"Which pets are older than {i}?", "evidence": "older means age >",
             "SQL": f"SELECT name FROM pets WHERE age > {i}", "db_id": "tiny"} for i in range(5)]
    _bird_folder(tmp_path, "train", rows)
    _bird_folder(tmp_path, "dev", rows[:2])
    bird = BirdParams(train=str(tmp_path / "train.json"),
                      train_databases=str(tmp_path / "train_databases"),
                      test=str(tmp_path / "dev.json"),
                      test_databases=str(tmp_path / "dev_databases"))
    params = TaskParams(name="sql", n_train=3, n_test=None, n_supervisor=2,
                        sql=SqlParams(source="bird", bird=bird))
    splits = load_gold_records(params, seed=0)
    assert [len(splits[k]) for k in ("train", "supervisor", "test")] == [3, 2, 2]
    record = splits["test"][1]
    assert record["id"] == "bird-test-00001" and "CREATE TABLE pets" in record["prompt"]
    assert "Hint: older means age >" in record["prompt"]
    task = task_from_params(params)
    assert task.grade("#### SELECT name FROM pets WHERE age >= 2", record["response"], item=record)
    before = (tmp_path / "dev_databases/tiny/tiny.sqlite").read_bytes()
    assert not task.grade("#### DELETE FROM pets", record["response"], item=record)
    assert (tmp_path / "dev_databases/tiny/tiny.sqlite").read_bytes() == before


def test_bad_bird_files_are_one_clear_error(tmp_path):
    (tmp_path / "train.json").write_text(json.dumps([{"question": "q", "db_id": "x"}]))
    bird = BirdParams(train=str(tmp_path / "train.json"), train_databases=str(tmp_path),
                      test=str(tmp_path / "dev.json"), test_databases=str(tmp_path))
    params = TaskParams(name="sql", n_train=1, n_supervisor=1,
                        sql=SqlParams(source="bird", bird=bird))
    with pytest.raises(DataFileError, match=r"entry 0: missing or non-text \['SQL'\]"):
        load_gold_records(params, seed=0)
    with pytest.raises(ValueError, match="task.sql.bird.train"):
        load_gold_records(params.model_copy(update={"sql": SqlParams(source="bird")}), seed=0)


def test_the_sql_profile_gives_valid_params(tmp_path):
    import yaml

    from ilr.core.profiles import apply_profile, load_profile

    params = apply_profile(yaml.safe_load(open("params.yaml")), load_profile("profiles/sql.yaml"))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    loaded = load_params(tmp_path / "p.yaml")
    assert loaded.task.name == "sql" and list(loaded.rounds) == ["r1"]
