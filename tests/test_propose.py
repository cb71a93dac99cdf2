"""Cross-labeling: each half's model proposes only for the half it did not see."""
import pytest

import ilr.method.propose as propose_module
from ilr.core.params import GenerationParams, SftParams, TaskParams
from ilr.method.propose import propose_labels, split_halves
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params

TASK = task_from_params(TaskParams())


@pytest.fixture(scope="module")
def labels():
    return [{**r, "source": "test"} for r in generate_records(ArithSpec(), n=41, seed=0, split="train")]


def test_halves_are_disjoint_seeded_and_change_per_round(labels):
    a, b = split_halves(labels, seed=0, version="r0")
    assert len(a) == 20 and len(b) == 21
    assert {r["id"] for r in a} | {r["id"] for r in b} == {r["id"] for r in labels}
    assert not {r["id"] for r in a} & {r["id"] for r in b}
    assert (a, b) == split_halves(labels, seed=0, version="r0")
    assert a != split_halves(labels, seed=0, version="r1")[0]


def test_each_model_proposes_for_the_other_half(monkeypatch, labels):
    trained_on, asked = [], []

    class FakeTrainer:
        def __init__(self, records):
            self.model = {r["id"] for r in records}

    def fake_trainer(base, records, **kwargs):
        trained_on.append({r["id"] for r in records})
        return FakeTrainer(records), None, None

    def fake_generate(model, tokenizer, conversations, **kwargs):
        prompts = [c[-1]["content"] for c in conversations]
        asked.append({r["id"] for r in labels if r["prompt"] in prompts})
        assert not asked[-1] & model  # never asked about what it was trained on
        return [{"text": "#### 1", "n_tokens": 2} for _ in conversations]

    monkeypatch.setattr(propose_module, "run_sft_trainer", fake_trainer)
    monkeypatch.setattr(propose_module, "generate_responses", fake_generate)
    proposals = propose_labels("base", labels, task=TASK, sft=SftParams(), seed=0, version="r0",
                               generation=GenerationParams())
    assert [p["id"] for p in proposals] == [r["id"] for r in labels]
    assert asked == [trained_on[1], trained_on[0]]
    assert trained_on[0] | trained_on[1] == {r["id"] for r in labels}
