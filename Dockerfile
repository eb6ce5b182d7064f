# Squad Planner: one image for the web process (gunicorn), the Celery worker
# and Celery beat. docker-compose.yml picks the command for each.

# Front-end packages, installed exactly as package-lock.json pins them. Only
# the files the app serves leave this stage (see below), so neither Node nor
# node_modules ends up in the final image.
FROM node:22-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
# served/ gets the files config.staticfiles.NODE_ASSETS names, in their folders:
# Mermaid's ES module build (its entry and the chunks it imports; no source maps)
# and the ES module of each CodeMirror package the editor imports (EDITOR_MODULES).
RUN npm ci --omit=dev --no-audit --no-fund \
    && mkdir served \
    && cp --parents \
       node_modules/mermaid/dist/mermaid.esm.min.mjs \
       node_modules/mermaid/dist/chunks/mermaid.esm.min/*.mjs \
       node_modules/@codemirror/*/dist/index.js \
       node_modules/@lezer/*/dist/index.js \
       node_modules/@marijn/find-cluster-break/src/index.js \
       node_modules/crelt/index.js \
       node_modules/style-mod/src/style-mod.js \
       node_modules/w3c-keyname/index.js \
       served/

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

# The served front-end files (Mermaid's and CodeMirror's ES modules), where
# config.staticfiles.NodeModulesFinder looks for them, so that collectstatic below
# copies them (hashed and compressed) into staticfiles/vendor/. The rest of
# node_modules stays in the assets stage; .dockerignore keeps a local
# node_modules out of the build context.
COPY --from=assets /assets/served/node_modules/ /app/node_modules/

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
