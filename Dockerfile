# One image for every service of docker-compose.yml: web (gunicorn), worker and beat (Celery), and
# the sandbox (manage.py run_sandbox). Settings come from the environment at run time, never from
# the image: see .env.example.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# The project itself. PYTHONPATH above keeps /app first on the path for every entry point
# (manage.py, gunicorn, celery); the installed copy would serve as well (templates are package
# data). Static files are collected now, with the base settings (their embedded
# defaults need no secret and no service), into /app/staticfiles (STATIC_ROOT).
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && DJANGO_SETTINGS_MODULE=config.settings.base python manage.py collectstatic --noinput --verbosity 0

# Run as an unprivileged user; the code stays owned by root, read-only to the app.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin app
USER app

EXPOSE 8000 8001
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]
