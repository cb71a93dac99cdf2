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


def test_first_layers_cut_keeps_the_first_layers_embeddings_and_head(tmp_path, embedded_model,
                                                                     embedded_model_dir):
    """supervisor.layers: the cut model's two layers, embeddings, norm and head are the base's
    own weights; its parameter count is the base's less 28 layers, counted the same on disk."""
    from ilr.train.base_model import save_first_layers
    from ilr.train.checkpoints import saved_parameter_count

    base, tokenizer = embedded_model
    info = save_first_layers(embedded_model_dir, layers=2, out=str(tmp_path / "cut"))
    cut = load_causal_lm(str(tmp_path / "cut"))
    assert cut.config.num_hidden_layers == 2 and len(cut.model.layers) == 2
    want = base.state_dict()
    got = cut.state_dict()
    assert not any(k.startswith("model.layers.2.") for k in got)
    assert all(torch.equal(v, want[k]) for k, v in got.items())
    per_layer = sum(p.numel() for p in base.model.layers[0].parameters())
    assert info == {"layers": 2, "of_layers": 30, "parameters": 134_515_008 - 28 * per_layer}
    assert saved_parameter_count(tmp_path / "cut") == info["parameters"]
    assert saved_parameter_count(embedded_model_dir) == 134_515_008
    ids = tokenizer("Mia has 3 apples.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert cut(ids).logits.shape == base(ids).logits.shape


def test_first_layers_refuses_more_layers_than_the_base_has(tmp_path, embedded_model_dir):
    import pytest

    from ilr.train.base_model import save_first_layers

    with pytest.raises(ValueError, match=r"supervisor.layers = 31 .* 30 decoder layers"):
        save_first_layers(embedded_model_dir, layers=31, out=str(tmp_path / "cut"))
    assert not (tmp_path / "cut").exists()
