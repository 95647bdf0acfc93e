# EquiNav production image: gunicorn serves the web app (config/gunicorn_conf.py: port,
# workers, an access log without query strings); the same image runs
# the Celery worker and beat with another command (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app
# DejaVu Sans: the right-of-access PDF prints patients' names in Vietnamese, Greek,
# Cyrillic and every Latin script as typed (navigator/right_of_access/pdf_layout.py).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 equinav

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings, not secrets: a throwaway key for this step only.
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --no-input \
    && mkdir -p /app/.run && chown -R equinav /app/.run

USER equinav
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn_conf.py", "config.wsgi:application"]
