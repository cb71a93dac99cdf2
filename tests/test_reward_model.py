"""The reward-model head (feedback_model.head: reward), trained for real through TRL's
RewardTrainer on the same tiny planted task as the classifier (the embedded model)."""
import pytest

from ilr.core.params import FeedbackModelParams, FeedbackParams, TaskParams
from ilr.measure.reliability import measure_decisions
from ilr.method.feedback import score_items
from ilr.tasks.task import task_from_params
from ilr.train.feedback_model import pair_items
from ilr.train.reward_model import build_reward_examples, is_reward_model, reward_scorer_from, train_reward_model
from ilr.train.scorers import load_item_scorer
from test_feedback_model import _planted_pairs


@pytest.fixture(scope="module")
def trained(embedded_model_dir, tmp_path_factory):
    pairs = _planted_pairs()
    train, heldout = pairs[:18], pairs[18:]
    params = FeedbackModelParams(head="reward", max_length=64, args={
        "num_train_epochs": 4, "learning_rate": 3e-4, "per_device_train_batch_size": 8,
        "warmup_steps": 0, "logging_steps": 1})
    out = tmp_path_factory.mktemp("reward") / "model"
    log = train_reward_model(embedded_model_dir, train, heldout, params=params, out=str(out), seed=0)
    return log, heldout, str(out)


def test_rows_put_the_better_answer_as_chosen():
    rows = build_reward_examples(_planted_pairs()[:1])
    assert rows[0]["chosen"].endswith("correct") and rows[0]["rejected"].endswith("wrong")
    assert rows[0]["prompt"].startswith("Question: What is the word number 0?")


def test_a_planted_separable_signal_is_learned_and_scores_are_antisymmetric(trained):
    log, heldout, _ = trained
    items = pair_items(heldout)  # both roles: the better answer as proposal, then as label
    scores = reward_scorer_from(log["model"], log["tokenizer"])(items)
    assert measure_decisions([i["want"] for i in items], scores)["accuracy"] > 0.9
    for forward, reverse in zip(scores[::2], scores[1::2]):  # sigmoid(rB - rA) = 1 - sigmoid(rA - rB)
        assert forward + reverse == pytest.approx(1.0, abs=1e-5)
    assert any("eval_loss" in row for row in log["curve"])  # early stopping saw the held-out pairs


def test_the_saved_reward_model_scores_as_the_trained_one_through_the_feedback(trained):
    """Saved, it is recognised as a reward model and `feedback.kind: classifier` scores with it."""
    log, heldout, out = trained
    items = pair_items(heldout)
    assert is_reward_model(out)
    in_memory = reward_scorer_from(log["model"], log["tokenizer"])(items)
    assert load_item_scorer(out)(items) == pytest.approx(in_memory, abs=1e-5)
    gold = [{"id": p["id"], "prompt": p["prompt"], "response": p["better"]} for p in heldout]
    via_feedback = score_items(items, params=FeedbackParams(kind="classifier"),
                               task=task_from_params(TaskParams()), gold=gold, seed=0, classifier=out)
    assert via_feedback == pytest.approx(in_memory, abs=1e-5)
