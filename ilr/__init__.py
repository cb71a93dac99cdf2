"""Iterative Label Refinement (arXiv 2501.07886) as a DVC pipeline."""
