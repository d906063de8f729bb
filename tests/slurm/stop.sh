#!/usr/bin/env bash
# Stop the daemons start.sh started (by their PID files) and nothing else.
set -uo pipefail
STATE=${EDSMAPS_SLURM_DIR:-/tmp/edsmaps-slurm}
for daemon in slurmd slurmctld; do
    pidfile="$STATE/$daemon.pid"
    if [ -s "$pidfile" ]; then
        pid=$(cat "$pidfile")
        kill "$pid" 2> /dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
done
rm -f /run/slurmctld.pid
if [ -e "$STATE/munged.ours" ]; then
    pkill -x munged || true
    rm -f "$STATE/munged.ours"
fi
