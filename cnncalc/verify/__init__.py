"""Holding figures to the truth: expect:/budget: checks, answer sheets and grading."""
