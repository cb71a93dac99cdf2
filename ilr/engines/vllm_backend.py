"""The vLLM engine behind ``ilr.engines.generation.generate_responses`` (``generation.backend: vllm``).

Imported only when that backend is chosen, so the package stays optional. The prompts are
rendered and tokenized by our own tokenizer (as the transformers engine does) and passed to
``LLM.generate`` as token ids; the generated ids are decoded by the same
:func:`~ilr.engines.prompts.response_record`, so both engines cut, count and decode alike. Greedy
decoding is temperature 0. Sampling keeps what ``model.generate`` samples from: temperature,
top-p and the model's top-k (its ``generation_config.json``, else transformers' default 50).
Consecutive copies of one conversation (DPO's samples per prompt) are one request with ``n``
samples, regrouped in input order. A folder with ``adapter_config.json`` is served as a
``LoRARequest`` on its base model. One engine per call, shut down after it, so that the GPU is
free again for the training that may follow in the same stage.
"""
from __future__ import annotations

import gc
import json
import random
from pathlib import Path

from ilr.core.params import GenerationParams
from ilr.core.phases import phase

TRANSFORMERS_TOP_K = 50  # what model.generate samples with when no generation config sets top_k
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # the max_lora_rank values vLLM accepts


def group_runs(prompts: list) -> list[tuple[int, int]]:
    """``(first index, count)`` of each run of consecutive equal prompts."""
    runs: list[tuple[int, int]] = []
    for i, prompt in enumerate(prompts):
        if runs and prompts[runs[-1][0]] == prompt:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def request_seeds(seed: int, n_requests: int) -> list[int]:
    """One seed per request, drawn from ``seed``: requests sample independent streams, and the
    same ``seed`` gives the same samples again."""
    rng = random.Random(f"vllm/{seed}")
    return [rng.getrandbits(31) for _ in range(n_requests)]


def build_sampling_params(vllm, params: GenerationParams, *, n: int, seed: int, top_k: int,
                          stop_token_ids: list[int]):
    """``vllm.SamplingParams`` for one request of ``n`` samples (greedy: temperature 0, one
    sample, copied ``n`` times by the caller)."""
    common = {"max_tokens": params.max_new_tokens, "stop_token_ids": stop_token_ids,
              "detokenize": False, "seed": seed}
    if not params.do_sample:
        return vllm.SamplingParams(n=1, temperature=0.0, **common)
    return vllm.SamplingParams(n=n, temperature=params.temperature, top_p=params.top_p,
                               top_k=top_k, **common)


def model_top_k(folder: str) -> int:
    """The top-k ``model.generate`` samples with for this model folder."""
    path = Path(folder) / "generation_config.json"
    top_k = json.loads(path.read_text()).get("top_k") if path.is_file() else None
    return top_k or TRANSFORMERS_TOP_K


def engine_source(path: str) -> tuple[str, dict | None]:
    """``(model to load, adapter config or None)``: an adapter folder loads its base model."""
    config = Path(path) / "adapter_config.json"
    if not config.is_file():
        return path, None
    adapter = json.loads(config.read_text())
    return adapter["base_model_name_or_path"], adapter


def engine_kwargs(path: str, *, dtype: str, seed: int) -> dict:
    """``vllm.LLM`` arguments for ``path``: its base and LoRA settings, the compute dtype, and a
    GPU memory share that fits what the stage's earlier training left free."""
    from ilr.train.checkpoints import inference_name

    base, adapter = engine_source(path)
    kwargs = {"model": base, "dtype": inference_name(dtype, path), "seed": seed,
              "skip_tokenizer_init": True}
    if adapter is not None:
        rank = adapter.get("r", 8)
        kwargs |= {"enable_lora": True, "max_lora_rank": next(
            (r for r in LORA_RANKS if r >= rank), LORA_RANKS[-1]), "max_loras": 1}
    import torch

    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        kwargs["gpu_memory_utilization"] = round(max(0.1, min(0.9, free / total - 0.05)), 2)
    return kwargs


def regroup(runs: list[tuple[int, int]], outputs, *, n_prompts: int, greedy: bool) -> list:
    """Per input prompt, the generated ids, in input order: request ``k``'s samples go to the
    prompts of run ``k`` one by one (greedy: its one output, copied)."""
    if len(outputs) != len(runs):
        raise RuntimeError(f"vLLM returned {len(outputs)} results for {len(runs)} requests")
    ids: list = [None] * n_prompts
    for (first, count), request in zip(runs, outputs):
        samples = request.outputs
        if len(samples) != (1 if greedy else count):
            raise RuntimeError(f"vLLM returned {len(samples)} samples for a request of {count}")
        for j in range(count):
            ids[first + j] = samples[0 if greedy else j]
    return ids


def generate_vllm(path: str, tokenizer, conversations: list[list[dict]], *,
                  params: GenerationParams, seed: int = 0,
                  dtype: str = "float32") -> list[dict]:
    """``[{"text", "n_tokens"}, ...]`` for ``conversations`` from the model (or adapter) at
    ``path``, in input order."""
    import vllm
    from vllm.lora.request import LoRARequest

    from ilr.engines.prompts import render_prompts, response_record

    prompts = render_prompts(tokenizer, conversations)
    token_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    runs = group_runs(prompts)
    base, adapter = engine_source(path)
    eos = tokenizer.eos_token_id
    top_k = model_top_k(base)
    requests = [build_sampling_params(vllm, params, n=count, seed=s, top_k=top_k,
                                      stop_token_ids=[eos])
                for (_, count), s in zip(runs, request_seeds(seed, len(runs)))]
    lora = LoRARequest("adapter", 1, str(Path(path).resolve())) if adapter else None
    with phase("load"):  # the engine start: weights, compile, KV cache
        llm = vllm.LLM(**engine_kwargs(path, dtype=dtype, seed=seed))
    try:
        outputs = llm.generate([{"prompt_token_ids": token_ids[first]} for first, _ in runs],
                               requests, lora_request=lora, use_tqdm=True)
    finally:
        del llm
        release_memory()
    results = []
    for sample in regroup(runs, outputs, n_prompts=len(prompts), greedy=not params.do_sample):
        ids = list(sample.token_ids)
        if sample.finish_reason == "stop" and eos not in ids:
            ids.append(eos)  # stopped at EOS: count it, as the transformers engine does
        results.append(response_record(tokenizer, ids))
    return results


def release_memory() -> None:
    """After the engine is dropped: collect it and give its GPU memory back."""
    gc.collect()
    try:
        from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
    except ImportError:
        return
    cleanup_dist_env_and_memory()
