#!/usr/bin/env bash
# Start a one-node SLURM cluster on localhost (munged, slurmctld, slurmd; no systemd) for the
# tests. Idempotent: daemons already running are left alone. Needs root and Debian's
# slurmctld slurmd slurm-client munge. Writes /etc/slurm/slurm.conf (jobs' own srun reads that
# path) unless a slurm.conf not written by this script is already there.
set -euo pipefail
STATE=${EDSMAPS_SLURM_DIR:-/tmp/edsmaps-slurm}
mkdir -p "$STATE/spool" "$STATE/state" "$STATE/log"
HOST=$(hostname -s)
read -r CPUS MEMORY < <(slurmd -C | awk '/NodeName/ {for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}; print v["CPUs"], v["RealMemory"]}')
CONF=/etc/slurm/slurm.conf
MARKER="# written by edsmaps tests/slurm/start.sh"
if [ -e "$CONF" ] && ! grep -qx "$MARKER" "$CONF"; then
    echo "$CONF exists and was not written by this script; refusing to overwrite it" >&2
    exit 1
fi
mkdir -p /etc/slurm
cat > "$CONF" <<CONF
$MARKER
ClusterName=edsmaps-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.txt
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY Gres=gpu:fake:1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
printf '%s\nNodeName=%s Name=gpu Type=fake File=/dev/null\n' "$MARKER" "$HOST" > /etc/slurm/gres.conf

if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    [ -s /etc/munge/munge.key ] || runuser -u munge -- /usr/sbin/mungekey --create 2> /dev/null || true
    runuser -u munge -- /usr/sbin/munged
    touch "$STATE/munged.ours"
fi
pidfile_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }
pidfile_alive "$STATE/slurmctld.pid" || { rm -f "$STATE/slurmctld.pid"; slurmctld; }
pidfile_alive "$STATE/slurmd.pid" || { rm -f "$STATE/slurmd.pid"; slurmd; }
for _ in $(seq 60); do
    state=$(sinfo -h -o %T 2> /dev/null || true)
    case "$state" in idle* | mixed* | allocated*) exit 0 ;; esac
    sleep 0.5
done
echo "SLURM node did not become idle (state: ${state:-none}); see $STATE/log/" >&2
exit 1
