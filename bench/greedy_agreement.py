"""Which bfloat16 generation stays closer to float32: the engine's decode attention or sdpa?

    python bench/greedy_agreement.py --model models/sft/r0 --prompts 256

Generates greedy answers to the same arith prompts three ways, one process: float32 (the
reference), bfloat16 through the engine as the pipeline runs it (``decode_attention`` at the
decoding steps on a CPU) and bfloat16 with sdpa at every step (the engine before it); prints how
many answers of each equal the float32 ones and how many are correct.
"""
import argparse
from contextlib import nullcontext

import torch

from ilr.core.params import GenerationParams, TaskParams
from ilr.engines import generation
from ilr.tasks.arith import ArithSpec, generate_records
from ilr.tasks.task import task_from_params
from ilr.train.checkpoints import load_causal_lm, load_tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/sft/r0")
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    args = parser.parse_args()
    tokenizer, task = load_tokenizer(args.model), task_from_params(TaskParams())
    records = generate_records(ArithSpec(), n=args.prompts, seed=0, split="bench")
    conversations = [task.render_messages(r["prompt"]) for r in records]
    params = GenerationParams(batch_size=32, max_new_tokens=args.max_new_tokens)
    answers, engine = {}, generation.decoding_attention
    for name, dtype, attention in (("float32", torch.float32, engine),
                                   ("bfloat16, decode_attention", torch.bfloat16, engine),
                                   ("bfloat16, sdpa at every step", torch.bfloat16, nullcontext)):
        generation.decoding_attention = attention
        model = load_causal_lm(args.model, dtype=dtype)
        answers[name] = [r["text"] for r in generation.generate_transformers(
            model, tokenizer, conversations, params=params)]
        generation.decoding_attention = engine
    for name, texts in answers.items():
        same = sum(a == b for a, b in zip(texts, answers["float32"]))
        right = sum(task.grade(t, r["response"], item=r) for t, r in zip(texts, records))
        print(f"{name:30} equal to float32: {same}/{len(texts)}  correct: {right}/{len(texts)}")


if __name__ == "__main__":
    main()
