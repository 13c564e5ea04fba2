# Truss production image: gunicorn serving Django, static files via whitenoise.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml ./
COPY truss/__init__.py truss/__init__.py
RUN pip install --no-compile . && pip uninstall -y truss

COPY . .
RUN DEBUG=false SECRET_KEY=collectstatic-only HYDRA_ADMIN_URL=http://x HYDRA_PUBLIC_URL=http://x \
    KRATOS_ADMIN_URL=http://x KRATOS_PUBLIC_URL=http://x python manage.py collectstatic --noinput -v0 \
 && useradd --system --uid 10001 truss && mkdir -p /app/var && chown truss /app/var
USER truss
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "truss.wsgi"]
