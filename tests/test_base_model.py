"""The embedded GGUF model converts to safetensors exactly (float32), and bf16 saving is a plain cast."""
import torch
from transformers import AutoModelForCausalLM

from ilr.core.params import ModelParams
from ilr.train.base_model import convert_base_model
from ilr.train.checkpoints import find_embedded_gguf, load_causal_lm


def test_embedded_gguf_is_found():
    assert find_embedded_gguf().name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_gguf_to_safetensors_round_trip_is_exact(embedded_model, embedded_model_dir):
    """`embedded_model_dir` is the loaded GGUF saved in float32, as `convert_base_model` does
    (its own load and save, ~35 s here, are exercised by the bf16 test below)."""
    gguf_model, tokenizer = embedded_model
    reloaded = AutoModelForCausalLM.from_pretrained(embedded_model_dir, dtype=torch.float32)
    assert not hasattr(reloaded.config, "quantization_config")
    want = gguf_model.state_dict()
    got = reloaded.state_dict()
    assert set(got) == set(want)
    assert all(torch.equal(got[k], want[k]) for k in want)
    ids = tokenizer("Mia has 3 apples.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(reloaded(ids).logits, gguf_model(ids).logits)


def test_bf16_save_is_the_cast_of_the_gguf_weights(tmp_path, embedded_model):
    gguf_model, _ = embedded_model
    info = convert_base_model(ModelParams(save_dtype="bfloat16"), out=str(tmp_path / "bf16"))
    assert info["parameters"] == 134_515_008 and info["dtype"] == "bfloat16"
    reloaded = load_causal_lm(str(tmp_path / "bf16"), dtype=torch.bfloat16)
    want = {k: v.to(torch.bfloat16) for k, v in gguf_model.state_dict().items()}
    assert all(torch.equal(v, want[k]) for k, v in reloaded.state_dict().items())
    size = sum(p.stat().st_size for p in (tmp_path / "bf16").glob("*.safetensors"))
    assert size < 300e6  # half of the 540 MB that float32 takes
