FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DATA_DIR=/data PORT=1337
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY ilios_cli ./ilios_cli
RUN pip install --no-cache-dir . && rm -rf /root/.cache
COPY . .
RUN python manage.py collectstatic --noinput --verbosity 0
VOLUME /data
EXPOSE 1337
HEALTHCHECK CMD curl -fsS http://localhost:${PORT}/health || exit 1
# The API by default; run workers with: docker run … ilios python manage.py runworkers
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py createcachetable && exec gunicorn --config gunicorn.conf.py"]
