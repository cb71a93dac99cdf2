"""Audit questions on planted data: the known replacements are listed exactly."""
import pytest

from ilr.core.params import RoundParams, TaskParams
from ilr.report.audit import build_audit_rows, build_history, count_audit_rows, diff_labels, order_versions
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params

TASK = task_from_params(TaskParams())
GOLD = generate_records(ArithSpec(), n=6, seed=0, split="train")
ROUNDS = {"n1": RoundParams(prev="r0", mode="naive"), "r2": RoundParams(prev="r1", mode="feedback"),
          "r1": RoundParams(prev="r0", mode="feedback")}


def _wrong(record, answer="999"):
    return {**record, "response": f"{record['prompt'][:0]}... = {answer}.\n#### {answer}"}


def test_versions_are_ordered_by_arm_and_depth():
    assert order_versions(ROUNDS) == ["r0", "r1", "r2", "n1"]


def test_audit_rows_and_counts():
    audit = [{"id": "a", "old": "#### 1", "new": "#### 2", "score": 0.9, "accepted": True,
              "old_correct": False, "new_correct": True},
             {"id": "b", "old": "#### 3", "new": "#### 4", "score": 0.6, "accepted": True,
              "old_correct": True, "new_correct": False},
             {"id": "c", "old": "#### 5", "new": "#### 6", "score": 0.2, "accepted": False,
              "old_correct": False, "new_correct": False}]
    rows = build_audit_rows(audit, task=TASK, round_name="r1")
    assert [(r["id"], r["old_answer"], r["new_answer"], r["decision"]) for r in rows] == [
        ("a", "1", "2", "replaced"), ("b", "3", "4", "replaced"), ("c", "5", "6", "kept")]
    assert count_audit_rows(rows) == {"items": 3, "replaced": 2, "kept": 1, "fixed": 1, "broken": 1}
    assert [r["id"] for r in build_audit_rows(audit, task=TASK, round_name="r1", accepted=False)] == ["c"]


def test_history_follows_one_example_across_rounds():
    g = GOLD[0]
    versions = {"r0": {g["id"]: _wrong(g)}, "r1": {g["id"]: g}, "r2": {g["id"]: g},
                "n1": {g["id"]: _wrong(g)}}
    audits = {"r1": {g["id"]: {"accepted": True, "score": 0.8}},
              "n1": {g["id"]: {"accepted": False, "score": None}}}
    rows = build_history(g["id"], versions=versions, audits=audits, rounds=ROUNDS, task=TASK,
                         gold={g["id"]: g})
    assert [(r["version"], r["event"], r["correct"]) for r in rows] == [
        ("r0", "start", False), ("r1", "replaced", True), ("r2", "kept (agreed)", True),
        ("n1", "kept (not drawn)", False)]
    assert rows[1]["score"] == 0.8 and rows[1]["answer"] == TASK.extract_answer(g["response"])
    audits["r1"][g["id"]] = {"accepted": False, "score": 0.8}  # preferred, left out by the cap
    assert build_history(g["id"], versions=versions, audits=audits, rounds=ROUNDS,
                         task=TASK)[1]["event"] == "kept (over the cap)"
    audits["r1"][g["id"]] = {"accepted": False, "score": 0.5}  # not preferred
    assert build_history(g["id"], versions=versions, audits=audits, rounds=ROUNDS,
                         task=TASK)[1]["event"] == "kept (feedback refused)"
    with pytest.raises(KeyError, match="in none of the label versions"):
        build_history("nope", versions=versions, audits=audits, rounds=ROUNDS, task=TASK)


def test_diff_counts_each_kind_of_change():
    gold = {g["id"]: g for g in GOLD}
    a = [GOLD[0], _wrong(GOLD[1]), _wrong(GOLD[2]), GOLD[3], GOLD[4]]
    b = [_wrong(GOLD[0]), GOLD[1], _wrong(GOLD[2], "998"), {**GOLD[3], "response": GOLD[3]["response"] + " "},
         GOLD[5]]
    rows, counts = diff_labels(a, b, task=TASK, gold=gold)
    assert {r["id"]: r["kind"] for r in rows} == {
        GOLD[0]["id"]: "right->wrong", GOLD[1]["id"]: "wrong->right", GOLD[2]["id"]: "wrong->wrong",
        GOLD[3]["id"]: "right->right", GOLD[4]["id"]: "only in A", GOLD[5]["id"]: "only in B"}
    assert counts["n_changed"] == 6 and counts["wrong->right"] == 1
    _, unknown = diff_labels(a[:2], b[:2], task=TASK)
    assert unknown == {"n_a": 2, "n_b": 2, "n_changed": 2, "changed (gold unknown)": 2}
