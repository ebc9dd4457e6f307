# syntax=docker/dockerfile:1
# Two images from one source tree: `api` (CPU torch build, never imported by the API) and
# `worker` (PyPI's Linux torch, the CUDA build with its CUDA libraries bundled).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LABELAUDIT_DATA_DIR=/data
WORKDIR /app
RUN useradd --create-home --uid 1000 labelaudit \
    && mkdir /data && chown labelaudit:labelaudit /data
COPY pyproject.toml README.md ./
COPY labelaudit labelaudit
COPY service service
COPY worker worker
COPY formats formats
COPY migrations migrations

FROM base AS api
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install .
USER labelaudit
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"
CMD ["labelaudit", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM base AS worker
RUN pip install torch==2.13.0 && pip install .
USER labelaudit
CMD ["labelaudit", "worker"]
