#!/usr/bin/env bash
# slurm-local.sh - a one-node Slurm cluster on this machine (munged + slurmctld
# + slurmd, Debian's slurm-wlm 22.05), so fabricbench can be launched with
# srun / sbatch exactly as users do on a real cluster.
#
#   slurm-local.sh up     [-d DIR] [-c CPUS] [-p PORT] [-L]
#   slurm-local.sh down   [-d DIR]
#   slurm-local.sh status [-d DIR]
#   slurm-local.sh env    [-d DIR]        prints "export SLURM_CONF=..."
#
# DIR (state, default /tmp/slurm-local, or $SLURM_LOCAL_DIR) holds
# everything: slurm.conf, the munge key and socket, pid files, logs,
# slurmctld state and slurmd spool.  Nothing is written elsewhere except
# /etc/slurm/slurm.conf, a symlink to DIR/slurm.conf made only if that path
# is free and -L is not given (so plain srun/sbatch/sinfo find the cluster;
# else set SLURM_CONF).  The tests use -L and SLURM_CONF.
#
# One node = `hostname -s` (NodeAddr 127.0.0.1), partition "debug"
# (default, no time limit), select/cons_tres CR_CPU, proctrack/linuxproc,
# task/none (no cgroups, no binding), SlurmUser=root, no accounting.
# CPUS (default 4 x nproc) is the CPU count Slurm sees (CPUS cores, 1
# thread each; SlurmdParameters=config_overrides lets it exceed the real
# count), so `srun -n 8` runs on 2 real cores without -O/--overcommit.
# With -c = real cores, more tasks than CPUs need `srun -O` (--oversubscribe
# does NOT help: the job pends forever).  Partition OverSubscribe=FORCE:4
# lets up to 4 jobs share a CPU.
# MpiDefault = pmix if the mpi/pmix plugin is installed, else none.  Debian's
# Open MPI reaches srun only through PMIx (srun --mpi=pmix); Slurm's plugin
# loads libpmix.so, which only libpmix-dev provides.
# PORT: slurmctld port (default 6817); slurmd uses PORT+1.
#
# up:   installs slurm-wlm, munge and libpmix-dev with apt if missing (root),
#       writes the config, starts the three daemons (each writes its pid
#       file in DIR), waits until sinfo shows the node idle.  Already up:
#       says so, exit 0 (options are then ignored: down first to change
#       them).  Stale or partial state: cleaned first.  On failure: prints
#       the log tails, stops what it started, exit 1.
# down: cancels all jobs, stops the daemons by the PIDs in DIR's pid files
#       (TERM, KILL after 10 s; a PID is only signalled if it is still that
#       daemon), kills leftover slurmstepd of THIS cluster (found by their
#       sockets in DIR's spool), removes the /etc symlink and DIR.  OK if
#       nothing is up.
# status: daemons + sinfo + squeue; exit 0 all up, 1 partial, 3 down.
set -euo pipefail

PROG=slurm-local
STATE=${SLURM_LOCAL_DIR:-/tmp/slurm-local}
CPUS=""
PORT=6817
ETC_CONF=/etc/slurm/slurm.conf
LINK_ETC=1
MARK=.slurm-local          # marker file: DIR was made by this script

die()  { echo "$PROG: error: $*" >&2; exit 1; }
warn() { echo "$PROG: warning: $*" >&2; }
log()  { echo "$PROG: $*" >&2; }

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-1}"
}

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root"; }

# ---- paths -------------------------------------------------------------
set_paths() {
  case $STATE in /*) ;; *) die "state dir must be an absolute path: '$STATE'";; esac
  [[ $STATE =~ ^[A-Za-z0-9._/-]+$ ]] || die "state dir: only [A-Za-z0-9._/-] allowed: '$STATE'"
  STATE=${STATE%/}
  if [ -z "$STATE" ] || [ "$STATE" = / ]; then die "refusing state dir '/'"; fi
  CONF=$STATE/slurm.conf
  MSOCK=$STATE/munge/munge.socket.2
  PID_munged=$STATE/run/munged.pid
  PID_slurmctld=$STATE/run/slurmctld.pid
  PID_slurmd=$STATE/run/slurmd.pid
  NODE=$(hostname -s)
}

# ---- pid files ---------------------------------------------------------
# daemon_pid NAME: prints the PID if the pid file names a live process whose
# executable is NAME (guards against a recycled PID); else returns 1.
daemon_pid() {
  local f="PID_$1" pid exe
  [ -r "${!f}" ] || return 1
  pid=$(tr -dc 0-9 < "${!f}")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  # Debian: /usr/sbin/slurmd -> /etc/alternatives/slurmd -> /usr/sbin/slurmd-wlm
  [ "$exe" = "$(readlink -f "$(command -v "$1" || echo "/usr/sbin/$1")")" ] ||
    [ "${exe##*/}" = "$1" ] || return 1
  echo "$pid"
}

# pid 1 here may reap orphans late: an exited daemon can linger as a zombie
is_zombie() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }

stop_pid() {   # $1 = pid, $2 = label: TERM, wait up to 10 s, then KILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    [ -d "/proc/$pid" ] || { log "stopped $2 (pid $pid)"; return 0; }
    is_zombie "$pid" && { log "stopped $2 (pid $pid)"; return 0; }
    sleep 0.1
  done
  warn "$2 (pid $pid) ignored TERM for 10 s; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_daemon() {   # $1 = munged | slurmctld | slurmd
  local pid
  if pid=$(daemon_pid "$1"); then stop_pid "$pid" "$1"; fi
  local f="PID_$1"; rm -f "${!f}"
}

# PIDs of slurmstepd processes of THIS cluster: processes holding a unix
# socket bound under our spool dir (stepd listens on SPOOL/<node>_<job>.<step>).
stepd_pids() {
  local inodes p fd
  [ -d "$STATE/spool" ] || return 0
  inodes=$(awk -v d="$STATE/spool/" 'NR > 1 && index($8, d) == 1 {print $7}' /proc/net/unix)
  [ -n "$inodes" ] || return 0
  for p in /proc/[0-9]*; do
    for fd in "$p"/fd/*; do
      case $(readlink "$fd" 2>/dev/null) in
        socket:\[*\])
          local ino; ino=$(readlink "$fd"); ino=${ino#socket:[}; ino=${ino%]}
          if grep -qx "$ino" <<<"$inodes"; then echo "${p#/proc/}"; break; fi;;
      esac
    done
  done 2>/dev/null
}

descendants() {   # $1 = pid: prints every descendant's pid (from /proc: ps may be missing)
  local st
  for st in /proc/[0-9]*/stat; do
    # "pid (comm) state ppid ...": comm may hold spaces, so cut after the last ')'
    sed -n 's/^\([0-9]*\) .*) [A-Za-z] \([0-9]*\) .*/\1 \2/p' "$st" 2>/dev/null
  done | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { n = split(kids[root], q, " ")
          for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], c, " ")
                                     for (j = 1; j <= m; j++) q[++n] = c[j] } }'
}

stop_stepds() {   # leftover slurmstepd of this cluster and their job processes
  local s p all=()
  # shellcheck disable=SC2207   # pids: word splitting intended
  for s in $(stepd_pids); do all+=("$s" $(descendants "$s")); done
  [ "${#all[@]}" -gt 0 ] || return 0
  warn "killing leftover job steps (slurmstepd + tasks): ${all[*]}"
  kill -TERM "${all[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    local alive=0
    for p in "${all[@]}"; do [ -d "/proc/$p" ] && ! is_zombie "$p" && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null || true
}

# ---- install -------------------------------------------------------------
have_libpmix() {   # Slurm's mpi/pmix plugin dlopens libpmix.so (libpmix-dev)
  local f
  for f in /usr/lib/*/libpmix.so /usr/lib/libpmix.so; do [ -e "$f" ] && return 0; done
  return 1
}

ensure_installed() {
  local missing=() c pkgs=()
  for c in munged munge slurmctld slurmd srun sbatch sinfo scontrol; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ "${#missing[@]}" -eq 0 ] || pkgs+=(slurm-wlm munge)
  have_libpmix || { missing+=(libpmix.so); pkgs+=(libpmix-dev); }
  [ "${#pkgs[@]}" -eq 0 ] && return 0
  need_root "installing ${pkgs[*]} (missing: ${missing[*]})"
  log "installing ${pkgs[*]} with apt (missing: ${missing[*]})"
  local apt=(apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${pkgs[@]}")
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"/tmp/$PROG-apt.log" 2>&1; then
    log "install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update \
      >>"/tmp/$PROG-apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"/tmp/$PROG-apt.log" 2>&1 ||
      { tail -n 20 "/tmp/$PROG-apt.log" >&2; die "apt-get install failed (log: /tmp/$PROG-apt.log)"; }
  fi
  for c in "${missing[@]}"; do
    [ "$c" = libpmix.so ] && { have_libpmix || die "libpmix.so still missing after install"; continue; }
    command -v "$c" >/dev/null 2>&1 || die "'$c' still missing after install"
  done
}

plugin_dir() {   # where Debian's slurm plugins live
  local d
  for d in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib/*/slurm-wlm /usr/lib/slurm-wlm /usr/lib/slurm; do
    [ -e "$d/select_cons_tres.so" ] && { echo "$d"; return 0; }
  done
  d=$(dpkg -L slurm-wlm-basic-plugins 2>/dev/null | grep '/select_cons_tres.so$' | head -n 1)
  [ -n "$d" ] && { dirname "$d"; return 0; }
  return 1
}

# ---- config ----------------------------------------------------------------
write_conf() {
  local mpi pdir
  [ -n "$CPUS" ] || CPUS=$(( 4 * $(nproc) ))
  pdir=$(plugin_dir) || die "cannot find Slurm's plugin dir (select_cons_tres.so)"
  mpi=none
  ls "$pdir"/mpi_pmix*.so >/dev/null 2>&1 && mpi=pmix
  MPI_DEFAULT=$mpi
  cat > "$CONF" <<EOF
# written by $PROG.sh up ($(date -Is)); removed by "$PROG.sh down"
ClusterName=local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$(( PORT + 1 ))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MSOCK
PluginDir=$pdir
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$PID_slurmctld
SlurmdPidFile=$PID_slurmd
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=$mpi
SchedulerType=sched/backfill
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=60
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 CPUs=$CPUS RealMemory=$(( $(awk '/^MemTotal/{print $2}' /proc/meminfo) / 1024 / 2 )) State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
  # mpi/pmix puts each step's client dir in /tmp/spmix_appdir_<uid>_<job>.<step>
  # by default; job ids restart at 1 with every fresh cluster, so a dir left by
  # a killed step would make that step fail.  Keep them in DIR instead.
  mkdir -p "$STATE/pmix"
  echo "PMIxCliTmpDirBase=$STATE/pmix" > "$STATE/mpi.conf"
}

link_etc_conf() {
  [ "$LINK_ETC" = 1 ] || return 0
  if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then
    return 0
  elif [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    warn "$ETC_CONF exists and is not ours: clients need 'export SLURM_CONF=$CONF'"
    return 0
  fi
  mkdir -p "${ETC_CONF%/*}"
  ln -s "$CONF" "$ETC_CONF"
}

unlink_etc_conf() {
  if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then
    rm -f "$ETC_CONF"
  fi
}

# port_listening PORT: a TCP socket listens there (from /proc: ss may be missing)
port_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
                    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ---- commands -----------------------------------------------------------------
S() { SLURM_CONF=$CONF "$@"; }   # run a Slurm client against our config

up_fail() {
  local f
  for f in "$STATE"/log/*.log "$STATE"/log/*.out; do
    [ -s "$f" ] || continue
    echo "---- tail of $f" >&2
    tail -n 15 "$f" >&2
  done
  log "up failed: $*; cleaning up"
  cmd_down >/dev/null 2>&1 || true
  die "up failed: $*"
}

wait_for() {   # $1 = seconds, $2 = what, rest = test command
  local n=$(( $1 * 10 )) what=$2
  shift 2
  for _ in $(seq "$n"); do
    "$@" && return 0
    sleep 0.1
  done
  up_fail "timed out after $(( n / 10 )) s waiting for $what"
}

cmd_up() {
  local t0 running=0 d
  t0=$(date +%s.%N)
  need_root up
  for d in munged slurmctld slurmd; do daemon_pid "$d" >/dev/null && running=$((running + 1)); done
  if [ "$running" -eq 3 ]; then
    log "already up (state dir $STATE)"
    cmd_status
    return 0
  fi
  if [ "$running" -gt 0 ] || [ -e "$STATE" ]; then
    log "stale or partial state in $STATE: cleaning it first"
    cmd_down
  fi
  ensure_installed
  # ports free?
  local p
  for p in "$PORT" "$(( PORT + 1 ))"; do
    if port_listening "$p"; then
      die "TCP port $p is in use (another Slurm?); choose another base port with -p"
    fi
  done

  mkdir -p "$STATE"
  : > "$STATE/$MARK"
  mkdir -p "$STATE"/{munge,run,log,ctld,spool}
  chmod 0755 "$STATE/munge"   # munged: socket dir must be o+x
  write_conf
  link_etc_conf

  # munge: own key and socket, so any system munged is left alone
  dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$STATE/munge/munge.key"
  munged --key-file="$STATE/munge/munge.key" --socket="$MSOCK" \
    --pid-file="$PID_munged" --log-file="$STATE/log/munged.log" \
    --seed-file="$STATE/munge/munged.seed" \
    >>"$STATE/log/munged.out" 2>&1 || up_fail "munged did not start"
  wait_for 10 "munged" sh -c "munge -n -S '$MSOCK' | unmunge -S '$MSOCK' >/dev/null 2>&1"

  slurmctld -f "$CONF" >>"$STATE/log/slurmctld.out" 2>&1 || up_fail "slurmctld did not start"
  wait_for 20 "slurmctld to answer" sh -c "SLURM_CONF='$CONF' scontrol ping 2>/dev/null | grep -q UP"

  slurmd -f "$CONF" >>"$STATE/log/slurmd.out" 2>&1 || up_fail "slurmd did not start"
  wait_for 30 "node $NODE to be idle" sh -c "SLURM_CONF='$CONF' sinfo -h -n '$NODE' -o %T 2>/dev/null | grep -qx idle"

  local pm pc pd
  pm=$(daemon_pid munged) || up_fail "munged died"
  pc=$(daemon_pid slurmctld) || up_fail "slurmctld died"
  pd=$(daemon_pid slurmd) || up_fail "slurmd died"
  log "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s: node $NODE idle," \
      "CPUs=$CPUS, partition debug, MpiDefault=$MPI_DEFAULT"
  log "pids: munged $pm, slurmctld $pc, slurmd $pd; logs in $STATE/log"
  if [ "$(readlink "$ETC_CONF" 2>/dev/null)" = "$CONF" ]; then
    log "config: $CONF (linked from $ETC_CONF)"
  else
    log "config: $CONF -- run: export SLURM_CONF=$CONF"
  fi
}

cmd_down() {
  local t0 ids
  t0=$(date +%s.%N)
  need_root down
  if [ ! -e "$STATE" ]; then
    unlink_etc_conf
    log "nothing to do ($STATE does not exist)"
    return 0
  fi
  [ -e "$STATE/$MARK" ] || die "$STATE was not made by $PROG.sh (no $MARK); not touching it"
  if daemon_pid slurmctld >/dev/null && [ -r "$CONF" ]; then
    ids=$(S squeue -h -o %i 2>/dev/null | tr '\n' ' ') || true
    if [ -n "${ids// /}" ]; then
      log "cancelling jobs: $ids"
      # shellcheck disable=SC2086
      S scancel $ids 2>/dev/null || true
      for _ in $(seq 100); do
        [ -z "$(S squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.1
      done
    fi
  fi
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_stepds
  stop_daemon munged
  unlink_etc_conf
  rm -rf "$STATE"
  log "down in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
}

cmd_status() {
  local n=0 d pid
  for d in munged slurmctld slurmd; do
    if pid=$(daemon_pid "$d"); then
      printf '%-10s running (pid %s)\n' "$d" "$pid"; n=$((n + 1))
    else
      printf '%-10s stopped\n' "$d"
    fi
  done
  if [ "$n" -gt 0 ] && [ -r "$CONF" ]; then
    echo "config     $CONF$([ "$(readlink "$ETC_CONF" 2>/dev/null)" = "$CONF" ] && echo " (= $ETC_CONF)")"
    echo "MpiDefault $(awk -F= '/^MpiDefault=/{print $2}' "$CONF")"
  fi
  local st; st=$(stepd_pids | tr '\n' ' ')
  [ -z "$st" ] || echo "slurmstepd pids: $st"
  if daemon_pid slurmctld >/dev/null; then
    S sinfo -N -o '%N %P %T %c %O' || true
    S squeue || true
  fi
  [ "$n" -eq 3 ] && return 0
  [ "$n" -eq 0 ] && return 3
  return 1
}

cmd_env() {
  [ -r "$CONF" ] || die "no cluster in $STATE (run: $0 up)"
  echo "export SLURM_CONF=$CONF"
}

# ---- main -------------------------------------------------------------------------
[ $# -ge 1 ] || usage
CMD=$1; shift
case $CMD in -h|--help|help) usage 0;; esac
while [ $# -gt 0 ]; do
  case $1 in
    -d) [ $# -ge 2 ] || usage; STATE=$2; shift 2;;
    -c) [ $# -ge 2 ] || usage; CPUS=$2; shift 2
        [[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "-c: expected a positive integer, got '$CPUS'";;
    -p) [ $# -ge 2 ] || usage; PORT=$2; shift 2
        if ! [[ $PORT =~ ^[1-9][0-9]*$ ]] || [ "$PORT" -ge 65535 ]; then die "-p: bad port '$PORT'"; fi;;
    -L) LINK_ETC=0; shift;;
    -h|--help) usage 0;;
    *) die "unknown option '$1' (see $0 --help)";;
  esac
done
set_paths
case $CMD in
  up)     cmd_up;;
  down)   cmd_down;;
  status) cmd_status;;
  env)    cmd_env;;
  *)      die "unknown command '$CMD' (up, down, status, env)";;
esac
