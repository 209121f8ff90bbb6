# syntax=docker/dockerfile:1
# One image for every role of the platform: `web` (the default), `worker`, `beat`,
# `migrate`, `manage <command>` (deploy/docker-entrypoint.sh). Configure it with the
# variables of docs/configuration.md; config.production refuses to start without the
# ones a deployment must set (docs/deployment.md). deploy/compose.yaml runs it all.

# --- build: compilers and headers stay here ------------------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# A C/C++ toolchain for the few dependencies that may have no wheel for this platform.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies only (the project itself runs from /app, not site-packages): this layer is
# rebuilt only when the lock or pyproject changes.
COPY pyproject.toml requirements.lock README.md ./
RUN mkdir -p config apps user_library media_library ai_media author_media admin_media \
    && pip install -c requirements.lock . && pip uninstall -y media-platform
COPY config ./config
COPY apps ./apps
COPY user_library ./user_library
COPY media_library ./media_library
COPY ai_media ./ai_media
COPY author_media ./author_media
COPY admin_media ./admin_media
COPY templates ./templates
COPY locale ./locale
COPY manage.py ./
RUN for po in locale/*/LC_MESSAGES/django.po; do pybabel compile -i "$po" -o "${po%.po}.mo"; done \
    && DATABASE_URL=postgresql://build/unused SECRET_KEY=build-only STATIC_ROOT=/src/static \
       python manage.py collectstatic --no-input -v 0

# --- runtime: the interpreter, the virtualenv, the code and its assets ----------------
FROM python:3.11-slim-bookworm AS runtime
# The wheels bundle their native libraries (Pillow, PyAV's FFmpeg, onnxruntime, psycopg's
# libpq); the runtime adds only certificates for S3 and nothing that compiles.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /app app
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.production VAR_DIR=/var/lib/media-platform \
    STATIC_ROOT=/app/static PORT=8000 BIND_ADDRESS=0.0.0.0 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=16777216
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build --chown=root:root /src/config ./config
COPY --from=build /src/apps ./apps
COPY --from=build /src/user_library ./user_library
COPY --from=build /src/media_library ./media_library
COPY --from=build /src/ai_media ./ai_media
COPY --from=build /src/author_media ./author_media
COPY --from=build /src/admin_media ./admin_media
COPY --from=build /src/templates ./templates
COPY --from=build /src/locale ./locale
COPY --from=build /src/static ./static
COPY --from=build /src/manage.py ./
COPY deploy/docker-entrypoint.sh /usr/local/bin/media-platform
RUN mkdir -p "$VAR_DIR" && chown app "$VAR_DIR"
# The code is root's and read-only to the process; only VAR_DIR and /tmp are writable.
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["media-platform", "healthcheck"]
ENTRYPOINT ["media-platform"]
CMD ["web"]
