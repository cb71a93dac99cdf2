"""Resolve the configured base model (embedded GGUF, hub id or folder) and save it as safetensors."""
from __future__ import annotations

from ilr.core.params import ModelParams
from ilr.train.checkpoints import load_causal_lm, load_tokenizer, save_causal_lm


def convert_base_model(model_params: ModelParams, *, out: str) -> dict:
    """Save ``model.base`` to ``out`` in ``model.save_dtype``; returns a short description."""
    tokenizer = load_tokenizer(model_params.base, key="model.base")
    model = load_causal_lm(model_params.base, key="model.base")
    save_causal_lm(model, tokenizer, out, dtype=model_params.save_dtype)
    return {"source": model_params.base, "architecture": type(model).__name__,
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": model_params.save_dtype}


def save_first_layers(source: str, *, layers: int, out: str, dtype: str = "float32") -> dict:
    """Save into ``out`` the model ``source`` cut to its first ``layers`` decoder layers, with
    its embeddings, final norm and head: a smaller model of the same family (``supervisor.layers``,
    issue 30). Returns its layer and parameter counts."""
    model = load_causal_lm(source)
    decoder = getattr(getattr(model, "model", None), "layers", None)
    if decoder is None:
        raise ValueError(f"supervisor.layers: {type(model).__name__} has no `model.layers` list "
                         "of decoder layers to cut; set supervisor.layers to null")
    if layers > len(decoder):
        raise ValueError(f"supervisor.layers = {layers} but {source!r} has {len(decoder)} decoder "
                         f"layers; choose 1 to {len(decoder)} (or null for all)")
    model.model.layers = decoder[:layers]
    model.config.num_hidden_layers = layers
    if getattr(model.config, "layer_types", None):  # per-layer attention kinds, where the config has them
        model.config.layer_types = model.config.layer_types[:layers]
    save_causal_lm(model, load_tokenizer(source), out, dtype=dtype)
    return {"layers": layers, "of_layers": len(decoder),
            "parameters": sum(p.numel() for p in model.parameters())}
