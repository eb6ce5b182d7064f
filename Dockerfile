# Squad Planner: one image for the web process (gunicorn), the Celery worker
# and Celery beat. docker-compose.yml picks the command for each.

# Front-end packages, installed exactly as package-lock.json pins them. Only
# the files the app serves leave this stage (see below), so neither Node nor
# node_modules ends up in the final image.
FROM node:22-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && find node_modules/mermaid/dist/chunks/mermaid.esm.min -name "*.map" -delete

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production \
    WEB_CONCURRENCY=2

# The processes run as an unprivileged user; the code stays owned by root,
# so they cannot change it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
       --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that a change to the code reuses this layer.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .

# Mermaid's ES module build (its entry and the chunks it imports; no source maps), where
# config.staticfiles.NodeModulesFinder looks for it, so that collectstatic below
# copies it (hashed and compressed) into staticfiles/vendor/mermaid/. The rest
# of node_modules stays in the assets stage; .dockerignore keeps a local
# node_modules out of the build context.
COPY --from=assets /assets/node_modules/mermaid/dist/mermaid.esm.min.mjs /app/node_modules/mermaid/dist/
COPY --from=assets /assets/node_modules/mermaid/dist/chunks/mermaid.esm.min/ /app/node_modules/mermaid/dist/chunks/mermaid.esm.min/

# collectstatic needs production settings (hashed, compressed file names for
# WhiteNoise), and production settings refuse to load without a SECRET_KEY.
# This one exists only for this step: it is not kept in the image's
# environment, and the running containers must be given their own. The
# in-memory broker URL keeps the settings from creating the development
# broker's folders (.celery/) in the image.
ARG BUILD_SECRET_KEY=collectstatic-only-throwaway-key-not-used-at-run-time
RUN DJANGO_ENV=production SECRET_KEY="${BUILD_SECRET_KEY}" CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput

USER app

EXPOSE 8000

# gunicorn reads its worker count from WEB_CONCURRENCY (2 unless set).
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
