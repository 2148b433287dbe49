#!/usr/bin/env bash
# Start a Docker engine by hand for the coder's docker executor tests, and wait for it.
#
# For machines without systemd (CI, containers, these dev VMs). No registry is reachable
# here, so the engine needs no network of its own: the default bridge and iptables rules
# are switched off (the docker executor runs every container with network_mode=none).
# Idempotent: if an engine already answers, nothing is started.
#
#   bash sandbox-image/start-dockerd.sh        # prints the socket it waits on
#   DOCKERD_LOG=/path/to/log  DOCKERD_WAIT=90  # optional knobs
set -euo pipefail

SOCKET=/var/run/docker.sock
LOG=${DOCKERD_LOG:-/var/log/orchestrator-dockerd.log}
PIDFILE=/var/run/orchestrator-dockerd.pid
WAIT=${DOCKERD_WAIT:-60}

engine_answers() {
    # The Python SDK is what the executor uses; fall back to the CLI if it is absent.
    if command -v docker >/dev/null 2>&1; then
        docker -H "unix://$SOCKET" version --format '{{.Server.Version}}' >/dev/null 2>&1
    else
        curl -fsS --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1
    fi
}

if engine_answers; then
    echo "start-dockerd: an engine already answers on $SOCKET"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-dockerd: dockerd is not installed (apt-get install docker.io)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "start-dockerd: must run as root to start dockerd" >&2
    exit 1
fi

# Whether the process named in pid file $1 is alive and is $2. A stale pid file (the
# engine was killed, e.g. when a session ended) may name a zombie or a reused pid.
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}
our_dockerd_alive() { alive "$PIDFILE" dockerd; }

# dockerd reuses the containerd named in its pid file if that pid answers kill -0, and then
# waits forever for a socket a dead containerd will never create: drop stale pid files.
CONTAINERD_PIDFILE=/var/run/docker/containerd/containerd.pid
clear_stale_pid_files() {
    alive "$CONTAINERD_PIDFILE" containerd || rm -f "$CONTAINERD_PIDFILE"
    alive /var/run/docker.pid dockerd || rm -f /var/run/docker.pid
}

# A dockerd we started earlier may still be starting up: wait for it rather than start another.
if our_dockerd_alive; then
    echo "start-dockerd: dockerd (pid $(cat "$PIDFILE")) is already starting"
else
    rm -f "$PIDFILE"
    clear_stale_pid_files
    echo "start-dockerd: starting dockerd (log: $LOG)"
    # setsid: the engine must outlive this script and the shell that ran it.
    setsid dockerd \
        --host "unix://$SOCKET" \
        --bridge=none \
        --iptables=false \
        --ip6tables=false \
        --pidfile "$PIDFILE" \
        >>"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$((WAIT * 4))"); do
    if engine_answers; then
        echo "start-dockerd: engine ready on $SOCKET"
        exit 0
    fi
    sleep 0.25
done
echo "start-dockerd: dockerd did not answer within ${WAIT}s; last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
