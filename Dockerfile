# One image for every Quillpost process: web (gunicorn, the default command),
# worker and beat (celery) and the one-shot migrate step; see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The hand-in pack's fonts (campaign/handin/fonts.py): TrueType outlines for Latin,
# Greek and Cyrillic (DejaVu) and CJK (Droid Sans Fallback), which reportlab embeds.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-droid-fallback \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Hashed, compressed static files are baked into the image and served by whitenoise.
# Settings refuse to load without a secret; this one lives only in this build step.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput -v0

# Run as an unprivileged user: the code and static files stay root-owned, read-only.
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent quillpost
# MEDIA_ROOT (hand-in packs): the one directory the app writes, a volume in compose
# that takes this ownership when it is first created.
RUN mkdir -p /app/media && chown quillpost /app/media
USER quillpost

EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]
