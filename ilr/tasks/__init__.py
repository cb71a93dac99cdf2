"""The tasks: arith, GSM8K and Text-to-SQL (its generator, sandbox and grading), and gold data."""
