# syntax=docker/dockerfile:1
# One image for every Headwater process: the command picks it.
#   docker run IMAGE collector | worker [--agents ...] | api | bridge mqtt|amqp|kafka | init
#   | migrate apply | replay | tenant ...
# Stages: the console (Node 20) -> the wheels (Python 3.11, build tools here only) -> a slim
# runtime with the installed virtualenv, run as a non-root user.
# Base images are pinned to exact releases; pin them to digests too in your registry
# mirror (tests/unit/test_dockerfile.py checks the pins, the stages and the user).

ARG NODE_IMAGE=node:20.19.5-bookworm-slim
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- 1. the console (console-ui/, Vite + React), built into headwater/console/web -------
FROM ${NODE_IMAGE} AS console
WORKDIR /src/console-ui
COPY console-ui/package.json console-ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console-ui/ ./
# vite.config.ts writes the build to ../headwater/console/web
RUN npm run build && test -f /src/headwater/console/web/index.html

# --- 2. the wheels: Headwater with the console inside, and every dependency -------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# compilers only for a dependency that ships no wheel for this platform; never in runtime
# (the distribution's current build-essential: this stage is thrown away)
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY headwater/ headwater/
COPY --from=console /src/headwater/console/web/ headwater/console/web/
RUN pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/headwater \
    && /opt/headwater/bin/pip install --no-index --find-links /wheels headwater \
    && /opt/headwater/bin/python -c "from headwater.console.web_ui import UI_DIR; assert (UI_DIR / 'index.html').is_file()"

# --- 3. runtime: the virtualenv only; no compiler, no Node, no sources ------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="headwater" \
      org.opencontainers.image.description="Headwater customer data platform: collector, worker, private API and console, bridges, jobs" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 headwater \
    && useradd --system --uid 10001 --gid headwater --home-dir /var/lib/headwater \
       --shell /usr/sbin/nologin headwater \
    && install -d -o headwater -g headwater -m 0750 /var/lib/headwater
COPY --from=build /opt/headwater /opt/headwater
ENV PATH=/opt/headwater/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HEADWATER_DATA_DIR=/var/lib/headwater \
    HEADWATER_COLLECTOR_HOST=0.0.0.0 \
    HEADWATER_API_HOST=0.0.0.0 \
    HEADWATER_BRIDGE_HOST=0.0.0.0 \
    HEADWATER_METRICS_HOST=0.0.0.0
WORKDIR /var/lib/headwater
USER 10001:10001
# collector, private API (+ console, /metrics), bridges' health (+ /metrics),
# collector metrics, worker metrics
EXPOSE 8686 8687 8690 8691 8692 9102 9103
ENTRYPOINT ["headwater"]
CMD ["--help"]
