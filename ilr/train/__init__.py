"""The trainers: SFT, DPO, the weak supervisor, the comparison classifier and reward head."""
