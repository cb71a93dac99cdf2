import json

import pytest

import ilr.train.supervisor as supervisor_module
from ilr.core.io import DataFileError
from ilr.core.params import NoiseParams, Params, SuperviseParams, SupervisorParams, TaskParams
from ilr.method.supervise import measure_labels, read_label_file, supervise_labels
from ilr.tasks.task import load_gold_records, task_from_params
from ilr.train.supervisor import split_half_a, train_supervisor

TASK = task_from_params(TaskParams())


@pytest.fixture(scope="module")
def splits():
    return load_gold_records(TaskParams(n_train=60, n_test=10, n_supervisor=40), seed=0)


def test_noise_kind_labels_and_label_accuracy(splits):
    params = Params(supervise=SuperviseParams(kind="noise", noise=NoiseParams(error_rate=0.25)))
    labels, report = supervise_labels(splits["train"], task=TASK, params=params)
    assert report["n_corrupted"] == 15
    metrics = measure_labels(labels, splits["train"], task=TASK)
    assert metrics == {"n": 60, "label_accuracy": 0.75, "has_final_answer": 1.0,
                       "answer_extracted": 1.0}


def test_file_kind_reads_human_demonstrations(tmp_path, splits):
    path = tmp_path / "human.jsonl"
    gold = splits["train"]
    path.write_text("\n".join(json.dumps({"id": g["id"], "response": "#### 0"}) for g in gold[:5]))
    params = Params(supervise=SuperviseParams(kind="file"))
    labels, _ = supervise_labels(gold, task=TASK, params=params, label_file=str(path))
    assert [lab["prompt"] for lab in labels] == [g["prompt"] for g in gold[:5]]
    assert all(lab["source"] == "file" for lab in labels)


@pytest.mark.parametrize("line,message", [
    ({"id": "arith-test-00000", "response": "#### 1"}, r"not among the gold training prompts.*arith-test-00000"),
    ({"id": "arith-train-00000", "prompt": "another question", "response": "#### 1"}, r"prompt differs"),
    ({"id": "arith-train-00000", "response": "  "}, r"non-empty string"),
])
def test_file_kind_rejects_bad_lines(tmp_path, splits, line, message):
    path = tmp_path / "human.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(DataFileError, match=message):
        read_label_file(str(path), splits["train"])


def test_model_supervisor_trains_only_on_half_a(monkeypatch, splits):
    seen = {}

    def fake_trainer(base, records, **kwargs):
        seen["records"] = records
        raise StopIteration  # stop before any real training

    monkeypatch.setattr(supervisor_module, "run_sft_trainer", fake_trainer)
    params = Params(supervisor=SupervisorParams(n_train=25))
    with pytest.raises(StopIteration):
        train_supervisor("unused", splits["supervisor"], task=TASK, params=params, out="unused")
    half_a = {r["id"] for r in splits["supervisor"]}
    trained = {r["id"] for r in seen["records"]}
    assert len(trained) == 25 and trained <= half_a
    assert not trained & {r["id"] for r in splits["train"]}


def test_half_a_split_holds_back_the_rest(splits):
    train, held = split_half_a(splits["supervisor"], n_train=30, seed=0)
    assert len(train) == 30 and len(held) == 10 and not {r["id"] for r in train} & {r["id"] for r in held}
    with pytest.raises(ValueError, match="supervisor.n_train"):
        split_half_a(splits["supervisor"], n_train=41, seed=0)


def test_model_kind_labels_only_half_b(monkeypatch, splits):
    import ilr.engines.generation

    prompts = []

    def fake_generate(model, tokenizer, conversations, **kwargs):
        prompts.extend(c[-1]["content"] for c in conversations)
        return [{"text": "#### 1", "n_tokens": 3} for _ in conversations]

    monkeypatch.setattr(ilr.engines.generation, "generate_responses", fake_generate)
    from ilr.method.supervise import write_model_labels

    labels = write_model_labels(None, None, splits["train"], task=TASK, params=Params())
    assert prompts == [r["prompt"] for r in splits["train"]]
    assert [lab["id"] for lab in labels] == [r["id"] for r in splits["train"]]


def test_supervisor_layers_trains_the_cut_base(monkeypatch, splits):
    """supervisor.layers: k: the trainer gets the base cut to k layers, not the base itself."""
    seen = {}

    def fake_cut(source, *, layers, out):
        seen["cut"] = (source, layers)
        return {"layers": layers, "of_layers": 30, "parameters": 1}

    def fake_trainer(base, records, **kwargs):
        seen["base"] = base
        raise StopIteration

    monkeypatch.setattr(supervisor_module, "save_first_layers", fake_cut)
    monkeypatch.setattr(supervisor_module, "run_sft_trainer", fake_trainer)
    params = Params(supervisor=SupervisorParams(n_train=25, layers=6))
    with pytest.raises(StopIteration):
        train_supervisor("models/base", splits["supervisor"], task=TASK, params=params, out="x")
    assert seen["cut"] == ("models/base", 6)
    assert seen["base"] != "models/base" and seen["base"].endswith("first-layers")
