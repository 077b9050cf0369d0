# Concierge app image: `docker compose up` runs it with PostgreSQL and Redis (docker-compose.yml).
FROM python:3.11-slim

# MALLOC_ARENA_MAX: glibc's per-thread heaps held ~130 MB more after `concierge bench engine`
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_NO_CACHE_DIR=1 \
    CONCIERGE_STATE_DIR=/var/lib/concierge \
    CONCIERGE_DATA_DIR=/app/data/demo

RUN useradd --create-home --uid 10001 concierge \
    && mkdir -p /var/lib/concierge && chown concierge /var/lib/concierge
WORKDIR /app

# Dependencies first (cached while only the app changes).
COPY pyproject.toml README.md ./
COPY core core
COPY agents agents
RUN pip install '.[postgres]'

COPY app.py serve.py ./
COPY .streamlit .streamlit
COPY pages pages
COPY ui ui
COPY data data

USER concierge
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
# Migrations first (idempotent; the app also checks on start), then the server.
CMD ["sh", "-c", "concierge db upgrade && exec streamlit run serve.py --server.port 8501 --server.address 0.0.0.0"]
