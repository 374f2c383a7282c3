"""Retrieval and answering stage: hybrid search over the index and cited answers."""
