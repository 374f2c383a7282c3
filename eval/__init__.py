"""Evaluation stage: scores retrieval and answers against gold question files."""
