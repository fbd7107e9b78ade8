# Concord's image: the worker, the projector, the API and the CLI, one code base with settings
# per role (docker-compose.yml). Two stages: the virtual environment is built in the first; the
# final stage holds the interpreter, that environment and worker.py, no pip and no build tools,
# and runs as an unprivileged user of its own.

FROM python:3.11-slim AS build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md worker.py ./
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY store/ store/
COPY audit/ audit/
COPY runtime/ runtime/
COPY api/ api/
COPY cli/ cli/
RUN pip install --no-cache-dir . \
    && pip uninstall --yes pip setuptools wheel

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin concord \
    && python -m pip uninstall --yes pip setuptools wheel
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY worker.py ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    CONCORD_LOG_FORMAT=json
USER concord
CMD ["python", "worker.py"]
