# Concord's image: the worker, the projector, the API and the CLI, one code base with settings
# per role (docker-compose.yml). Two stages: the virtual environment is built in the first; the
# final stage holds the interpreter, that environment and worker.py, no pip and no build tools,
# and runs as an unprivileged user of its own, in a directory it cannot write, with one volume
# it can: the data directory (the SQLite store of a single-node install, the portal's key when
# no secret gives it). tests/e2e/test_shipped.py runs the wheel with this user and this layout.

FROM python:3.11.14-slim-bookworm AS build
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

FROM python:3.11.14-slim-bookworm
RUN groupadd --system --gid 10001 concord \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin concord \
    && python -m pip uninstall --yes pip setuptools wheel \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/concord
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY worker.py ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    CONCORD_LOG_FORMAT=json \
    CONCORD_DATA_DIR=/var/lib/concord
VOLUME /var/lib/concord
USER 10001:10001
CMD ["python", "worker.py"]
