# newsbot: one process, SQLite on a volume, config/ and the sample seeds/ baked in.
#
#   docker build -t newsbot .
#   docker run --rm newsbot newsbot demo                 # sample alerts, no tokens, no network
#   docker run -d -v newsbot-data:/data \
#     -e SLACK_BOT_TOKEN=... -e DISCORD_TOKEN=... newsbot  # newsbot run
#
# Mount your own config with -v "$PWD/config:/app/config:ro". For PostgreSQL, set
# NEWSBOT_DATABASE_URL=postgresql+asyncpg://user@host/db (no volume needed then).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The same package the README installs (`pip install .`), built from this checkout, not from PyPI,
# with its dependencies at the versions in constraints.txt (the ones the tests passed with;
# regenerate with `python .ci/constraints.py > constraints.txt`). They install from wheels on
# x86-64 (no compiler in the image); on a platform where one has no wheel, add a build stage with
# build-essential.
COPY pyproject.toml README.md constraints.txt ./
COPY bot/ ./bot/
# config/ and seeds/ before the install: pyproject's data-files ship them (share/newsbot) too
COPY config/ ./config/
COPY seeds/ ./seeds/
RUN pip install --no-cache-dir --constraint=constraints.txt . \
    && rm -rf build ./*.egg-info

# Unprivileged user; /data holds the SQLite file. /app/data points there too, so relative paths
# in config (the jsonl:data/alerts.jsonl destination) land on the volume as well.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home newsbot \
    && mkdir -p /data \
    && chown newsbot:newsbot /data \
    && ln -s /data /app/data

ENV NEWSBOT_DATABASE_URL=sqlite+aiosqlite:////data/newsbot.db \
    NEWSBOT_CONFIG_DIR=/app/config
VOLUME /data

USER newsbot

# /healthz on the server `newsbot run` starts (NEWSBOT_HTTP_PORT, 127.0.0.1 by default: the probe
# runs inside the container). Python's urllib, so the slim image needs no curl. A crash ends the
# process, which the container runtime restarts (--restart unless-stopped).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NEWSBOT_HTTP_PORT', '8080'), timeout=4)"]
CMD ["newsbot", "run"]
