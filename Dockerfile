FROM python:3.11-slim

# Tesseract reads the scripts and letters the bundled recognizer cannot: these packs cover the
# main European languages (their diacritics), Hebrew, Greek (modern and polytonic), Hindi,
# Arabic and Russian; add packs and extend OCR_LANGUAGES for others.
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DATA_DIR=/data PORT=1337 \
    OCR_LANGUAGES=eng+deu+fra+spa+ita+por+nld+heb+ell+grc+hin+ara+rus
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
       tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd tesseract-ocr-deu tesseract-ocr-fra \
       tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-por tesseract-ocr-nld tesseract-ocr-heb \
       tesseract-ocr-ell tesseract-ocr-grc tesseract-ocr-hin tesseract-ocr-ara tesseract-ocr-rus \
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
# Migrations, the API and the workers in one container, as the original's image ran them;
# ILIOS_ROLE=api or ILIOS_ROLE=workers for containers that scale them apart.
CMD ["scripts/entrypoint.sh"]
