"""Generation engines (transformers, vLLM) behind one function, and what they share."""
