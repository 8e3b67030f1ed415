# The llmhealth image: one image for every part of the compose stack (migrate, prober,
# aggregator, simulator; deploy/docker-compose.yml), `llmhealth` as its entrypoint.
#
# Build stage: wheels of the project and of its runtime dependencies (no test extras).
# Runtime stage: a venv with the llmhealth wheel installed from those wheels only (no index,
# no compiler, no source tree), run as an unprivileged user.

FROM python:3.11.15-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY llmhealth ./llmhealth
COPY llmhealth_config ./llmhealth_config
COPY prober ./prober
COPY aggregator ./aggregator
COPY simulator ./simulator
COPY clickhouse ./clickhouse
COPY otel-collector ./otel-collector
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11.15-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/llmhealth/bin:$PATH
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/llmhealth \
    && /opt/llmhealth/bin/pip install --no-index --find-links /wheels llmhealth \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/llmhealth llmhealth
USER llmhealth
WORKDIR /home/llmhealth
ENTRYPOINT ["llmhealth"]
CMD ["--help"]
