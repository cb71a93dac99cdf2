import json
import random

import numpy as np
import pytest

from ilr.core.params import TaskParams
from ilr.method.feedback import oracle_scores
from ilr.method.noise import corrupt_records
from ilr.method.refine import (apply_replacements, build_audit, find_compared, measure_round,
                        refine_round, select_replacements)
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params

TASK = task_from_params(TaskParams())


@pytest.fixture(scope="module")
def planted():
    gold = generate_records(ArithSpec(), n=200, seed=0, split="train")
    labels, _ = corrupt_records(gold, error_rate=0.1, mix={"slip": 1, "misread": 1}, seed=0)
    wrong = {lab["id"] for lab in labels if lab["error"]}
    # proposals: correct exactly where the label is wrong; elsewhere the same answer reworded
    proposals = {g["id"]: g["response"] if g["id"] in wrong else g["response"].replace(".", " .")
                 for g in gold}
    return gold, labels, proposals, wrong


def test_oracle_refine_replaces_exactly_the_planted_wrong_labels(planted):
    gold, labels, proposals, wrong = planted
    compared = find_compared(labels, proposals, same_answer=TASK.same_answer)
    assert {c["id"] for c in compared} == wrong  # the difference filter keeps the rest
    scores = oracle_scores(compared, {g["id"]: g for g in gold}, task=TASK, flip_rate=0.0, seed=0)
    accepted = select_replacements(compared, scores, n_labels=len(labels), alpha=0.15)
    new = apply_replacements(labels, compared, accepted, round_name="r1")
    changed = {a["id"] for a, b in zip(labels, new) if a["response"] != b["response"]}
    assert changed == wrong
    assert all(TASK.grade(lab["response"], g["response"]) for lab, g in zip(new, gold))
    assert [(lab["id"], lab["prompt"]) for lab in new] == [(lab["id"], lab["prompt"]) for lab in labels]


def test_cap_limits_replacements_to_the_highest_scores(planted):
    gold, labels, proposals, wrong = planted
    compared = find_compared(labels, proposals, same_answer=TASK.same_answer)
    scores = [0.6 + 0.001 * i for i in range(len(compared))]
    accepted = select_replacements(compared, scores, n_labels=100, alpha=0.05)
    assert sum(accepted) == 5 and accepted[-5:] == [True] * 5


@pytest.mark.parametrize("seed", range(5))
def test_no_round_replaces_more_than_alpha(seed):
    rng = random.Random(seed)
    n = rng.randint(20, 400)
    compared = [{"id": str(i)} for i in range(rng.randint(0, n))]
    scores = [rng.random() for _ in compared]
    for mode in ("feedback", "naive"):
        accepted = select_replacements(compared, scores, n_labels=n, alpha=0.15, mode=mode, seed=seed)
        assert sum(accepted) <= 0.15 * n
        assert all(s > 0.5 for s, a in zip(scores, accepted) if a) or mode == "naive"


def test_scores_at_or_below_one_half_never_win():
    compared = [{"id": str(i)} for i in range(4)]
    assert select_replacements(compared, [0.5, 0.2, 0.5, 0.0], n_labels=4, alpha=1.0) == [False] * 4


def reference_threshold(scores, *, alpha):
    """The reference code's threshold: max(0.5, the (1 - alpha) quantile of the scores)."""
    return max(0.5, float(np.quantile(scores, 1.0 - alpha))) if scores else 0.5


def test_compared_scope_uses_the_reference_threshold():
    rng = np.random.default_rng(0)
    scores = rng.random(101).tolist()
    compared = [{"id": str(i)} for i in range(101)]
    threshold = max(0.5, float(np.quantile(scores, 0.85)))
    assert reference_threshold(scores, alpha=0.15) == threshold
    accepted = select_replacements(compared, scores, n_labels=10_000, alpha=0.15, alpha_scope="compared")
    assert accepted == [s > threshold for s in scores]
    assert reference_threshold([0.1, 0.2, 0.3], alpha=0.5) == 0.5


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="refine.alpha"):
        select_replacements([], [], n_labels=1, alpha=0.0)
    with pytest.raises(ValueError, match="refine.alpha_scope"):
        select_replacements([], [], n_labels=1, alpha=0.1, alpha_scope="all")


def test_audit_and_round_metrics_count_fixes_and_breaks(planted):
    gold, labels, proposals, wrong = planted
    gold_by_id = {g["id"]: g for g in gold}
    broken_id = next(lab["id"] for lab in labels if lab["id"] not in wrong)
    proposals = {**proposals, broken_id: "#### -1"}  # a wrong proposal for a correct label
    compared = find_compared(labels, proposals, same_answer=TASK.same_answer)
    scores = [0.9] * len(compared)  # a feedback that accepts everything
    accepted = select_replacements(compared, scores, n_labels=len(labels), alpha=1.0)
    audit = build_audit(compared, scores, accepted, gold_by_id=gold_by_id, grade=TASK.grade)
    assert {a["id"] for a in audit} == wrong | {broken_id}
    row = next(a for a in audit if a["id"] == broken_id)
    assert row == {"id": broken_id, "old": row["old"], "new": "#### -1", "score": 0.9,
                   "accepted": True, "old_correct": True, "new_correct": False}
    metrics = measure_round(audit, n_labels=len(labels))
    assert metrics["n_compared"] == metrics["n_replaced"] == len(wrong) + 1
    assert metrics["n_fixed"] == len(wrong) and metrics["n_broken"] == 1
    assert metrics["replacement_precision"] == pytest.approx(len(wrong) / (len(wrong) + 1))
    assert metrics["share_replaced"] == pytest.approx((len(wrong) + 1) / len(labels))


def _proposal_records(proposals):
    return [{"id": k, "proposal": v} for k, v in proposals.items()]


def test_refine_round_with_a_perfect_oracle_fixes_exactly_the_planted_labels(planted):
    gold, labels, proposals, wrong = planted
    gold_by_id = {g["id"]: g for g in gold}
    score = lambda items: oracle_scores(items, gold_by_id, task=TASK, flip_rate=0.0, seed=0)
    new, audit, counts = refine_round(labels, _proposal_records(proposals), same_answer=TASK.same_answer,
                                      score=score, grade=TASK.grade, gold=gold, alpha=0.15,
                                      round_name="r1")
    assert {a["id"] for a in audit if a["accepted"]} == wrong
    assert {b["id"] for a, b in zip(labels, new) if a["response"] != b["response"]} == wrong
    assert counts["n_fixed"] == len(wrong) and counts["n_broken"] == 0
    assert counts["replacement_precision"] == 1.0


def test_refine_round_caps_at_alpha_and_keeps_ids_and_prompts(planted):
    gold, labels, _, _ = planted
    proposals = {g["id"]: g["response"] for g in gold}  # gold everywhere: every wrong label differs
    labels, _ = corrupt_records(gold, error_rate=0.5, mix={"slip": 1}, seed=1)
    new, audit, counts = refine_round(labels, _proposal_records(proposals), same_answer=TASK.same_answer,
                                      score=lambda items: [1.0] * len(items), grade=TASK.grade,
                                      gold=gold, alpha=0.15, round_name="r1")
    assert counts["n_compared"] == 100 and counts["n_replaced"] == 30 == int(0.15 * len(labels))
    assert [(r["id"], r["prompt"]) for r in new] == [(r["id"], r["prompt"]) for r in labels]


def test_naive_rounds_never_ask_the_feedback(planted):
    gold, labels, proposals, wrong = planted

    def refuse(items):
        raise AssertionError("naive mode asked the feedback")

    _, audit, counts = refine_round(labels, _proposal_records(proposals), same_answer=TASK.same_answer,
                                    score=refuse, grade=TASK.grade, gold=gold, alpha=0.05,
                                    mode="naive", seed=0, round_name="n1")
    assert counts["n_replaced"] == min(len(wrong), 10) and all(a["score"] is None for a in audit)


def test_refine_round_needs_a_proposal_per_label(planted):
    gold, labels, proposals, _ = planted
    some = _proposal_records(proposals)[:-3]
    with pytest.raises(ValueError, match="3 label\\(s\\) have no proposal"):
        refine_round(labels, some, same_answer=TASK.same_answer, score=None, grade=TASK.grade,
                     gold=gold, alpha=0.15, round_name="r1")


def test_refine_stage_is_byte_identical_for_the_same_seed(planted, tmp_path):
    """The stage end to end with the oracle: same params and seed, same bytes."""
    import yaml

    from ilr.core.io import write_jsonl
    from stages.refine import main

    gold, labels, proposals, wrong = planted
    params = yaml.safe_load(open("params.yaml"))
    params["feedback"].update(kind="oracle", oracle={"flip_rate": 0.2})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    write_jsonl(tmp_path / "gold.jsonl", gold)
    write_jsonl(tmp_path / "r0.jsonl", labels)
    write_jsonl(tmp_path / "proposals.jsonl", _proposal_records(proposals))
    outputs = []
    for run in ("a", "b"):
        main(["--params", str(tmp_path / "params.yaml"), "--round", "r1",
              "--labels", str(tmp_path / "r0.jsonl"), "--proposals", str(tmp_path / "proposals.jsonl"),
              "--gold", str(tmp_path / "gold.jsonl"), "--out", str(tmp_path / f"{run}.jsonl"),
              "--audit", str(tmp_path / f"{run}.audit.jsonl"), "--metrics", str(tmp_path / f"{run}.json"),
              "--quality", str(tmp_path / f"{run}.quality.json")])
        outputs.append([(tmp_path / f"{run}{ext}").read_bytes() for ext in (".jsonl", ".audit.jsonl", ".json")])
    assert outputs[0] == outputs[1]
    audit = [json.loads(line) for line in outputs[0][1].decode().splitlines()]
    assert {a["id"] for a in audit} == wrong and 0 < sum(a["accepted"] for a in audit) < len(wrong)


def test_oracle_with_compared_scope_still_replaces(planted):
    """Regression: an oracle's tied 0/1 scores put the (1 - alpha) quantile at 1.0, and a
    threshold read as `score > quantile` accepted nothing; the cap is a count of the compared."""
    gold, labels, proposals, wrong = planted
    compared = find_compared(labels, proposals, same_answer=TASK.same_answer)
    scores = oracle_scores(compared, {g["id"]: g for g in gold}, task=TASK, flip_rate=0.0, seed=0)
    assert reference_threshold(scores, alpha=0.15) == 1.0  # the trap
    accepted = select_replacements(compared, scores, n_labels=len(labels), alpha=0.15,
                                   alpha_scope="compared")
    assert sum(accepted) == int(0.15 * len(compared)) > 0
    assert all(s == 1.0 for s, ok in zip(scores, accepted) if ok)


def test_reference_naive_mode_replaces_a_random_share_of_all_labels(planted):
    """The reference code's ablation: no difference filter, alpha of *all* labels, at random;
    proposals with the same answer count among the replaced."""
    gold, labels, proposals, wrong = planted
    proposal_records = [{"id": k, "proposal": v} for k, v in proposals.items()]

    def never(items):
        raise AssertionError("naive_reference asked the feedback")

    new, audit, counts = refine_round(labels, proposal_records, same_answer=TASK.same_answer,
                                      score=never, grade=TASK.grade, gold=gold, alpha=0.15,
                                      mode="naive_reference", seed=0, round_name="n1")
    assert counts["n_compared"] == len(labels)  # every label is a candidate
    assert counts["n_replaced"] == int(0.15 * len(labels))
    replaced = {a["id"] for a in audit if a["accepted"]}
    assert replaced - wrong  # some same-answer labels were replaced too
    again = refine_round(labels, proposal_records, same_answer=TASK.same_answer, score=never,
                         grade=TASK.grade, gold=gold, alpha=0.15, mode="naive_reference", seed=0,
                         round_name="n1")
    assert again[0] == new
