"""End to end: `dvc repro` in a temporary copy of the repo, tiny sizes, real SFT steps on the embedded model."""
import json
import re
import subprocess

import pytest
import yaml

from browser import dump_dom, screenshot
from tiny import DPO_ROUNDS, ROUNDS, command_env, run as _run


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_repro_builds_every_output(tiny_repo):
    for model in ("base", "sft/gold", "sft/r0", "supervisor", "feedback"):
        assert (tiny_repo / f"models/{model}/model.safetensors").is_file(), model
    for trained in ("gold", "r0", "feedback"):  # each trainer's loss curve, for dvc plots
        assert (tiny_repo / f"plots/train/{trained}/plots/metrics/loss.tsv").is_file(), trained
    assert len(_read(tiny_repo / "data/gold/train.jsonl")) == 8
    for name, path in (("base", "base"), ("supervisor", "supervisor"), ("gold", "gold"),
                       ("r0", "rounds/r0")):
        metrics = json.loads((tiny_repo / f"metrics/{path}.json").read_text())
        assert metrics["n"] == 6 and 0 <= metrics["accuracy"] <= 1
        predictions = (tiny_repo / f"data/predictions/{name}.jsonl").read_text().splitlines()
        assert len(predictions) == 6


def test_weak_supervision_outputs(tiny_repo):
    train_ids = [r["id"] for r in _read(tiny_repo / "data/gold/train.jsonl")]
    half_a = {r["id"] for r in _read(tiny_repo / "data/gold/supervisor.jsonl")}
    labels = _read(tiny_repo / "data/labels/r0.jsonl")
    assert [lab["id"] for lab in labels] == train_ids  # the supervisor labels half B
    assert all(lab["source"] == "model" for lab in labels)
    outputs = _read(tiny_repo / "data/supervisor/outputs.jsonl")
    assert {o["id"] for o in outputs} <= half_a  # its checkpoints answer held-back half A
    assert len({o["checkpoint"] for o in outputs}) == 2  # a checkpoint every step (2 steps)
    label_metrics = json.loads((tiny_repo / "metrics/labels/r0.json").read_text())
    assert label_metrics["n"] == 8 and 0 <= label_metrics["label_accuracy"] <= 1
    feedback = json.loads((tiny_repo / "metrics/feedback.json").read_text())
    assert feedback["kind"] == "classifier"  # the quick profile's feedback
    for measured in (feedback["decided"], feedback["classifier"]["heldout"]):
        assert measured["n_items"] == 0 or 0 <= measured["accuracy"] <= 1


def _dry_run_stages(repo, section, key, value):
    params_path = repo / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params[section][key] = value
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        return set(re.findall(r"Running stage '([^']+)'", _run(["dvc", "repro", "--dry"], repo)))
    finally:
        params_path.write_text(original)


def test_changing_supervise_kind_reruns_only_what_depends_on_it(tiny_repo):
    """Only `supervise` itself is out of date; the stages after it (sft@r0, evaluate@r0,
    feedback) rerun only if its labels change, and the supervisor, the feedback model and the
    gold-SFT model are untouched."""
    assert _dry_run_stages(tiny_repo, "supervise", "kind", "noise") == {"supervise"}
    downstream = _run(["dvc", "dag", "--outs", "--dot"], tiny_repo)
    assert '"data/labels/r0.jsonl" -> "models/sft/r0"' in downstream
    assert '"data/labels/r0.jsonl" -> "metrics/feedback.json"' in downstream
    assert '"data/labels/r0.jsonl" -> "models/feedback"' not in downstream


def test_changing_feedback_kind_reruns_only_the_feedback_and_refine_stages(tiny_repo):
    assert _dry_run_stages(tiny_repo, "feedback", "kind", "oracle") == {
        "feedback", *(f"refine@{name}" for name in ROUNDS), *(f"dpo_pairs@{n}" for n in DPO_ROUNDS)}


def test_sft_changed_the_model(tiny_repo):
    from safetensors.torch import load_file

    base = load_file(tiny_repo / "models/base/model.safetensors")
    sft = load_file(tiny_repo / "models/sft/gold/model.safetensors")
    assert set(base) == set(sft)
    assert any(not (base[k] == sft[k]).all() for k in base)


def test_metrics_show_lists_base_and_sft(tiny_repo):
    out = _run(["dvc", "metrics", "show", "--json"], tiny_repo)
    shown = json.dumps(json.loads(out))
    for name in ("base", "gold", "rounds/r0", "supervisor", "labels/r0", "feedback"):
        assert f"metrics/{name}.json" in shown, name


def test_second_repro_is_a_no_op(tiny_repo):
    out = _run(["dvc", "repro"], tiny_repo)
    assert "Running stage" not in out
    assert "up to date" in _run(["dvc", "status"], tiny_repo)


def test_models_are_not_stored_twice(tiny_repo):
    """The cache links into the workspace (hardlink), so a model costs its size once."""
    weights = tiny_repo / "models/base/model.safetensors"
    assert weights.stat().st_nlink == 2 or weights.is_symlink()


def _stages_run(log):
    return set(re.findall(r"Running stage '([^']+)'", log))


def test_one_rounds_stage_runs_only_what_it_needs(tiny_repo):
    ran = _stages_run((tiny_repo / ".first-repro.log").read_text())
    assert ran == {"base_model", "prepare", "supervisor", "supervise", "feedback_model",
                   "propose@r0", "refine@r1", "propose@r1", "refine@r2"}


def test_every_round_writes_labels_audit_and_metrics(tiny_repo):
    r0 = _read(tiny_repo / "data/labels/r0.jsonl")
    for name, item in ROUNDS.items():
        labels = _read(tiny_repo / f"data/labels/{name}.jsonl")
        assert [(lab["id"], lab["prompt"]) for lab in labels] == [(lab["id"], lab["prompt"]) for lab in r0]
        proposals = _read(tiny_repo / f"data/proposals/{item['prev']}.jsonl")
        assert {p["id"] for p in proposals} == {lab["id"] for lab in r0}
        audit = (tiny_repo / f"data/audit/{name}.jsonl").read_text().splitlines()
        metrics = json.loads((tiny_repo / f"metrics/labels/{name}.json").read_text())
        assert metrics["n_compared"] == len(audit) and metrics["mode"] == item["mode"]
        assert metrics["n_replaced"] <= 2 and metrics["share_replaced"] <= 0.25
        prev = {lab["id"]: lab["response"] for lab in _read(tiny_repo / f"data/labels/{item['prev']}.jsonl")}
        changed = {lab["id"] for lab in labels if lab["response"] != prev[lab["id"]]}
        assert changed == {json.loads(a)["id"] for a in audit if json.loads(a)["accepted"]}
        test = json.loads((tiny_repo / f"metrics/rounds/{name}.json").read_text())
        assert 0 <= test["accuracy"] <= 1 and test["n"] == 6 and test["dtype"] == "float32"
        assert (tiny_repo / f"models/sft/{name}/model.safetensors").is_file()
    lock = yaml.safe_load((tiny_repo / "dvc.lock").read_text())["stages"]
    for version in ("r0", "r1"):  # the half models are intermediates: only the proposals are cached
        assert [o["path"] for o in lock[f"propose@{version}"]["outs"]] == [f"data/proposals/{version}.jsonl"]


def test_metrics_show_lists_every_round(tiny_repo):
    shown = json.dumps(json.loads(_run(["dvc", "metrics", "show", "--json"], tiny_repo)))
    for name in ROUNDS:
        assert f"metrics/rounds/{name}.json" in shown and f"metrics/labels/{name}.json" in shown
    for version in ("gold", "r0", *ROUNDS):  # the data-quality gates' summaries
        assert f"metrics/quality/{version}.json" in shown
    assert "expect_column_values_to_be_unique.id" in shown


def test_metrics_show_has_each_figure_once(tiny_repo):
    """Label metrics only in labels/<r>.json, a model's test metrics only in its own file, and
    the summary table (built from them) not a metrics file at all."""
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], tiny_repo))
    files = {path: data["data"] for run in shown.values() for path, data in run["data"].items()}
    assert "reports/summary.json" not in files and "metrics/summary.json" not in files
    for path, data in files.items():
        keys = set(data)
        if path.startswith("metrics/labels/"):
            assert "accuracy" not in keys and "test_accuracy" not in keys
        elif not path.startswith("metrics/quality/"):
            assert not keys & {"label_accuracy", "n_replaced", "n_fixed"}, path
    for version in ("r0", *ROUNDS):  # round 0 in the layout of every round
        assert {"accuracy", "has_final_answer", "dtype"} <= set(files[f"metrics/rounds/{version}.json"])


def test_plots_show_renders_the_round_curves(tiny_repo):
    rows = (tiny_repo / "plots/rounds/ilr.csv").read_text().splitlines()
    assert rows[0].startswith("arm,round,name,test_accuracy,label_accuracy,kl")
    assert [r.split(",")[2] for r in rows[1:]] == ["r0", "r1", "r2"]
    assert [r.split(",")[2] for r in (tiny_repo / "plots/rounds/naive.csv").read_text().splitlines()[1:]] == ["r0"]
    assert [r.split(",")[2] for r in (tiny_repo / "plots/rounds/dpo.csv").read_text().splitlines()[1:]] == ["r0", "d1"]
    _run(["dvc", "plots", "show", "-o", "plots-html"], tiny_repo)
    page = (tiny_repo / "plots-html/index.html").read_text()
    assert "test accuracy by round" in page and "label accuracy by round" in page
    assert "test accuracy against KL" in page
    assert "cdn.jsdelivr" not in page  # the libraries are inline (templates/plots.html)


def test_the_report_opens_with_its_charts_drawn(tiny_repo, tmp_path):
    """The quick profile's report in headless Chromium, as a newcomer opens it."""
    page = tiny_repo / "reports/ilr.html"
    width, height = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    assert (width, height) == (1280, 1800) and (tmp_path / "report.png").stat().st_size > 30_000
    dom = dump_dom(page, tmp_path / "profile")
    assert dom.count("<svg") >= 3 and 'id="rounds"' in dom
    for name in ("r1", "r2", "d1"):
        assert f">{name}<" in dom


def test_dpo_arm_and_summary(tiny_repo):
    pairs = _read(tiny_repo / "data/dpo/d1.jsonl") if (tiny_repo / "data/dpo/d1.jsonl").read_text() else []
    assert all(p["chosen"] != p["rejected"] for p in pairs)
    assert (tiny_repo / "models/dpo/d1/model.safetensors").is_file()
    summary = json.loads((tiny_repo / "reports/summary.json").read_text())
    assert set(summary) == {"sft/r0", "ilr/r1", "ilr/r2", "dpo/d1"}
    for name in ("r1", "r2", "d1"):
        kl = json.loads((tiny_repo / f"metrics/kl/{name}.json").read_text())
        assert kl["n"] == 4 and kl["kl_se"] >= 0
    assert (tiny_repo / "reports/ilr.html").read_text().count("<svg") >= 3


def test_changing_beta_reruns_only_dpo_stages(tiny_repo):
    ran = _dry_run_stages(tiny_repo, "dpo", "args", {**yaml.safe_load(
        (tiny_repo / "params.yaml").read_text())["dpo"]["args"], "beta": 0.5})
    assert ran == {"dpo@d1"}  # dvc's --dry does not cascade; what follows is in the dag:
    downstream = _run(["dvc", "dag", "--outs", "--dot"], tiny_repo)
    assert '"models/dpo/d1" -> "metrics/dpo/d1.json"' in downstream
    assert '"models/dpo/d1" -> "metrics/kl/d1.json"' in downstream
    assert not re.search(r'"models/dpo/d1" -> "(models/sft|data/labels|data/proposals)', downstream)


def test_a_hand_edited_label_file_fails_at_the_gate(tiny_repo):
    """A label file with a row duplicated or deleted by hand (here a user's file for
    `supervise.kind: file`, inputs/labels.jsonl) stops `dvc repro` at the gate, naming the
    expectation and the id; the last good label version stays in git (label versions are
    `cache: false` outputs, committed with each run)."""
    params_path, human = tiny_repo / "params.yaml", tiny_repo / "inputs/labels.jsonl"
    original, before = params_path.read_text(), (tiny_repo / "data/labels/r0.jsonl").read_bytes()
    placeholder = human.read_bytes()
    lines = before.decode().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    params = yaml.safe_load(original)
    params["supervise"]["kind"] = "file"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    env = command_env(tiny_repo)
    try:
        for edited, expected in ((lines + [lines[3]], f"expect_column_values_to_be_unique(id): 2 unexpected, ids ['{ids[3]}']"),
                                 (lines[:2] + lines[3:], f"missing {ids[2]}")):
            human.write_text("\n".join(edited) + "\n")
            result = subprocess.run(["dvc", "repro", "supervise"], cwd=tiny_repo, env=env,
                                    capture_output=True, text=True)
            assert result.returncode != 0 and expected in result.stdout + result.stderr
            # dvc removes a stage's outputs before running it; the last good version is in
            # git, unchanged, and comes back with `git checkout`
            subprocess.run(["git", "checkout", "--", "data/labels/r0.jsonl"], cwd=tiny_repo,
                           env=env, check=True, capture_output=True)
            assert (tiny_repo / "data/labels/r0.jsonl").read_bytes() == before
    finally:
        params_path.write_text(original)
        human.write_bytes(placeholder)
        # its metrics are cache: false, so git (the fixture's commit) brings them back
        _run(["git", "checkout", "--", "metrics/labels/r0.json", "metrics/quality/r0.json"],
             tiny_repo)
    assert "up to date" in _run(["dvc", "status"], tiny_repo)


def _downstream(repo, stage) -> set[str]:
    """The stages that `dvc repro` reruns after ``stage`` when its outputs change."""
    edges = re.findall(r'"([^"]+)" -> "([^"]+)"', _run(["dvc", "dag", "--dot"], repo))
    found, todo = set(), [stage]
    while todo:
        current = todo.pop()
        for a, b in edges:
            if a == current and b not in found:
                found.add(b)
                todo.append(b)
    return found


UPSTREAM = {"base_model", "prepare", "supervisor", "feedback_model", "sft@gold", "evaluate@base",
            "evaluate@supervisor", "evaluate@gold"}


@pytest.mark.parametrize("path,stage", [("inputs/judgments/r1.jsonl", "refine@r1"),
                                        ("inputs/labels.jsonl", "supervise"),
                                        ("inputs/gsm8k/train.jsonl", "prepare")])  # a new file
def test_editing_a_user_file_makes_only_its_readers_stale(tiny_repo, path, stage):
    """After a user edits a file under inputs/, `dvc status` lists the stage that reads it and
    nothing else; `dvc repro` reruns it, then what follows it wherever its outputs change."""
    file = tiny_repo / path
    before = file.read_bytes() if file.exists() else None
    with open(file, "a") as f:
        f.write('{"id": "arith-train-00000", "choice": "label", "seconds": 1}\n')
    try:
        status = json.loads(_run(["dvc", "status", "--json"], tiny_repo))
    finally:
        file.write_bytes(before) if before is not None else file.unlink()
    assert set(status) == {stage}, status
    assert "up to date" in _run(["dvc", "status"], tiny_repo)
    stages = set(yaml.safe_load((tiny_repo / "dvc.lock").read_text())["stages"])
    assert _downstream(tiny_repo, stage) == {
        "refine@r1": {"round_sft@r1", "round_evaluate@r1", "round_kl@r1", "propose@r1",
                      "refine@r2", "round_sft@r2", "round_evaluate@r2", "round_kl@r2", "compare",
                      "report"},
        "supervise": stages - UPSTREAM - {"supervise"},
        "prepare": stages - {"base_model", "prepare"}}[stage]


@pytest.mark.slow
def test_changing_alpha_shows_per_round_metric_changes(tiny_repo):
    """`dvc metrics diff` after a new alpha is committed lists the rounds that changed: the
    naive round replaces min(compared, cap) labels, so a smaller cap shows in n_replaced."""
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm"]
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["rounds"]["n1"] = {"prev": "r0", "mode": "naive"}
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["dvc", "repro"], tiny_repo)
    _run(["git", "add", "-A"], tiny_repo)
    _run(commit + ["alpha 0.25"], tiny_repo)
    n1 = json.loads((tiny_repo / "metrics/labels/n1.json").read_text())
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["refine"]["alpha"] = 0.125  # a cap of 1 label
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert {"refine@r1", "refine@r2", "refine@n1"} <= _stages_run(_run(["dvc", "repro"], tiny_repo))
    _run(["git", "add", "-A"], tiny_repo)
    _run(commit + ["alpha 0.125"], tiny_repo)
    diff = json.loads(_run(["dvc", "metrics", "diff", "HEAD~1", "--json"], tiny_repo))
    assert json.loads((tiny_repo / "metrics/labels/n1.json").read_text())["n_replaced"] <= 1
    if n1["n_replaced"] == 2:
        assert diff["metrics/labels/n1.json"]["n_replaced"] == {"old": 2, "new": 1, "diff": -1}
