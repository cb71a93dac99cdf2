"""KL divergence of a policy from the round-0 SFT policy, estimated on test prompts.

KL(pi || ref) = E_{x, y ~ pi}[log pi(y|x) - log ref(y|x)]: responses are sampled from the
policy at temperature 1 (no top-p, so the samples follow pi itself), and the per-sequence
log-ratio is averaged; the standard error is that of the mean over sequences.
"""
from __future__ import annotations

import math

import torch

from ilr.generation import render_prompts


@torch.inference_mode()
def score_sequences(model, tokenizer, prompts: list[str], responses: list[str], *,
                    batch_size: int = 16) -> list[float]:
    """Sum of log-probabilities of each response's tokens given its (rendered) prompt."""
    model.eval()
    totals = []
    for start in range(0, len(prompts), batch_size):
        chunk = list(zip(prompts[start:start + batch_size], responses[start:start + batch_size]))
        prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p, _ in chunk]
        full_ids = [tokenizer(p + r + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
                    for p, r in chunk]
        width = max(len(ids) for ids in full_ids)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in full_ids])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in full_ids])
        logits = model(input_ids=input_ids.to(model.device),
                       attention_mask=mask.to(model.device)).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
        token_lp = logprobs.gather(-1, input_ids[:, 1:].to(model.device).unsqueeze(-1)).squeeze(-1)
        for row, (p_ids, f_ids) in enumerate(zip(prompt_ids, full_ids)):
            totals.append(float(token_lp[row, len(p_ids) - 1:len(f_ids) - 1].sum()))
    return totals


def estimate_kl(policy, reference, tokenizer, conversations: list[list[dict]], *, generation,
                seed: int) -> dict:
    """Mean per-sequence log-ratio log pi(y|x) - log ref(y|x) over y ~ pi, with its SE."""
    from ilr.generation import generate_responses

    if not generation.do_sample or generation.temperature != 1.0 or generation.top_p != 1.0:
        raise ValueError("kl.generation must sample from the policy itself: do_sample true, "
                         "temperature 1.0, top_p 1.0")
    prompts = render_prompts(tokenizer, conversations)
    responses = [o["text"] for o in generate_responses(policy, tokenizer, conversations,
                                                       params=generation, seed=seed, desc="kl")]
    ratios = [a - b for a, b in zip(score_sequences(policy, tokenizer, prompts, responses),
                                    score_sequences(reference, tokenizer, prompts, responses))]
    n = len(ratios)
    mean = sum(ratios) / n
    var = sum((r - mean) ** 2 for r in ratios) / (n - 1) if n > 1 else 0.0
    return {"kl": mean, "kl_se": math.sqrt(var / n), "n": n}
