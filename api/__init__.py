"""HTTP service stage: FastAPI routes, streaming, OpenAI-compatible endpoint and the chat widget."""
