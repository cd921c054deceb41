#!/usr/bin/env bash
# fabric-lab.sh - fabricbench's fabric lab: N test hosts as network namespaces behind one
# Linux bridge (the "leaf switch"), every host link shaped with tbf in BOTH directions, with
# chosen hosts slowed down (--degrade) or made lossy (--loss), so that a fabric sweep
# (`fabricbench pairs`) has a known answer. Runs on one machine; no rack, no RDMA device.
#
#   fabric-lab.sh up    [-p PREFIX] [-n HOSTS] [-r RATE] [--queue-ms MS]
#                       [--degrade H:RATE]... [--loss H:PCT]...
#   fabric-lab.sh down  [-p PREFIX]            removes the lab; fine when there is none
#   fabric-lab.sh exec  [-p PREFIX] H CMD...   runs CMD in host H (0..N-1, or "sw")
#   fabric-lab.sh hosts [-p PREFIX]            "index netns address" per line
#
#   -p, --prefix P     names of the namespaces: P<h0..>, Psw (default fl; letters, digits, _)
#   -n, --hosts N      number of hosts, 1..250 (default 4)
#   -r, --rate RATE    rate of every host link, tc units: 200mbit, 1gbit (default 1gbit)
#   --queue-ms MS      tbf queue beyond the burst, in ms of the link's rate (default 25)
#   --degrade H:RATE   host H's link (both directions) at RATE instead
#   --loss H:PCT       drop PCT % of the frames that host H's link carries, in each direction
#
# Layout (nothing is added to the root namespace's network):
#   netns Psw    bridge br0 (STP off), one port h<i> per host
#   netns Ph<i>  lo + eth0 = 10.77.0.<i+1>/24, the veth peer of Psw:h<i>
# 10.77.0.0/24 exists only inside the lab (no route out, no default route); IPv6 is off in
# the lab so that no router solicitation or DAD traffic crosses the shaped links.
#
# Shaping: a tbf root qdisc on the host's eth0 (host -> switch) and on the switch port h<i>
# (switch -> host). burst = max(128 KiB, 1 ms of the rate): at least one 64 KiB GSO packet,
# which tbf must never split; queue limit = burst + 25 ms of the rate. A shorter queue (5 ms)
# overflows while TCP probes for bandwidth: a healthy 200 Mbit/s link then drops whole 64 KiB
# GSO packets, and an occasional retransmission timeout (200 ms or more) makes it look slow.
# tbf counts L2 bytes without preamble, IFG or FCS, so one TCP stream carries ~95.6% of RATE.
# Loss: see apply_loss. There is no --delay: netem is what adds delay, and the kernels this
# lab was written on do not build it.
#
# exec passes CMD's exit status through. down sends TERM (KILL after 2 s) to processes still
# inside the lab's namespaces, then deletes them. up refuses when the lab exists and removes
# what it made when it fails partway.
#
# Exit status: 0 ok; 1 error (bad usage, the lab exists, a command failed); 77 the lab cannot
# run here (not root, no `ip netns`, no tc; no iptables for --loss), reason on stderr, so that
# test runners report a skip.
set -euo pipefail

PROG=fabric-lab
PREFIX=fl
HOSTS=4
RATE=1gbit
QUEUE_MS=25           # tbf queue beyond the burst, in ms of the link rate
MIN_BURST=131072      # bytes: one 64 KiB GSO packet with room to spare
DEGRADE=()            # "H:RATE"
LOSS=()               # "H:PCT"

die()         { echo "$PROG: error: $*" >&2; exit 1; }
warn()        { echo "$PROG: warning: $*" >&2; }
log()         { echo "$PROG: $*" >&2; }
unavailable() { echo "$PROG: SKIP: $*" >&2; exit 77; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
  exit "${1:-1}"
}

# ---- where the lab can run ---------------------------------------------
check_host() {   # $1 = command
  [ "$(id -u)" = 0 ] || unavailable "$1 needs root (network namespaces, tc, iptables)"
  command -v ip >/dev/null 2>&1 || unavailable "'ip' not found (install iproute2)"
  ip netns list >/dev/null 2>&1 || unavailable "'ip netns' does not work here (kernel without network namespaces?)"
  if [ "$1" = up ]; then
    command -v tc >/dev/null 2>&1 || unavailable "'tc' not found (install iproute2)"
    [ "${#LOSS[@]}" -eq 0 ] || command -v iptables >/dev/null 2>&1 ||
      unavailable "--loss needs iptables (install iptables)"
  fi
}

# ---- names -------------------------------------------------------------
sw_ns()   { echo "${PREFIX}sw"; }
host_ns() { echo "${PREFIX}h$1"; }
host_ip() { echo "10.77.0.$(($1 + 1))"; }

# This lab's namespaces that exist now, hosts in index order and the switch last.
lab_namespaces() {
  local all
  all=$(ip netns list 2>/dev/null | awk '{ print $1 }')
  awk -v p="$PREFIX" 'index($0, p "h") == 1 && substr($0, length(p) + 2) ~ /^[0-9]+$/ {
      print substr($0, length(p) + 2) }' <<<"$all" | sort -n | sed "s/^/${PREFIX}h/"
  awk -v s="$(sw_ns)" '$0 == s' <<<"$all"
}

# ---- rates and specs ---------------------------------------------------
rate_bits() {   # <number>[k|m|g|t]bit -> bits/s (SI), or return 1
  local r=${1,,}
  [[ $r =~ ^([0-9]+(\.[0-9]+)?)([kmgt]?)bit$ ]] || return 1
  awk -v n="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[3]}" 'BEGIN {
    m = 1; if (u == "k") m = 1e3; else if (u == "m") m = 1e6;
    else if (u == "g") m = 1e9; else if (u == "t") m = 1e12;
    printf "%.0f\n", n * m }'
}

checked_rate() {   # $1 = rate, $2 = option (for the message) -> bits/s
  local b
  b=$(rate_bits "$1") || die "$2: bad rate '$1' (tc units, e.g. 200mbit, 1gbit)"
  [ "$b" -ge 8000 ] || die "$2: rate '$1' is below tbf's useful minimum of 8kbit"
  echo "$b"
}

# "H:VALUE" -> SPEC_HOST, SPEC_VAL, with H checked against the host count.
split_spec() {   # $1 = option, $2 = spec
  [[ $2 =~ ^([0-9]+):(.+)$ ]] || die "$1: expected HOST:VALUE (e.g. 2:50mbit), got '$2'"
  SPEC_HOST=$((10#${BASH_REMATCH[1]}))
  SPEC_VAL=${BASH_REMATCH[2]}
  [ "$SPEC_HOST" -lt "$HOSTS" ] || die "$1: host $SPEC_HOST is not in 0..$((HOSTS - 1))"
}

tbf_params() {   # bits/s -> "burst limit" in bytes
  awk -v b="$1" -v mb="$MIN_BURST" -v q="$QUEUE_MS" 'BEGIN {
    Bps = b / 8; burst = Bps / 1000; if (burst < mb) burst = mb;
    printf "%d %d\n", burst, burst + Bps * q / 1000 }'
}

shape() {   # $1 = netns, $2 = device, $3 = bits/s
  local burst limit
  read -r burst limit < <(tbf_params "$3")
  tc -n "$1" qdisc replace dev "$2" root handle 1: tbf rate "$3bit" burst "$burst" limit "$limit"
}

# Loss without netem: an iptables "statistic --mode random" DROP where each direction of the
# host's link is RECEIVED, after the frame has used the link's rate (as a frame with a bad
# FCS would be):
#   switch -> host: the host's INPUT chain (-i eth0)
#   host -> switch: the switch's FORWARD chain for frames bridged in from port h<i>
# Not the host's OUTPUT chain: a drop there is a local send error for the host's own TCP,
# which sends the segment again at once; no retransmission is counted and the rate hardly
# changes. The unit of loss is one skb: TCP over veth travels as GSO packets of up to 64 KiB,
# so losses come in bursts, while the fraction of segments lost stays about PCT.
apply_loss() {   # $1 = host index, $2 = percent
  local prob
  prob=$(awk -v p="$2" 'BEGIN { printf "%.6f\n", p / 100 }')
  ip netns exec "$(host_ns "$1")" iptables -w -A INPUT -i eth0 \
    -m statistic --mode random --probability "$prob" -j DROP
  ip netns exec "$(sw_ns)" iptables -w -A FORWARD -m physdev --physdev-in "h$1" \
    -m statistic --mode random --probability "$prob" -j DROP
}

ns_sysctl() {   # $1 = netns, then key=value...; keys this kernel lacks are skipped
  local ns=$1 kv
  shift
  for kv in "$@"; do
    ip netns exec "$ns" sysctl -qw "$kv" >/dev/null 2>&1 || true
  done
}

# ---- teardown ----------------------------------------------------------
ns_pids() { ip netns pids "$1" 2>/dev/null | tr '\n' ' ' || true; }

teardown() {   # kills what still runs in the lab, then deletes its namespaces
  local nss ns pids busy=()
  mapfile -t nss < <(lab_namespaces)
  [ "${#nss[@]}" -gt 0 ] || return 0
  for ns in "${nss[@]}"; do
    pids=$(ns_pids "$ns")
    if [ -n "${pids// /}" ]; then
      log "stopping processes left in $ns: $pids"
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      busy+=("$ns")
    fi
  done
  for ns in "${busy[@]}"; do
    for _ in $(seq 10); do
      [ -n "$(ns_pids "$ns" | tr -d ' ')" ] || break
      sleep 0.2
    done
    pids=$(ns_pids "$ns")
    # shellcheck disable=SC2086
    [ -z "${pids// /}" ] || kill -KILL $pids 2>/dev/null || true
  done
  for ns in "${nss[@]}"; do
    ip netns del "$ns" 2>/dev/null || warn "could not delete netns $ns"
  done
}

# ---- commands ----------------------------------------------------------
cmd_down() {
  local nss here
  here=$(ip netns identify $$ 2>/dev/null || true)
  [[ ! $here =~ ^${PREFIX}(sw|h[0-9]+)$ ]] ||
    die "down: run it from outside the lab (this shell is in netns $here)"
  mapfile -t nss < <(lab_namespaces)
  if [ "${#nss[@]}" -eq 0 ]; then
    echo "$PROG: no lab '$PREFIX' (nothing to remove)"
    return 0
  fi
  teardown
  mapfile -t nss < <(lab_namespaces)
  [ "${#nss[@]}" -eq 0 ] || die "down: still present: ${nss[*]}"
  echo "$PROG: lab '$PREFIX' removed"
}

rollback() {   # EXIT trap while up builds the lab
  [ "$1" -eq 0 ] && return 0
  log "up failed (status $1); removing what it created"
  teardown || true
  exit 1
}

cmd_up() {
  local i base spec sw ns existing burst limit
  local -a bits rate loss
  base=$(checked_rate "$RATE" --rate)
  for ((i = 0; i < HOSTS; i++)); do bits[i]=$base rate[i]=$RATE loss[i]=""; done
  for spec in "${DEGRADE[@]}"; do
    split_spec --degrade "$spec"
    bits[SPEC_HOST]=$(checked_rate "$SPEC_VAL" "--degrade $spec")
    rate[SPEC_HOST]=$SPEC_VAL
    [ "${bits[SPEC_HOST]}" -le "$base" ] ||
      warn "--degrade $spec: $SPEC_VAL is faster than the lab's rate $RATE"
  done
  for spec in "${LOSS[@]}"; do
    split_spec --loss "$spec"
    if ! [[ $SPEC_VAL =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
       ! awk -v p="$SPEC_VAL" 'BEGIN { exit !(p > 0 && p < 100) }'; then
      die "--loss $spec: PCT must be a number above 0 and below 100"
    fi
    loss[SPEC_HOST]=$SPEC_VAL
  done

  mapfile -t existing < <(lab_namespaces)
  [ "${#existing[@]}" -eq 0 ] ||
    die "lab '$PREFIX' already exists (${existing[*]}); remove it first: $0 down -p $PREFIX"

  trap 'rollback $?' EXIT
  sw=$(sw_ns)
  ip netns add "$sw"
  ns_sysctl "$sw" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge stp_state 0
  ip -n "$sw" link set br0 up
  if [ "${#LOSS[@]}" -eq 0 ]; then
    # Bridged frames stay out of netfilter unless a rule needs them.
    ns_sysctl "$sw" net.bridge.bridge-nf-call-iptables=0 \
      net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
  else
    # host -> switch loss is a FORWARD rule on bridged frames: needs bridge netfilter.
    modprobe br_netfilter >/dev/null 2>&1 || true
    ns_sysctl "$sw" net.bridge.bridge-nf-call-iptables=1
    [ "$(ip netns exec "$sw" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] ||
      die "--loss needs bridge netfilter (the br_netfilter module) for the host -> switch direction"
  fi

  for ((i = 0; i < HOSTS; i++)); do
    ns=$(host_ns "$i")
    ip netns add "$ns"
    ns_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name "h$i" netns "$sw"
    ip -n "$ns" addr add "$(host_ip "$i")/24" dev eth0
    ip -n "$sw" link set "h$i" master br0
    shape "$ns" eth0 "${bits[i]}"
    shape "$sw" "h$i" "${bits[i]}"
    ip -n "$sw" link set "h$i" up
    ip -n "$ns" link set eth0 up
    [ -z "${loss[i]}" ] || apply_loss "$i" "${loss[i]}"
  done
  trap - EXIT

  read -r burst limit < <(tbf_params "$base")
  echo "lab '$PREFIX': $HOSTS hosts on bridge br0 in netns $sw, tbf both directions" \
       "(rate $RATE: burst ${burst} B, limit ${limit} B)"
  printf '%-4s %-10s %-11s %-9s %-6s %s\n' HOST NETNS ADDRESS RATE LOSS% PORT
  for ((i = 0; i < HOSTS; i++)); do
    printf '%-4s %-10s %-11s %-9s %-6s %s\n' "$i" "$(host_ns "$i")" "$(host_ip "$i")" \
      "${rate[i]}" "${loss[i]:--}" "$sw:h$i"
  done
  echo "run in host i: $0 exec -p $PREFIX i CMD...    remove: $0 down -p $PREFIX"
}

cmd_hosts() {
  local ns out=""
  while read -r ns; do
    [[ $ns =~ ^${PREFIX}h([0-9]+)$ ]] || continue
    out+="${BASH_REMATCH[1]} $ns $(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null |
      awk '{ sub("/.*", "", $4); print $4; exit }')"$'\n'
  done < <(lab_namespaces)
  [ -n "$out" ] || die "no lab '$PREFIX' (start one: $0 up -p $PREFIX)"
  printf '%s' "$out"
}

cmd_exec() {
  [ $# -ge 2 ] || die "exec: usage: $0 exec [-p PREFIX] HOST CMD..."
  local h=$1 ns
  shift
  [ "$1" != -- ] || shift
  [ $# -ge 1 ] || die "exec: no command given"
  if [ "$h" = sw ]; then ns=$(sw_ns)
  elif [[ $h =~ ^[0-9]+$ ]]; then ns=$(host_ns "$((10#$h))")
  else die "exec: HOST must be a host index or 'sw', got '$h'"
  fi
  # Not `lab_namespaces | grep -q`: grep leaving early fails the pipe under pipefail.
  [[ $'\n'$(lab_namespaces)$'\n' == *$'\n'"$ns"$'\n'* ]] || die "exec: no namespace $ns (is lab '$PREFIX' up?)"
  exec ip netns exec "$ns" "$@"
}

# ---- arguments ---------------------------------------------------------
[ $# -ge 1 ] || usage
CMD=$1
shift
case $CMD in
  -h|--help|help) usage 0 ;;
  up|down|exec|hosts) ;;
  *) die "unknown command '$CMD' (up, down, exec, hosts; --help)" ;;
esac

while [ $# -gt 0 ]; do
  opt=$1
  case $CMD:$opt in
    *:-h|*:--help) usage 0 ;;
    *:-p|*:--prefix|up:-n|up:--hosts|up:-r|up:--rate|up:--queue-ms|up:--degrade|up:--loss)
      [ $# -ge 2 ] || die "$opt needs a value"
      case $opt in
        -p|--prefix) PREFIX=$2 ;;
        -n|--hosts)  HOSTS=$2 ;;
        -r|--rate)   RATE=$2 ;;
        --queue-ms)  QUEUE_MS=$2 ;;
        --degrade)   DEGRADE+=("$2") ;;
        --loss)      LOSS+=("$2") ;;
      esac
      shift 2 ;;
    exec:*) break ;;   # HOST CMD... follow
    *) die "$CMD: unknown option or argument '$opt' (--help)" ;;
  esac
done

[[ $PREFIX =~ ^[A-Za-z][A-Za-z0-9_]{0,11}$ ]] ||
  die "bad prefix '$PREFIX': 1-12 characters, a letter first, then letters, digits or _"
if [ "$CMD" = up ]; then
  if ! [[ $HOSTS =~ ^[0-9]+$ ]] || [ "$((10#$HOSTS))" -lt 1 ] || [ "$((10#$HOSTS))" -gt 250 ]; then
    die "--hosts must be 1..250, got '$HOSTS'"
  fi
  HOSTS=$((10#$HOSTS))
  if ! [[ $QUEUE_MS =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    die "--queue-ms must be a number of milliseconds, got '$QUEUE_MS'"
  fi
fi
check_host "$CMD"

case $CMD in
  up)    cmd_up ;;
  down)  cmd_down ;;
  hosts) cmd_hosts ;;
  exec)  cmd_exec "$@" ;;
esac
