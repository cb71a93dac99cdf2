"""Training curves: every trainer logs its loss through transformers' DVCLive callback into the
folder dvc.yaml names, and nowhere else (no dvclive/ folder, no dvc.yaml of its own)."""
import csv
import json
from pathlib import Path

import yaml

from tiny import build_tiny_model

REPO = Path(__file__).resolve().parents[1]


def test_sft_stage_writes_its_loss_curve_only_where_told(tmp_path, monkeypatch):
    from stages.sft import main

    records = [{"id": f"q{i}", "prompt": f"What is {i} + 1?", "response": f"#### {i + 1}"}
               for i in range(8)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    build_tiny_model(tmp_path / "base", [r["prompt"] + " " + r["response"] for r in records])
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["sft"]["args"] = {**params["sft"]["args"], "num_train_epochs": 2,
                             "per_device_train_batch_size": 4, "logging_steps": 1}
    params["sft"]["use_lora"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    main(["--params", "params.yaml", "--base", "base", "--train", "train.jsonl",
          "--out", "model", "--curves", "curves/r0"])
    with open(tmp_path / "curves/r0/plots/metrics/loss.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["step"]) for r in rows] == [0, 1, 2, 3]  # 2 epochs x 2 steps, logged each step
    assert all(float(r["loss"]) > 0 for r in rows)
    assert not (tmp_path / "dvclive").exists() and not (tmp_path / "dvc.yaml").exists()
    assert (tmp_path / "model/model.safetensors").is_file()
