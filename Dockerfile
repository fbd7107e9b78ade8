# Concord's image: the worker, the CLI and (later) the API, one code base with settings per role.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY store/ store/
COPY audit/ audit/
COPY runtime/ runtime/
COPY api/ api/
COPY cli/ cli/
RUN pip install --no-cache-dir .
ENV CONCORD_LOG_FORMAT=json
USER nobody
CMD ["python", "worker.py"]
