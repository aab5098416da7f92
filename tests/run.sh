#!/usr/bin/env bash
# tests/run.sh - the test suite, as CI runs it (README.md, Quick start):
#   1. the tools the tests drive besides chute: tmux, bash, zsh and fish (completions are
#      tested in real shells), GNU time (a child's peak memory) and jq (the stream example's
#      transform), kcat (the Kafka tests' peer), installed from Debian's packages when missing
#      and we may;
#   2. cargo test --locked --release --features failpoints (extra arguments are passed on).
# The Kafka backend's scenarios run when CHUTE_TEST_KAFKA names a broker (.ci/run starts one:
# CHUTE_TEST_KAFKA=$(scripts/kafka-broker.sh start) tests/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in tmux zsh fish jq kcat; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
# `time` is also a shell keyword: look for the program.
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
        echo "tests/run.sh: installing ${missing[*]} (Debian packages)" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "tests/run.sh: ${missing[*]} missing and cannot be installed here (needs root and apt-get); the tests that need them will say so" >&2
    fi
fi

exec cargo test --locked --release --features failpoints "$@"
