# Letter's container image: the API, the dashboard and the worker in one image.
#   docker build -t letter .
#   docker run -p 8300:8300 -v letter-data:/data letter                 # embedded SQLite
#   docker run -e LETTER_DATABASE_URL=postgresql://… letter serve --no-worker --workers 2
#   docker run -e LETTER_DATABASE_URL=postgresql://… letter worker
# The dashboard's built assets are committed, so the image needs no Node.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/letter \
 && /opt/letter/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/letter/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /data --create-home letter
COPY --from=build /opt/letter /opt/letter
ENV PATH=/opt/letter/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LETTER_DATA_DIR=/data
USER letter
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8300
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8300/healthz', timeout=4)"]
ENTRYPOINT ["letter"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8300"]
