"""The one batched generator every sampling stage uses (evaluation, proposals, DPO sampling).

Prompts are rendered with the chat template, sorted by length so that a batch wastes little on
padding, left-padded, and generated in batches; results come back in input order.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ilr.params import GenerationParams


def render_prompts(tokenizer, conversations: list[list[dict]]) -> list[str]:
    return [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
            for c in conversations]


@torch.inference_mode()
def generate_responses(model, tokenizer, conversations: list[list[dict]], *,
                       params: GenerationParams, seed: int = 0,
                       desc: str = "generate") -> list[dict]:
    """Generate one response per conversation: ``[{"text": str, "n_tokens": int}, ...]``."""
    prompts = render_prompts(tokenizer, conversations)
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    results: list[dict | None] = [None] * len(prompts)
    torch.manual_seed(seed)
    model.eval()
    sampling = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p} \
        if params.do_sample else {"do_sample": False, "temperature": None, "top_p": None,
                                  "top_k": None}
    eos = tokenizer.eos_token_id
    with tqdm(total=len(prompts), desc=desc, unit="prompt") as bar:
        for start in range(0, len(order), params.batch_size):
            idx = order[start:start + params.batch_size]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True,
                            padding_side="left", add_special_tokens=False).to(model.device)
            out = model.generate(**enc, max_new_tokens=params.max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, **sampling)
            new = out[:, enc["input_ids"].shape[1]:]
            for row, i in zip(new, idx):
                ended = (row == eos).nonzero()
                n = int(ended[0]) + 1 if len(ended) else len(row)
                results[i] = {"text": tokenizer.decode(row[:n], skip_special_tokens=True).strip(),
                              "n_tokens": n}
            bar.update(len(idx))
    return results
