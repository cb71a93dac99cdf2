"""KL divergence of a policy from the round-0 SFT policy, estimated on test prompts.

KL(pi || ref) over responses: sample y ~ pi on each prompt, then sum over the sampled positions
the **exact** per-token KL over the vocabulary, sum_v pi(v | x, y<t) log(pi(v | ...) / ref(v | ...)).
Its expectation is the sequence KL (the chain rule), it is never negative, and it has a lower
variance than the per-sequence log-ratio. Everything works on the sampled token ids: nothing is
decoded and re-tokenized, and the end-of-sequence token counts only where it was sampled.
Sampling is from the policy's full distribution (temperature 1, no top-k or top-p); the standard
error is that of the mean over sequences.
"""
from __future__ import annotations

import math

import torch

from ilr.engines.prompts import render_prompts


@torch.inference_mode()
def sample_token_ids(policy, tokenizer, prompts: list[str], *, max_new_tokens: int,
                     batch_size: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """``(prompt ids, response ids)`` per prompt, the response sampled from the policy's full
    distribution; it ends with the first sampled EOS (kept) or after ``max_new_tokens``."""
    torch.manual_seed(seed)
    policy.eval()
    eos, pairs = tokenizer.eos_token_id, []
    for start in range(0, len(prompts), batch_size):
        enc = tokenizer(prompts[start:start + batch_size], return_tensors="pt", padding=True,
                        padding_side="left", add_special_tokens=False).to(policy.device)
        out = policy.generate(**enc, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                              max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
        for row, ids, mask in zip(out[:, enc["input_ids"].shape[1]:], enc["input_ids"],
                                  enc["attention_mask"]):
            ended = (row == eos).nonzero()
            n = int(ended[0]) + 1 if len(ended) else len(row)
            pairs.append((ids[mask.bool()].tolist(), row[:n].tolist()))
    return pairs


@torch.inference_mode()
def sequence_kls(policy, reference, samples: list[tuple[list[int], list[int]]], *,
                 batch_size: int = 16) -> list[float]:
    """For each ``(prompt ids, response ids)``: the sum over response positions of the exact
    KL(policy || reference) of the next-token distributions.

    Both models compute logits only over the batch's response window (``logits_to_keep``): the
    prompts' positions, most of an arith row, would add float32 ``[batch, position, vocab]``
    tensors that the sum never reads."""
    totals = []
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        full = [p + r for p, r in chunk]
        width = max(len(ids) for ids in full)
        input_ids = torch.tensor([ids + [0] * (width - len(ids)) for ids in full])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in full])
        # position t predicts token t + 1: the responses' tokens are predicted from these
        first = min(len(p) for p, _ in chunk) - 1
        keep = torch.arange(first, width - 1)

        def log_probs(model):
            logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(
                model.device), logits_to_keep=keep.to(model.device)).logits
            return torch.log_softmax(logits.float(), -1)

        logp, logq = log_probs(policy), log_probs(reference)
        per_token = (logp.exp() * (logp - logq.to(logp.device))).sum(-1)  # [batch, window]
        for row, (p, r) in enumerate(chunk):
            at = len(p) - 1 - first
            totals.append(float(per_token[row, at:at + len(r)].clamp(min=0).sum()))
    return totals


def estimate_kl(policy, reference, tokenizer, conversations: list[list[dict]], *, generation,
                seed: int) -> dict:
    """Mean over y ~ pi of the summed per-token KL from ``reference``, with its SE."""
    if not generation.do_sample or generation.temperature != 1.0 or generation.top_p != 1.0:
        raise ValueError("kl.generation must sample from the policy itself: do_sample true, "
                         "temperature 1.0, top_p 1.0")
    samples = sample_token_ids(policy, tokenizer, render_prompts(tokenizer, conversations),
                               max_new_tokens=generation.max_new_tokens,
                               batch_size=generation.batch_size, seed=seed)
    kls = sequence_kls(policy, reference, samples, batch_size=generation.batch_size)
    n = len(kls)
    mean = sum(kls) / n
    var = sum((k - mean) ** 2 for k in kls) / (n - 1) if n > 1 else 0.0
    return {"kl": mean, "kl_se": math.sqrt(var / n), "n": n,
            "mean_response_tokens": sum(len(r) for _, r in samples) / n}
