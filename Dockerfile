# Production image: the web process by default; run the worker and beat from the same
# image with a different command (see Procfile). Configure with the variables in
# docs/configuration.md (DATABASE_URL, REDIS_URL, STORAGE_BACKEND=s3, …).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/var/lib/media-platform \
    PORT=8000 MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 \
    MALLOC_TRIM_THRESHOLD_=16777216
RUN useradd --system --create-home --home-dir /app app \
    && mkdir -p "$VAR_DIR" && chown app "$VAR_DIR"
WORKDIR /app

COPY pyproject.toml requirements.lock README.md ./
COPY config ./config
COPY apps ./apps
COPY user_library ./user_library
COPY media_library ./media_library
COPY ai_media ./ai_media
COPY author_media ./author_media
COPY admin_media ./admin_media
COPY templates ./templates
COPY locale ./locale
COPY manage.py Procfile ./
RUN pip install --no-cache-dir -c requirements.lock . \
    && for po in locale/*/LC_MESSAGES/django.po; do pybabel compile -i "$po" -o "${po%.po}.mo"; done \
    && DATABASE_URL=postgresql://build/unused SECRET_KEY=build \
       python manage.py collectstatic --no-input -v 0

USER app
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --no-input && exec gunicorn config.wsgi --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-4} --threads 4 --access-logfile -"]
