#!/usr/bin/env bash
# Installs (once, cached) and starts moto's server mode: a local S3 for the tests that read
# DynamoDB exports from a bucket (shared/history), EventBridge and SQS for the notification
# tests (shared/notify, infra/cli). PyPI is its only network access, on the
# first run or after a version bump.
#
#   source infra/scripts/moto.sh   # defines moto_install, moto_start, moto_stop
#   moto_start                     # starts on a free port; exports AWS_ENDPOINT_URL_S3,
#                                  # AWS_ENDPOINT_URL_EVENTBRIDGE and AWS_ENDPOINT_URL_SQS
#   moto_stop
#
# The virtual environment lives in ${LEADSCORE_CACHE:-.cache}/moto-venv. No `set -e` here:
# this file is sourced (see dynamodb-local.sh).

LEADSCORE_CACHE="${LEADSCORE_CACHE:-$(pwd)/.cache}"
MOTO_VERSION=5.2.5

moto_install() {
    local venv="$LEADSCORE_CACHE/moto-venv"
    local stamp="$venv/.moto-$MOTO_VERSION"
    if [ ! -f "$stamp" ]; then
        echo "== installing moto[server]==$MOTO_VERSION into $venv" >&2
        python3 -m venv "$venv" >&2 || return 1
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "moto[server]==$MOTO_VERSION" >&2 || return 1
        touch "$stamp"
    fi
    echo "$venv/bin/moto_server"
}

moto_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto's server on 127.0.0.1 and waits until it answers. Exports AWS_ENDPOINT_URL_S3,
# AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL_SQS (one server answers every service), MOTO_PID,
# and dummy credentials (as ddb_start does).
moto_start() {
    local server port
    server=$(moto_install) || return 1
    port=$(moto_free_port)
    mkdir -p "$LEADSCORE_CACHE"
    "$server" -H 127.0.0.1 -p "$port" >"$LEADSCORE_CACHE/moto.log" 2>&1 &
    MOTO_PID=$!
    export MOTO_PID
    export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
    export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$port"
    export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$port"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "moto listening on $AWS_ENDPOINT_URL_S3 (pid $MOTO_PID)" >&2
            return 0
        fi
        sleep 0.2
    done
    echo "moto did not start; log:" >&2
    cat "$LEADSCORE_CACHE/moto.log" >&2
    return 1
}

moto_stop() {
    if [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=
    fi
}
