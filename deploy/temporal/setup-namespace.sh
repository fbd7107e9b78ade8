#!/bin/sh
# Makes the Temporal namespace Concord runs in, and Concord's search attributes (the arguments,
# each of type Keyword), once Temporal serves. Safe at every start: a namespace that exists is
# kept as it is, and creating an attribute that exists with the same type changes nothing.
set -eu

: "${TEMPORAL_ADDRESS:?the frontend, host:port}"
: "${TEMPORAL_NAMESPACE:?the namespace to make}"
: "${TEMPORAL_NAMESPACE_RETENTION:?how long closed workflows are kept, e.g. 30d}"

# Runs its arguments every 5 seconds, for at most 5 minutes, until they succeed; the last
# attempt shows its error.
retry() {
    attempt=1
    until "$@" >/dev/null 2>&1; do
        if [ "$attempt" -ge 60 ]; then
            "$@"
            return
        fi
        attempt=$((attempt + 1))
        sleep 5
    done
}

retry temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
    --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
    echo "namespace $TEMPORAL_NAMESPACE exists"
else
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
        --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_NAMESPACE_RETENTION"
fi

# A new namespace reaches the frontend's cache within seconds: until then, creating its
# attributes fails and is retried.
for attribute in "$@"; do
    retry temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" \
        --namespace "$TEMPORAL_NAMESPACE" --name "$attribute" --type Keyword
    echo "search attribute $attribute (Keyword) in $TEMPORAL_NAMESPACE"
done
