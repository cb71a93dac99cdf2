"""The one batched generator every sampling stage uses (evaluation, proposals, DPO sampling).

Two engines sit behind :func:`generate_responses`, chosen by ``generation.backend``:
``transformers`` (prompts rendered with the chat template, sorted by length so that a batch
wastes little on padding, left-padded, generated in batches) and ``vllm`` (``ilr.engines.vllm_backend``,
imported only when chosen). ``auto`` is vLLM where it imports and a CUDA GPU is present, else
transformers. Either way results come back in input order as ``{"text", "n_tokens"}``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ilr.core.params import GenerationParams
from ilr.engines.prompts import render_prompts, response_record

BACKENDS = ("auto", "transformers", "vllm")


def resolve_backend(backend: str = "auto") -> str:
    """The engine ``generation.backend`` names: ``auto`` is ``vllm`` only where the package
    is installed and a CUDA GPU is present, ``transformers`` elsewhere (every CPU run)."""
    if backend not in BACKENDS:
        raise ValueError(f"generation.backend: {backend!r} is not allowed; choose one of "
                         f"{list(BACKENDS)}")
    if backend == "auto":
        return "vllm" if torch.cuda.is_available() and importlib.util.find_spec("vllm") else \
            "transformers"
    return backend


def engine_model(model, tokenizer, folder: str, *, backend: str, dtype: str = "float32"):
    """A model in memory as the chosen engine takes it: itself for transformers; for vLLM,
    saved into ``folder`` (a LoRA model as its adapter) and that folder's path."""
    if resolve_backend(backend) != "vllm":
        return model
    from ilr.train.checkpoints import resolve_dtype, save_causal_lm

    save_causal_lm(model, tokenizer, folder, dtype=resolve_dtype(dtype))
    return folder


def generate_responses(model, tokenizer, conversations: list[list[dict]], *,
                       params: GenerationParams, seed: int = 0, desc: str = "generate",
                       backend: str = "transformers", dtype: str = "float32") -> list[dict]:
    """Generate one response per conversation: ``[{"text": str, "n_tokens": int}, ...]``.

    ``model`` is a loaded transformers model, or a model folder (a LoRA adapter folder too) or
    hub id, which the transformers engine loads in ``dtype`` (``model.dtype``) and vLLM serves.
    Consecutive copies of one conversation are one vLLM request with ``n`` samples."""
    if resolve_backend(backend) == "vllm":
        if not isinstance(model, (str, Path)):
            raise ValueError("generation.backend vllm generates from a saved model folder, "
                             "not a model in memory; pass its path")
        from ilr.engines.vllm_backend import generate_vllm

        return generate_vllm(str(model), tokenizer, conversations, params=params, seed=seed,
                             dtype=dtype)
    if isinstance(model, (str, Path)):
        from ilr.train.checkpoints import inference_dtype, load_causal_lm

        model = load_causal_lm(str(model), dtype=inference_dtype(dtype, source=model))
    return generate_transformers(model, tokenizer, conversations, params=params, seed=seed,
                                 desc=desc)


@torch.inference_mode()
def generate_transformers(model, tokenizer, conversations: list[list[dict]], *,
                          params: GenerationParams, seed: int = 0,
                          desc: str = "generate") -> list[dict]:
    """The transformers engine: length-sorted, left-padded batches of ``model.generate``."""
    prompts = render_prompts(tokenizer, conversations)
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    results: list[dict | None] = [None] * len(prompts)
    torch.manual_seed(seed)
    model.eval()
    sampling = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p} \
        if params.do_sample else {"do_sample": False, "temperature": None, "top_p": None,
                                  "top_k": None}
    with tqdm(total=len(prompts), desc=desc, unit="prompt") as bar:
        for start in range(0, len(order), params.batch_size):
            idx = order[start:start + params.batch_size]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True,
                            padding_side="left", add_special_tokens=False).to(model.device)
            out = model.generate(**enc, max_new_tokens=params.max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, **sampling)
            new = out[:, enc["input_ids"].shape[1]:]
            for row, i in zip(new, idx):
                results[i] = response_record(tokenizer, row.tolist())
            bar.update(len(idx))
    return results
