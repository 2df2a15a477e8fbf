# stillmotion's image: the API, the workers and the command line on Debian bookworm's Python 3.11.
#
#   docker build -t stillmotion .                                the CPU image (the live2d engine)
#   docker build -t stillmotion:cuda --build-arg VARIANT=cuda .  adds torch's CUDA build and the diffusion engine
#
# Both carry the PostgreSQL driver and boto3, so one image runs `serve` and `worker` in any deployment.
# BASE_IMAGE may name any Debian bookworm image (the tests build from one made with debootstrap).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG VARIANT=cpu
# A CA bundle for pip, for networks that reach PyPI through an intercepting proxy (mount the file when building).
ARG PIP_CERT_FILE=
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/stillmotion
COPY pyproject.toml README.md LICENSE /src/
COPY constraints /src/constraints
COPY src /src/src
RUN set -eu; \
    pip() { /opt/stillmotion/bin/pip install --no-cache-dir ${PIP_CERT_FILE:+--cert "$PIP_CERT_FILE"} "$@"; }; \
    pip --upgrade pip; \
    case "$VARIANT" in \
        cpu) pip "/src[postgres,s3]" ;; \
        cuda) pip -c /src/constraints/diffusion.txt torch \
              && pip -c /src/constraints/diffusion.txt "/src[postgres,s3,diffusion]" ;; \
        *) echo "VARIANT must be cpu or cuda (got $VARIANT)" >&2; exit 2 ;; \
    esac

FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 stillmotion \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home stillmotion \
    && mkdir /data && chown stillmotion:stillmotion /data
COPY --from=build /opt/stillmotion /opt/stillmotion
ENV PATH=/opt/stillmotion/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    STILLMOTION_DATA_DIR=/data
USER stillmotion
WORKDIR /data
VOLUME /data
EXPOSE 8000
# `serve`'s /healthz (503 while the database, storage or disk is failing). Serving on another port, set
# STILLMOTION_HEALTHCHECK_URL; a worker container has no HTTP (compose.yaml turns the check off there).
ENV STILLMOTION_HEALTHCHECK_URL=http://127.0.0.1:8000/healthz
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['STILLMOTION_HEALTHCHECK_URL'], timeout=4)"]
ENTRYPOINT ["stillmotion"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
