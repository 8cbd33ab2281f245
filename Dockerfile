# syntax=docker/dockerfile:1
#
# The service as deployed: uvicorn serving app.main:create_app on port 8000.
# Migrations are a separate step, run before a new version serves:
#   docker compose run --rm api support-tickets migrate

# ---- build: wheels of the service and every dependency -----------------------
FROM python:3.12-slim AS build

# Compilers for any dependency without a prebuilt wheel; they stay here.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# ---- runtime: the wheels installed, no compilers, not root -------------------
FROM python:3.12-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    # The installed package has no checkout around it: migrations are here.
    ALEMBIC_CONFIG=/srv/support-tickets/alembic.ini

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links=/wheels \
        support-tickets

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
        --shell /usr/sbin/nologin app

WORKDIR /srv/support-tickets
COPY alembic.ini ./
COPY migrations ./migrations

USER app
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

# One worker per container; SIGTERM drains requests in flight for up to
# SHUTDOWN_GRACE_SECONDS and exits 0. Forwarded headers are believed only from
# TRUSTED_PROXIES, by the application's own middleware (uvicorn's is off).
ENV HOST=0.0.0.0 PORT=8000
CMD ["support-tickets", "serve"]
