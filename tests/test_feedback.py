import json
import math

import pytest

from ilr.core.io import DataFileError
from ilr.core.params import FeedbackParams, OracleParams, TaskParams
from ilr.method.comparison import render_comparison, score_both_orders
from ilr.method.feedback import (build_check_items, file_scores, measure_feedback, oracle_scores,
                          read_judgments, score_items)
from ilr.method.noise import corrupt_records
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params
from ilr.train.feedback_model import build_examples, build_preference_pairs, split_heldout

TASK = task_from_params(TaskParams())


@pytest.fixture(scope="module")
def gold():
    return generate_records(ArithSpec(), n=1000, seed=0, split="train")


@pytest.fixture(scope="module")
def noisy(gold):
    return corrupt_records(gold, error_rate=0.5, mix={"slip": 1, "wrong_op": 1, "misread": 1}, seed=0)[0]


def _fake_acceptor(prefer_position_a: bool):
    """A judge with pure position bias: it always keeps (A), or always switches to (B)."""
    def accept(texts):
        assert all("Answer (A):" in t and "Answer (B):" in t for t in texts)
        return [0.0 if prefer_position_a else 1.0 for _ in texts]
    return accept


@pytest.mark.parametrize("prefer_a", [True, False])
def test_position_bias_averages_to_one_half(prefer_a):
    items = [{"id": "1", "prompt": "q", "label": "#### 1", "proposal": "#### 2"}] * 3
    assert score_both_orders(items, _fake_acceptor(prefer_a)) == [0.5, 0.5, 0.5]


def test_both_orders_are_really_reversed():
    seen = []

    def accept(texts):
        seen.append(texts)
        return [0.9] * len(texts)

    item = {"id": "1", "prompt": "Q?", "label": "old answer", "proposal": "new answer"}
    score_both_orders([item], accept)
    forward, reverse = seen[0][0], seen[1][0]
    assert forward == render_comparison("Q?", "old answer", "new answer")
    assert reverse == render_comparison("Q?", "new answer", "old answer")
    assert forward.index("old answer") < forward.index("new answer")
    assert reverse.index("new answer") < reverse.index("old answer")


def test_both_order_scores_of_the_two_roles_sum_to_one(gold, noisy):
    """Why metrics/feedback.json reports n_labels: the two roles of a label are not independent."""
    items = build_check_items(noisy, gold, task=TASK, n=10, seed=0)
    scores = score_both_orders(items, lambda texts: [(len(t) % 7) / 7 for t in texts])
    for a, b in zip(scores[::2], scores[1::2]):
        assert a + b == pytest.approx(1.0)


def test_a_judge_that_reads_content_is_kept():
    def accept(texts):  # accepts (B) iff (B) ends in the right answer 7
        return [1.0 if t.split("Answer (B):")[1].split("\n")[0].strip().endswith("7") else 0.0 for t in texts]
    items = [{"id": "1", "prompt": "q", "label": "#### 3", "proposal": "#### 7"},
             {"id": "2", "prompt": "q", "label": "#### 7", "proposal": "#### 3"}]
    assert score_both_orders(items, accept) == [1.0, 0.0]


@pytest.mark.parametrize("flip_rate", [0.0, 0.2, 0.4])
def test_oracle_accuracy_is_one_minus_flip_rate(gold, noisy, flip_rate):
    items = build_check_items(noisy, gold, task=TASK, n=1000, seed=0)
    assert len(items) == 2 * sum(lab["error"] is not None for lab in noisy)
    scores = oracle_scores(items, {g["id"]: g for g in gold}, task=TASK, flip_rate=flip_rate, seed=3)
    measured = measure_feedback(items, scores)
    assert measured["n_labels"] * 2 == measured["n_items"] == len(items)
    acc = measured["accuracy"]
    se = math.sqrt(flip_rate * (1 - flip_rate) / len(items)) or 1e-9
    assert abs(acc - (1 - flip_rate)) <= max(3 * se, 1e-9)


def test_oracle_ties_never_win(gold):
    g = gold[0]
    items = [{"id": g["id"], "prompt": g["prompt"], "label": g["response"], "proposal": g["response"] + " "}]
    assert oracle_scores(items, {g["id"]: g}, task=TASK, flip_rate=0.0, seed=0) == [0.5]


def test_file_judgments(tmp_path, gold):
    path = tmp_path / "judgments.jsonl"
    path.write_text("\n".join(json.dumps(j) for j in [
        {"id": gold[0]["id"], "choice": "proposal", "seconds": 12.5},
        {"id": gold[1]["id"], "choice": "label", "seconds": 3}]))
    items = [{"id": gold[i]["id"], "prompt": "", "label": "", "proposal": ""} for i in (0, 1)]
    params = FeedbackParams(kind="file")
    assert score_items(items, params=params, task=TASK, gold=gold, seed=0,
                       judgments=str(path)) == [1.0, 0.0]
    with pytest.raises(ValueError, match="feedback.kind is 'file' but no --judgments file was given"):
        score_items(items, params=params, task=TASK, gold=gold, seed=0)
    with pytest.raises(DataFileError, match="no judgment for 1 compared item"):
        file_scores(items + [{"id": gold[2]["id"]}], read_judgments(str(path), {g["id"] for g in gold}), path=str(path))


@pytest.mark.parametrize("line,message", [
    ({"id": "not-a-gold-id", "choice": "proposal", "seconds": 1},
     r"not among the gold training prompts.*not-a-gold-id"),
    ({"id": "arith-train-00000", "choice": "B", "seconds": 1},
     r"j.jsonl:1: id 'arith-train-00000': choice must be one of \['proposal', 'label'\], got 'B'"),
    ({"id": "arith-train-00000", "choice": "proposal"}, r"j.jsonl:1: missing field\(s\) \['seconds'\]"),
    ({"id": "arith-train-00000", "choice": "label", "seconds": -3},
     r"j.jsonl:1: id 'arith-train-00000': seconds must be a number >= 0.*got -3"),
    ({"id": "arith-train-00000", "choice": "label", "seconds": "12"}, r"seconds must be a number >= 0.*got '12'"),
    ({"id": "arith-train-00000", "choice": "label", "seconds": None}, r"seconds must be a number >= 0.*got None"),
    ({"id": "arith-train-00000", "choice": "label", "seconds": True}, r"seconds must be a number >= 0.*got True"),
    ({"id": "arith-train-00000", "choice": None, "seconds": 1}, r"j.jsonl:1: id 'arith-train-00000': choice must be a string"),
])
def test_file_judgments_reject_bad_lines(tmp_path, gold, line, message):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(DataFileError, match=message):
        read_judgments(str(path), {g["id"] for g in gold})


def test_file_judgments_reject_non_finite_seconds(tmp_path, gold):
    path = tmp_path / "j.jsonl"
    path.write_text('{"id": "arith-train-00000", "choice": "label", "seconds": NaN}\n')
    with pytest.raises(DataFileError, match="seconds must be a number >= 0.*got nan"):
        read_judgments(str(path), {g["id"] for g in gold})


def test_file_judgments_must_match_the_compared_items(tmp_path, gold):
    """Missing and extra judgments are both reported, with counts and examples."""
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps({"id": gold[i]["id"], "choice": "label", "seconds": 2}) + "\n"
                            for i in (0, 1, 2)))
    params = FeedbackParams(kind="file")
    items = [{"id": gold[i]["id"], "prompt": "", "label": "", "proposal": ""} for i in (0, 3, 4)]
    with pytest.raises(DataFileError) as caught:
        score_items(items, params=params, task=TASK, gold=gold, seed=0, judgments=str(path))
    message = str(caught.value)
    assert f"no judgment for 2 compared item(s), e.g. {[gold[3]['id'], gold[4]['id']]}" in message
    assert f"2 judgment(s) for items not compared here, e.g. {[gold[1]['id'], gold[2]['id']]}" in message
    with pytest.raises(DataFileError, match=r"3 judgment\(s\) for items not compared here"):
        score_items([], params=params, task=TASK, gold=gold, seed=0,
                    judgments=str(path))  # a round that compares nothing
    path.write_text("")
    assert score_items([], params=params, task=TASK, gold=gold, seed=0, judgments=str(path)) == []


def test_classifier_pairs_are_the_reference_kinds_in_both_orders(gold):
    """Per prompt: gold > each wrong answer, each right (non-gold) answer > each wrong one, gold >
    each right one; identical texts collapse; every pair is shown in both orders."""
    g0, g1 = gold[0], gold[1]
    right = g0["response"] + " "  # gold's text once stripped: makes no pair
    outputs = [{"id": g0["id"], "response": "#### -1", "correct": False},
               {"id": g0["id"], "response": "#### -1", "correct": False},  # a duplicate
               {"id": g0["id"], "response": "#### -2", "correct": False},
               {"id": g0["id"], "response": right, "correct": True},  # gold itself: no pair
               {"id": g1["id"], "response": "so #### " + g1["answer"], "correct": True},
               {"id": g1["id"], "response": "#### -3", "correct": False}]
    pairs = build_preference_pairs(outputs, gold, n_pairs=100, seed=0)
    kinds = sorted((p["id"], p["kind"]) for p in pairs)
    assert kinds == sorted([(g0["id"], "gold>wrong")] * 2 + [(g1["id"], "gold>wrong"),
                                                            (g1["id"], "right>wrong"),
                                                            (g1["id"], "gold>right")])
    examples = build_examples(pairs)
    assert len(examples) == 2 * len(pairs) and sum(e["label"] for e in examples) == len(pairs)
    for p, accept, refuse in zip(pairs, examples[::2], examples[1::2]):
        assert accept == {"text": render_comparison(p["prompt"], p["worse"], p["better"]), "label": 1}
        assert refuse == {"text": render_comparison(p["prompt"], p["better"], p["worse"]), "label": 0}
    assert len(build_preference_pairs(outputs, gold, n_pairs=2, seed=0)) == 2


def test_heldout_split_is_by_prompt(gold):
    pairs = [{"id": g["id"], "kind": "gold>wrong"} for g in gold[:50] for _ in range(3)]
    train, heldout = split_heldout(pairs, share=0.1, seed=0)
    assert len({p["id"] for p in heldout}) == 5 and len(train) + len(heldout) == 150
    assert not {p["id"] for p in train} & {p["id"] for p in heldout}


def test_oracle_via_score_items(gold, noisy):
    items = build_check_items(noisy, gold, task=TASK, n=20, seed=0)
    scores = score_items(items, params=FeedbackParams(kind="oracle", oracle=OracleParams(flip_rate=0.0)),
                         task=TASK, gold=gold, seed=0)
    assert measure_feedback(items, scores)["accuracy"] == 1.0
