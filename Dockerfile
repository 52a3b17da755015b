# One image for everything in docker-compose.yml: the batch service (default command), the
# connector (`c0 ...`) and the demo (`python main.py`). Only the installed package is in the
# image, never the source tree: the build context is bind-mounted for the install alone.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# rw: setuptools writes build/ and *.egg-info next to the sources; those writes are discarded.
RUN --mount=type=bind,target=/src,rw \
    pip install "/src[postgres]"

# A fixed uid so a named volume keeps belonging to the same user across image rebuilds; /data
# is created here (owned by that user) so a fresh volume mounted there inherits the ownership.
RUN useradd --create-home --uid 10001 --user-group batch \
    && mkdir /data \
    && chown batch:batch /data

WORKDIR /home/batch
COPY main.py ./
USER 10001:10001

# Inside a container the service must listen on all interfaces to be reachable at all;
# docker-compose.yml publishes its ports on 127.0.0.1 only.
ENV BATCH_HOST=0.0.0.0 \
    BATCH_PORT=8080 \
    BATCH_DATABASE_URL=sqlite:////data/batch.db

EXPOSE 8080 8000 9090

# slim has no curl: the image's own Python does the probe. docker-compose.yml overrides this
# for the connector, whose probe is a gRPC health check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]

CMD ["batch-service"]
