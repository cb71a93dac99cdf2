"""The compute dtype: `model.dtype` names it, or `auto` takes each model's saved dtype for
evaluation, so a model saved in float32 on purpose is never rounded to bfloat16."""
import json

import pytest
import torch

from ilr.train import checkpoints
from ilr.train.checkpoints import inference_dtype, inference_name, resolve_dtype, saved_dtype


def _folder(tmp_path, name, dtype_key="dtype", dtype="float32"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", dtype_key: dtype}))
    return folder


@pytest.mark.parametrize("hardware_bf16", [True, False])
def test_auto_evaluates_in_the_saved_dtype_whatever_the_hardware(tmp_path, monkeypatch,
                                                                  hardware_bf16):
    monkeypatch.setattr(checkpoints, "bf16_supported", lambda: hardware_bf16)
    dpo = _folder(tmp_path, "dpo", dtype="float32")
    sft = _folder(tmp_path, "sft", dtype_key="torch_dtype", dtype="bfloat16")  # older configs
    assert inference_name("auto", dpo) == "float32" and inference_dtype("auto", dpo) == torch.float32
    assert inference_name("auto", sft) == "bfloat16"
    # training, and a source without a saved dtype (a hub id), follow the hardware
    expected = "bfloat16" if hardware_bf16 else "float32"
    assert resolve_dtype("auto") == expected == inference_name("auto", tmp_path / "hub/id")


def test_an_explicit_dtype_wins_over_the_saved_one(tmp_path):
    dpo = _folder(tmp_path, "dpo", dtype="float32")
    assert inference_name("bfloat16", dpo) == "bfloat16"
    assert inference_name("float32", _folder(tmp_path, "sft", dtype="bfloat16")) == "float32"
    assert saved_dtype(tmp_path / "missing") is None
    with pytest.raises(ValueError, match="model.dtype: 'half' is not allowed"):
        inference_name("half", dpo)
