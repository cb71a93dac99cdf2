"""Tokens/s of the batched generator vs a one-prompt-at-a-time `model.generate` loop.

    python bench/generate.py --model models/base --prompts 64 --max-new-tokens 64

Both run on the same arith test prompts in one process, greedy, same dtype; prints both and the ratio.
"""
import argparse
import time

import torch

from ilr.arith import ArithSpec, generate_records
from ilr.checkpoints import inference_dtype, load_causal_lm, load_tokenizer
from ilr.generation import generate_responses, render_prompts
from ilr.params import GenerationParams, TaskParams
from ilr.tasks import task_from_params


def time_loop(model, tokenizer, conversations, max_new_tokens):
    tokens, start = 0, time.perf_counter()
    for prompt in render_prompts(tokenizer, conversations):
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        tokens += out.shape[1] - ids.shape[1]
    return tokens, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/base")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    model = load_causal_lm(args.model, dtype=inference_dtype())
    tokenizer = load_tokenizer(args.model)
    task = task_from_params(TaskParams())
    records = generate_records(ArithSpec(), n=args.prompts, seed=0, split="bench")
    conversations = [task.render_messages(r["prompt"]) for r in records]
    params = GenerationParams(batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)
    start = time.perf_counter()
    batched = generate_responses(model, tokenizer, conversations, params=params)
    batched_s = time.perf_counter() - start
    batched_tokens = sum(r["n_tokens"] for r in batched)
    loop_tokens, loop_s = time_loop(model, tokenizer, conversations, args.max_new_tokens)
    b, s = batched_tokens / batched_s, loop_tokens / loop_s
    print(f"model={args.model} dtype={model.dtype} threads={torch.get_num_threads()} "
          f"prompts={args.prompts} max_new_tokens={args.max_new_tokens}")
    print(f"batched (batch {args.batch_size}): {batched_tokens} tokens in {batched_s:.1f} s = {b:.1f} tokens/s")
    print(f"one at a time:        {loop_tokens} tokens in {loop_s:.1f} s = {s:.1f} tokens/s")
    print(f"ratio: {b / s:.1f}x")


if __name__ == "__main__":
    main()
