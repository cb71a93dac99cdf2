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
