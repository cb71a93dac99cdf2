"""Measurements: evaluation, KL, feedback reliability, data quality, paired statistics, seeds."""
