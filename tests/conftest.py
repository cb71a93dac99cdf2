import os
from pathlib import Path

import pytest

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download weights or data

REPO = Path(__file__).resolve().parents[1]
GSM8K = REPO.parent / "shared" / "data" / "gsm8k"


@pytest.fixture(scope="session")
def gsm8k_dir() -> Path:
    if not (GSM8K / "test.jsonl").is_file():
        pytest.skip(f"real GSM8K not found at {GSM8K}")
    return GSM8K


@pytest.fixture(scope="session")
def embedded_model():
    """The embedded GGUF model, loaded once (float32, dequantized) with its tokenizer."""
    from ilr.checkpoints import load_causal_lm, load_tokenizer
    from ilr.params import EMBEDDED_MODEL

    return load_causal_lm(EMBEDDED_MODEL), load_tokenizer(EMBEDDED_MODEL)
