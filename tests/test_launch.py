"""`launcher.train`: the training stages run under `accelerate launch` with their code unchanged.

A tiny random Llama (hidden 32, 2 layers) with a tiny byte-level tokenizer, built offline, is
fine-tuned by the real `sft` stage command once as one process (`python`) and once as two CPU
processes (`accelerate launch --num_processes 2`, DDP over gloo) at the same global batch: the
losses and the saved weights must agree, and only the main process writes the output.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ilr.core.params import ParamsError, load_params
from tiny import build_tiny_model

REPO = Path(__file__).resolve().parents[1]
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A folder with a tiny base model, 16 training records and a params file."""
    root = tmp_path_factory.mktemp("launch")
    records = [{"id": f"q{i}", "prompt": f"What is {i} + {i + 3}?",
                "response": f"{i} + {i + 3} = {2 * i + 3}\n#### {2 * i + 3}"} for i in range(16)]
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    system = yaml.safe_load((REPO / "params.yaml").read_text())["task"]["system_prompt"]
    build_tiny_model(root / "base", [system] + [r["prompt"] + " " + r["response"] for r in records])
    return root


def write_params(root: Path, *, launcher: str, per_device: int) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["launcher"] = {"train": launcher}
    params["model"]["save_dtype"] = "float32"
    params["model"]["dtype"] = "float32"  # the same numbers on a CPU with native bf16 and without
    params["sft"]["args"] = {"num_train_epochs": 1, "per_device_train_batch_size": per_device,
                             "learning_rate": 0.003, "logging_steps": 1, "max_length": 192,
                             "activation_checkpointing": False}
    path = root / f"params-{per_device}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    load_params(path)
    return path


def sft_command(params: Path, out: str) -> str:
    """The `sft@gold` command of dvc.yaml with this run's params and paths."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["sft"]["do"]["cmd"]
    launcher = load_params(params).launcher.train
    return (stage.replace("${launcher.train}", launcher).replace("params.yaml", str(params))
            .replace("models/base", str(params.parent / "base"))
            .replace("${item}", str(params.parent / "train.jsonl"))
            .replace("models/sft/${key}", str(params.parent / out))
            .replace("plots/train/${key}", str(params.parent / f"{out}-curves")))


def run_sft(command: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "ACCELERATE_CONFIG_FILE": "/nonexistent", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(command, shell=True, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    logs = [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith("{") and '"train_loss"' in line]
    return logs


@pytest.mark.skipif(not Path(sys.executable).with_name("accelerate").exists(),
                    reason="accelerate's launcher is not installed beside this python")
def test_two_processes_train_as_one(tiny_run):
    from safetensors.torch import load_file

    one = run_sft(sft_command(write_params(tiny_run, launcher="python", per_device=4), "one"))
    two = run_sft(sft_command(write_params(
        tiny_run, launcher="accelerate launch --multi_gpu --num_processes 2 --num_machines 1 "
                           "--mixed_precision no --dynamo_backend no", per_device=2), "two"))
    assert len(one) == 1 and len(two) == 2  # every rank prints its log
    assert one[0]["steps"] == two[0]["steps"] == 4  # 16 records, global batch 4
    assert two[0]["train_loss"] == pytest.approx(one[0]["train_loss"], rel=1e-4)
    assert two[0]["train_loss"] == pytest.approx(two[1]["train_loss"], rel=1e-6)
    base = load_file(tiny_run / "base" / "model.safetensors")
    w1 = load_file(tiny_run / "one" / "model.safetensors")
    w2 = load_file(tiny_run / "two" / "model.safetensors")
    moved = max(float((w1[k] - base[k]).abs().max()) for k in base)
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    assert moved > 1e-3 and diff < moved / 50, (moved, diff)
    # only rank 0 committed: no staged leftovers beside the output
    assert not [p for p in tiny_run.iterdir() if p.name.startswith((".one.", ".two."))]


def test_the_launcher_is_python_or_accelerate(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert params["launcher"]["train"] == "python"  # the committed default: one process
    params["launcher"]["train"] = "torchrun --nproc_per_node 2"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"launcher.train: .*accelerate launch"):
        load_params(tmp_path / "params.yaml")


def test_training_stage_commands_start_with_the_launcher():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    launched = {name for name, s in stages.items()
                if s.get("do", s)["cmd"].startswith("${launcher.train} -m stages.")}
    assert launched == {"sft", "round_sft", "feedback_model", "dpo"}
    for name, s in stages.items():  # the rest keep plain python: they generate or score
        if name not in launched:
            assert re.match(r"python -m stages\.\w+ ", s.get("do", s)["cmd"]), name
