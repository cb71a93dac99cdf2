"""The method: supervise, propose, feedback and refine, the round chain and the noise model."""
