#!/usr/bin/env bash
# rdma-lab.sh - fabricbench's soft-RoCE lab: run a command inside a throw-away qemu VM that
# has a REAL kernel RDMA verbs stack (Debian bookworm's stock kernel, which ships rdma_rxe =
# Soft-RoCE as a module, plus rdma-core userspace). The host kernel needs no RDMA support.
# The VM has no network card (-nic none): the rxe device sits on a dummy netdev inside the
# guest, so all RDMA traffic stays in the guest. Speed is emulated: it proves correctness;
# compare fabricbench with perftest run in the same boot, never with hardware.
#
# Usage:
#   scripts/rdma-lab.sh [options] [--] [command ...]
#     (no command)  -> ibv_devinfo -v + ib_write_bw, ib_write_lat, ib_send_lat
#     'one string'  -> run as a bash script inside the VM
#     prog arg ...  -> run that argv (each word kept as given, shell-quoted)
#                      Both run as root, stdin /dev/null, cwd = first
#                      --pack/--share dir (else /root).
#   Options:
#     -p, --pack DIR   copy host DIR into the VM (into the initramfs) at the SAME absolute
#                      path; shared libraries needed by ELF files in DIR are added (ldd).
#     -s, --share DIR  share host DIR read-write into the VM at the SAME path (9p);
#                      files the guest writes there appear on the host.
#     -b, --bin FILE   also put host FILE (+ its ldd libraries) into the VM at the same
#                      path (e.g. a test binary). Repeatable.
#     -m, --mem MB     guest RAM (default 2048)
#     -c, --cpus N     guest vCPUs (default: host nproc)
#     --accel A        auto (default: kvm if it works, else tcg) | kvm | tcg
#     --timeout S      kill the VM after S seconds (default 1200)
#     -v, --verbose    also stream the guest kernel console to stderr
#     -2, --two-hosts  TWO soft-RoCE devices on two "hosts" joined by a veth link; with no
#                      command, runs perftest from host A to host B and prints counters.
#     --link-rate R    shape the link with tbf, e.g. 500mbit (tc units)
#     --link-delay D   netem one-way delay, e.g. 1ms
#     --link-loss P    netem random loss, e.g. 1%
#     --link-netem 'A' more netem arguments ('duplicate 1%', 'reorder 10% 50%' with a delay)
#                      All --link-* apply to EACH direction and imply --two-hosts.
#     --check          only check that the lab can be set up here (packages, kernel), then
#                      exit 0, or 77 with the reason.
#   Environment: FABRICBENCH_VM_DIR (cache and work folder, default /var/tmp/fabricbench-rdma-vm)
#
# Exit status: the command's exit status inside the VM; 125 if the VM did not report one
# (boot failure, timeout, panic: see $FABRICBENCH_VM_DIR/last/console.log); 77 if the lab
# cannot be set up on this host (not root, packages or the kernel package unavailable), so
# that test runners report a skip with the reason printed on stderr.
#
# Packages (also in scripts/install-deps.sh): qemu-system-x86 busybox-static kmod cpio
# xz-utils iproute2 rdma-core ibverbs-providers ibverbs-utils rdmacm-utils perftest; missing
# ones are installed with apt-get. The kernel package is downloaded once into the cache and
# unpacked there (never installed: the host's /boot and /lib/modules are left alone).
#
# Inside the VM (set up before the command runs):
#   rxe0 on netdev rxenet0 (dummy, 10.99.0.1/24, also fd99::1/64),
#   env RXE_DEV=rxe0, RXE_GID=<RoCEv2 IPv4 GID index>, RXE_IP=10.99.0.1,
#   /dev/infiniband/{uverbs0,rdma_cm}, memlock unlimited; / is a RAM fs.
#
# Two hosts (--two-hosts): a veth pair instead of the dummy,
#   host A: rxe0 on rxenet0, 10.99.0.1/24, fd99::1/64
#   host B: rxe1 on rxenet1, 10.99.0.2/24, fd99::2/64
# both in the ONE network namespace (rxe in 6.1 routes and listens in init_net only), with
# policy routing so that traffic to the other host's address leaves through the own veth
# end and crosses the link. Env RXE_{DEV,GID,IP,NETDEV}_{A,B}; RXE_DEV/RXE_GID/RXE_IP are
# host A's. Guest helpers: `rxe-link [--rate R] [--delay D] [--loss P] [--netem 'A']`
# re-shapes the link (no options: unshaped); `rxe-counters [FILE]` prints the rxe hw
# counters and link byte counters (with FILE: the deltas against that earlier output).
set -euo pipefail

LAB=${FABRICBENCH_VM_DIR:-/var/tmp/fabricbench-rdma-vm}
CHECK_ONLY=0
MEM=2048
CPUS=$(nproc 2>/dev/null || echo 2)
ACCEL=auto
TIMEOUT=1200
VERBOSE=0
PACK_DIRS=()
SHARE_DIRS=()
EXTRA_BINS=()
TWO_HOSTS=0
LINK_RATE="" LINK_DELAY="" LINK_LOSS="" LINK_NETEM=""

die() { echo "rdma-lab: $*" >&2; exit 125; }
# The lab cannot exist on this host: a skip for test runners, with the reason.
unavailable() { echo "rdma-lab: SKIP: $*" >&2; exit 77; }
log() { echo "rdma-lab: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -p|--pack)   PACK_DIRS+=("$(readlink -f "$2")"); shift 2 ;;
    -s|--share)  SHARE_DIRS+=("$(readlink -f "$2")"); shift 2 ;;
    -b|--bin)    EXTRA_BINS+=("$(readlink -f "$2")"); shift 2 ;;
    -m|--mem)    MEM=$2; shift 2 ;;
    -c|--cpus)   CPUS=$2; shift 2 ;;
    --accel)     ACCEL=$2; shift 2 ;;
    --timeout)   TIMEOUT=$2; shift 2 ;;
    -v|--verbose) VERBOSE=1; shift ;;
    -2|--two-hosts) TWO_HOSTS=1; shift ;;
    --check)     CHECK_ONLY=1; shift ;;
    --link-rate)  LINK_RATE=$2;  TWO_HOSTS=1; shift 2 ;;
    --link-delay) LINK_DELAY=$2; TWO_HOSTS=1; shift 2 ;;
    --link-loss)  LINK_LOSS=$2;  TWO_HOSTS=1; shift 2 ;;
    --link-netem) LINK_NETEM=$2; TWO_HOSTS=1; shift 2 ;;
    -h|--help)   sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    --)          shift; break ;;
    -*)          die "unknown option $1 (try --help)" ;;
    *)           break ;;
  esac
done
for d in "${PACK_DIRS[@]}" "${SHARE_DIRS[@]}"; do [ -d "$d" ] || die "not a directory: $d"; done
for f in "${EXTRA_BINS[@]}"; do [ -e "$f" ] || die "no such file: $f"; done
# the guest's tc checks the values; here only keep quotes and shell syntax out
[[ $LINK_RATE$LINK_DELAY$LINK_LOSS =~ ^[A-Za-z0-9.%]*$ ]] || die "bad --link-rate/--link-delay/--link-loss value"
[[ $LINK_NETEM =~ ^[A-Za-z0-9.%\ ]*$ ]] || die "bad --link-netem value"
[ "$(id -u)" = 0 ] || unavailable "must run as root (apt-get, kvm)"

T0=$(date +%s.%N)
mkdir -p "$LAB"
# one setup (apt, kernel, base image) at a time; boots themselves run in parallel
exec 9>"$LAB/.lock"; flock 9

# ---------------------------------------------------------------- 1. packages
# Debian 12 package names.  perftest/ibverbs-utils/rdmacm-utils give the guest
# tools; rdma-core/ibverbs-providers give libibverbs + the rxe provider.
PKGS=(qemu-system-x86 busybox-static kmod cpio xz-utils iproute2 rdma-core
      ibverbs-providers libibverbs1 librdmacm1 ibverbs-utils rdmacm-utils perftest)
APT_UPDATED=0
apt_update() { [ $APT_UPDATED = 1 ] || { log "apt-get update"; apt-get update -q >"$LAB/apt-update.log" 2>&1 || unavailable "apt-get update failed, see $LAB/apt-update.log"; APT_UPDATED=1; }; }
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >"$LAB/apt-install.log" 2>&1 || unavailable "apt-get install failed, see $LAB/apt-install.log"
fi

# ------------------------------------------------------------------ 2. kernel
# Unpack (not install) Debian's stock kernel package: the host's /boot and
# /lib/modules stay untouched.
KDIR="$LAB/kernel"
if [ ! -f "$KDIR/ready" ]; then
  apt_update
  KPKG=${FABRICBENCH_VM_KPKG:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
  [ -n "$KPKG" ] || unavailable "cannot resolve linux-image-amd64 to a kernel package"
  log "downloading + unpacking $KPKG"
  rm -rf "$KDIR"; mkdir -p "$KDIR/dl"
  (cd "$KDIR/dl" && apt-get download -q "$KPKG" >/dev/null 2>&1) || unavailable "apt-get download $KPKG failed (no network or no Debian archive?)"
  dpkg-deb -x "$KDIR"/dl/*.deb "$KDIR/root"
  rm -rf "$KDIR/dl"
  touch "$KDIR/ready"
fi
KVER=$(ls "$KDIR/root/lib/modules" | head -1)
VMLINUZ="$KDIR/root/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || die "kernel image missing: $VMLINUZ"
# Under TCG, xz-decompressing the bzImage costs ~8 s per boot.  The Debian
# kernel has CONFIG_PVH, so qemu can boot the uncompressed ELF vmlinux directly.
if [ ! -f "$KDIR/vmlinux" ]; then
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$VMLINUZ" | xz -dcq >"$KDIR/vmlinux.tmp" 2>/dev/null || true  # trailing data => rc 1
    if [ "$(head -c4 "$KDIR/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
      mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
    else
      rm -f "$KDIR/vmlinux.tmp"; : >"$KDIR/vmlinux.none"
    fi
  fi
fi
BOOTK=$VMLINUZ; [ -s "$KDIR/vmlinux" ] && BOOTK="$KDIR/vmlinux"
command -v qemu-system-x86_64 >/dev/null || unavailable "qemu-system-x86_64 not found (package qemu-system-x86)"
if [ $CHECK_ONLY = 1 ]; then log "lab ready: kernel $KVER, cache $LAB"; exit 0; fi

# ------------------------------------------------------ helpers for the cpios
# add_file ROOT PATH: copy host PATH (following symlinks) to ROOT/PATH,
# recreating the symlink chain so that both names exist.
add_file() {
  local root=$1 p=$2 t
  while [ -L "$p" ]; do
    mkdir -p "$root$(dirname "$p")"
    t=$(readlink "$p"); ln -sfn "$t" "$root$p"
    case "$t" in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
  done
  p=$(readlink -f "$p")
  [ -e "$root$p" ] && return 0
  mkdir -p "$root$(dirname "$p")"
  cp -a "$p" "$root$p"
}
# ldd_libs FILE...: absolute paths of the shared libraries (and ld.so) needed
ldd_libs() {
  local f
  for f in "$@"; do
    ldd "$f" 2>/dev/null | grep -o '/[^ )]*' || true
  done | sort -u
}
is_elf() { [ -f "$1" ] && [ "$(head -c4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; }

# ---------------------------------------------------------- 3. base initramfs
# Rebuilt only when this script or the kernel changes.
BASE="$LAB/base.cpio"
STAMP="$(sha1sum "$0" | cut -c1-12)-$KVER"
if [ ! -f "$BASE" ] || [ "$(cat "$LAB/base.stamp" 2>/dev/null)" != "$STAMP" ]; then
  log "building base initramfs"
  R="$LAB/base-root"; rm -rf "$R"; mkdir -p "$R"
  # Debian 12 is usr-merged: keep the same layout so host paths work unchanged.
  mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/{proc,sys,dev,tmp,run,root,etc,mnt,var}
  ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
  cp /bin/busybox "$R/usr/bin/busybox"
  BINS=(/usr/bin/kmod /usr/sbin/ip /usr/sbin/tc /usr/bin/rdma /sbin/ldconfig /usr/bin/bash /usr/bin/dash /usr/bin/ldd)
  for b in ibv_asyncwatch ibv_devices ibv_devinfo ibv_rc_pingpong ibv_srq_pingpong ibv_uc_pingpong \
           ibv_ud_pingpong ibv_xsrq_pingpong ib_atomic_bw ib_atomic_lat ib_read_bw ib_read_lat \
           ib_send_bw ib_send_lat ib_write_bw ib_write_lat rping ucmatose udaddy mckey rdma_server \
           rdma_client rdma_xserver rdma_xclient riostream rstream ucmatose; do
    [ -x "/usr/bin/$b" ] && BINS+=("/usr/bin/$b")
  done
  # libibverbs loads providers with dlopen: ship the rxe provider + its config
  PROV=$(ls /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so | head -1)
  [ -n "$PROV" ] || die "rxe provider (ibverbs-providers) not found"
  # glibc dlopen()s libgcc_s for pthread_exit/cancel (rping aborts without it); ldd can't see that
  for f in "${BINS[@]}" "$PROV" $(ldd_libs "${BINS[@]}" "$PROV") /lib/x86_64-linux-gnu/libgcc_s.so.1; do
    add_file "$R" "$f"; done
  mkdir -p "$R/etc/libibverbs.d"; cp /etc/libibverbs.d/rxe.driver "$R/etc/libibverbs.d/"
  cp -a /etc/ld.so.conf "$R/etc/"; mkdir -p "$R/etc/ld.so.conf.d"
  cp -a /etc/ld.so.conf.d/x86_64-linux-gnu.conf /etc/ld.so.conf.d/libc.conf "$R/etc/ld.so.conf.d/" 2>/dev/null || true
  for t in modprobe insmod lsmod rmmod modinfo depmod; do ln -sf ../bin/kmod "$R/usr/sbin/$t"; done
  ln -sf dash "$R/usr/bin/sh"   # like Debian; busybox only fills in missing tools
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"; printf 'root:x:0:\n' >"$R/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n10.99.0.1 fbvm\n' >"$R/etc/hosts"
  printf 'hosts: files\n' >"$R/etc/nsswitch.conf"
  # kernel modules: rxe + RDMA CM + dummy netdev + crc32 (rxe ICRC) + 9p/virtio,
  # and for --two-hosts: veth + the tbf/netem qdiscs
  MR="$KDIR/root"; MODS=()
  depmod -b "$MR" "$KVER"
  for m in rdma_rxe rdma_ucm rdma_cm ib_cm iw_cm ib_umad dummy crc32_generic crc32_pclmul \
           virtio_pci 9pnet_virtio 9p veth sch_tbf sch_netem; do
    while read -r _ path _; do MODS+=("$path"); done \
      < <(modprobe -d "$MR" -S "$KVER" --show-depends "$m" | grep '^insmod')
  done
  for path in "${MODS[@]}"; do
    rel=${path#"$MR"}; mkdir -p "$R$(dirname "$rel")"; cp -n "$path" "$R$rel"
  done
  cp "$MR/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/" 2>/dev/null || true
  depmod -b "$R" "$KVER"
  ldconfig -r "$R" 2>/dev/null || true

  # guest helpers for --two-hosts (see the header)
  mkdir -p "$R/usr/local/bin"
  cat >"$R/usr/local/bin/rxe-link" <<'EOF'
#!/usr/bin/bash
# rxe-link [--rate R] [--delay D] [--loss P] [--netem 'ARGS']: (re)shape the
# --two-hosts link in BOTH directions (egress qdisc of rxenet0 and rxenet1).
# rate -> tbf (root); delay/loss/ARGS -> netem (tbf's child, or root).
# No options: back to unshaped (veth default: noqueue).
set -e
rate="" netem=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rate)  rate=$2 ;;
    --delay) netem="$netem delay $2" ;;
    --loss)  netem="$netem loss $2" ;;
    --netem) netem="$netem $2" ;;
    *) echo "usage: rxe-link [--rate R] [--delay D] [--loss P] [--netem 'ARGS']" >&2; exit 2 ;;
  esac
  shift 2
done
if [ -n "$rate" ]; then
  # burst: 2 ms worth of the rate, at least 32 KiB (tc rates: bare/bit = bit/s, bps = byte/s).
  # limit (queue): 50 ms worth, but at least 256 KiB: rxe keeps up to 64 packets per QP in
  # flight and counts the queued ones among them, so below ~20mbit a 50 ms queue would drop
  # the tail of every burst and the link would read as lossy instead of slow.
  bl=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u)
    f["bit"] = f[""] = 1; f["kbit"] = 1e3; f["mbit"] = 1e6; f["gbit"] = 1e9; f["tbit"] = 1e12
    f["bps"] = 8; f["kbps"] = 8e3; f["mbps"] = 8e6; f["gbps"] = 8e9
    B = (u in f) ? n * f[u] / 8 : 0; b = B * 0.002; if (b < 32768) b = 32768
    l = B * 0.05; if (l < 262144) l = 262144; printf "%d %d", b, l + b }')
  burst=${bl% *} limit=${bl#* }
fi
for dev in rxenet0 rxenet1; do
  tc qdisc del dev $dev root 2>/dev/null || true
  parent=root
  if [ -n "$rate" ]; then
    tc qdisc add dev $dev root handle 1: tbf rate "$rate" burst "$burst" limit "$limit"
    parent="parent 1:1"
  fi
  # big queue: drops should come from "loss", not from a full netem queue
  [ -z "${netem// }" ] || tc qdisc add dev $dev $parent handle 10: netem limit 50000 $netem
  echo "rxe-link: $dev $(tc qdisc show dev $dev | tr '\n' ' ')"
done
EOF
  cat >"$R/usr/local/bin/rxe-counters" <<'EOF'
#!/usr/bin/bash
# rxe-counters [FILE]: one "name value" line per RDMA hw counter
# (/sys/class/infiniband/*/ports/*/hw_counters) and per rxenet* netdev counter.
# With FILE (an earlier output): only the counters that changed, as deltas.
# One grep reads every file: a process per counter costs seconds under emulation.
snap() {
  { grep -H . /sys/class/infiniband/*/ports/*/hw_counters/* 2>/dev/null
    for d in /sys/class/net/rxenet*; do
      grep -H . $d/statistics/{tx_bytes,tx_packets,rx_bytes,rx_packets,tx_dropped,rx_dropped}
    done; } | awk -F: '{ n = split($1, p, "/"); if (p[n] != "lifespan") print p[5] "." p[n], $2 }'
}
if [ $# = 0 ]; then snap
else snap | awk 'NR == FNR { b[$1] = $2; next } $2 != b[$1] { printf "%-34s %+.0f\n", $1, $2 - b[$1] }' "$1" -
fi
EOF
  chmod +x "$R/usr/local/bin/rxe-link" "$R/usr/local/bin/rxe-counters"

  cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin 2>/dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run   # / itself is a RAM fs; /tmp is NOT re-mounted (packed dirs may live there)
OUT=/dev/ttyS1
stty -F $OUT raw -echo 2>/dev/null
ph() { echo "fbvm-guest: [$(cut -d' ' -f1 /proc/uptime)] $*" >/dev/ttyS0; }
ph init
fail() { echo "fbvm-guest: $*" >$OUT; echo "@@FBVM_EXIT=125@@" >$OUT; poweroff -f; }
ldconfig 2>/dev/null
ph modules
for m in crc32_generic crc32_pclmul dummy rdma_rxe rdma_ucm ib_umad; do /usr/sbin/modprobe $m 2>/dev/null; done
/usr/sbin/modprobe rdma_rxe || fail "/usr/sbin/modprobe rdma_rxe failed"
# 9p shares: /fbvm/shares lists "tag path" lines
if [ -s /fbvm/shares ]; then
  /usr/sbin/modprobe virtio_pci; /usr/sbin/modprobe 9pnet_virtio; /usr/sbin/modprobe 9p
  while read -r tag path; do
    mkdir -p "$path"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,access=any "$tag" "$path" \
      || fail "mount 9p $tag at $path failed"
  done </fbvm/shares
fi
ph net
IP=/usr/sbin/ip
$IP link set lo up
if [ ! -f /fbvm/link ]; then
  $IP link add rxenet0 type dummy || fail "$IP link add dummy failed"
  $IP addr add 10.99.0.1/24 dev rxenet0; $IP -6 addr add fd99::1/64 dev rxenet0 nodad
  $IP link set rxenet0 up
  /usr/bin/rdma link add rxe0 type rxe netdev rxenet0 || fail "/usr/bin/rdma link add rxe0 failed"
else
  # --two-hosts: veth rxenet0 (A) <-> rxenet1 (B), both in this netns: rxe in
  # 6.1 routes and listens (UDP 4791) in init_net only, so no netns per host.
  for m in veth sch_tbf sch_netem; do /usr/sbin/modprobe $m || fail "modprobe $m failed"; done
  $IP link add rxenet0 type veth peer name rxenet1 || fail "$IP link add veth failed"
  # packets from a local address arrive on the other end: accept them
  for d in all default rxenet0 rxenet1; do
    echo 1 >/proc/sys/net/ipv4/conf/$d/accept_local; echo 0 >/proc/sys/net/ipv4/conf/$d/rp_filter
  done
  $IP addr add 10.99.0.1/24 dev rxenet0; $IP -6 addr add fd99::1/64 dev rxenet0 nodad
  $IP addr add 10.99.0.2/24 dev rxenet1; $IP -6 addr add fd99::2/64 dev rxenet1 nodad
  $IP link set rxenet0 up; $IP link set rxenet1 up
  # Policy routing: the local table moves behind two rules that send locally
  # generated packets ("iif lo") for the other host's address out of the own
  # veth end; what arrives on the other end still finds the local table.
  for v in -4 -6; do $IP $v rule add pref 100 lookup local; $IP $v rule del pref 0; done
  $IP rule add pref 10 iif lo to 10.99.0.2 lookup 100; $IP route add 10.99.0.2 dev rxenet0 src 10.99.0.1 table 100
  $IP rule add pref 11 iif lo to 10.99.0.1 lookup 101; $IP route add 10.99.0.1 dev rxenet1 src 10.99.0.2 table 101
  $IP -6 rule add pref 10 iif lo to fd99::2 lookup 100; $IP -6 route add fd99::2 dev rxenet0 src fd99::1 table 100
  $IP -6 rule add pref 11 iif lo to fd99::1 lookup 101; $IP -6 route add fd99::1 dev rxenet1 src fd99::2 table 101
  /usr/bin/rdma link add rxe0 type rxe netdev rxenet0 || fail "/usr/bin/rdma link add rxe0 failed"
  /usr/bin/rdma link add rxe1 type rxe netdev rxenet1 || fail "/usr/bin/rdma link add rxe1 failed"
  . /fbvm/link   # LINK_RATE, LINK_DELAY, LINK_LOSS, LINK_NETEM
  set --
  [ -n "$LINK_RATE" ] && set -- "$@" --rate "$LINK_RATE"
  [ -n "$LINK_DELAY" ] && set -- "$@" --delay "$LINK_DELAY"
  [ -n "$LINK_LOSS" ] && set -- "$@" --loss "$LINK_LOSS"
  [ -n "$LINK_NETEM" ] && set -- "$@" --netem "$LINK_NETEM"
  if [ $# -gt 0 ]; then /usr/local/bin/rxe-link "$@" >$OUT 2>&1 || fail "rxe-link $* failed"; fi
fi
ph gid
# roce_gid DEV HEX: wait for DEV's RoCE v2 IPv4 GID (::ffff:10.99.0.x = ...ffff:HEX), print its index
roce_gid() {
  i=0
  while [ $i -lt 100 ]; do
    for t in /sys/class/infiniband/$1/ports/1/gid_attrs/types/*; do
      n=${t##*/}
      if [ "$(cat $t 2>/dev/null)" = "RoCE v2" ] && grep -q "0000:0000:0000:0000:0000:ffff:$2" /sys/class/infiniband/$1/ports/1/gids/$n 2>/dev/null; then echo $n; return 0; fi
    done
    sleep 0.1; i=$((i+1))
  done
  return 1
}
G=$(roce_gid rxe0 0a63:0001) || fail "no RoCE v2 GID on rxe0"
export RXE_DEV=rxe0 RXE_GID=$G RXE_IP=10.99.0.1
if [ -f /fbvm/link ]; then
  GB=$(roce_gid rxe1 0a63:0002) || fail "no RoCE v2 GID on rxe1"
  export RXE_DEV_A=rxe0 RXE_GID_A=$G RXE_IP_A=10.99.0.1 RXE_NETDEV_A=rxenet0 \
         RXE_DEV_B=rxe1 RXE_GID_B=$GB RXE_IP_B=10.99.0.2 RXE_NETDEV_B=rxenet1
fi
ulimit -l unlimited
cd /root; [ -s /fbvm/cwd ] && cd "$(cat /fbvm/cwd)"
echo "@@FBVM_READY uptime=$(cut -d' ' -f1 /proc/uptime)s@@" >$OUT
/usr/bin/bash /fbvm/cmd </dev/null >$OUT 2>&1
rc=$?
echo "@@FBVM_MEM $(free -k | awk '/Mem:/{print "total_kB="$2" used_kB="$3}')@@" >$OUT
sync
echo "@@FBVM_EXIT=$rc@@" >$OUT
poweroff -f
EOF
  chmod +x "$R/init"
  (cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$BASE.tmp"
  mv "$BASE.tmp" "$BASE"; echo "$STAMP" >"$LAB/base.stamp"
fi

# ------------------------------------------------------- 4. per-run initramfs
RUN=$(mktemp -d "$LAB/run.XXXXXX"); mkdir -p "$RUN/root/fbvm"
trap 'rm -rf "$RUN"' EXIT
X="$RUN/root"
if [ $# -eq 1 ]; then
  printf '%s\n' "$1" >"$X/fbvm/cmd"
elif [ $# -gt 1 ]; then
  printf '%q ' "$@" >"$X/fbvm/cmd"; echo >>"$X/fbvm/cmd"
elif [ $TWO_HOSTS = 1 ]; then
  cat >"$X/fbvm/cmd" <<'EOF'
set -e
echo "=== kernel: $(uname -r)   cpus: $(nproc)"
echo "=== rdma link";   rdma link show
echo "=== host A: $RXE_DEV_A on $RXE_NETDEV_A $RXE_IP_A GID $RXE_GID_A   host B: $RXE_DEV_B on $RXE_NETDEV_B $RXE_IP_B GID $RXE_GID_B"
echo "=== link (qdiscs per direction)"; tc qdisc show dev $RXE_NETDEV_A; tc qdisc show dev $RXE_NETDEV_B
pt2() {  # pt2 [-R] TOOL ARGS... : server on host B, client on host A
  local cm=0 t s c; [ "$1" = -R ] && { cm=1; shift; }
  t=$1; shift
  echo "=== $t $*   ($RXE_DEV_A -> $RXE_DEV_B$([ $cm = 1 ] && echo ", rdma_cm to $RXE_IP_B"))"
  if [ $cm = 1 ]; then  # rdma_cm resolves $RXE_IP_B: the route picks rxenet0 = rxe0
    $t -R -d $RXE_DEV_B -F "$@" >/tmp/srv.log 2>&1 &
    s=$!; sleep 1; c=0; $t -R -d $RXE_DEV_A -F "$@" $RXE_IP_B || c=$?
  else                  # perftest's TCP exchange on 127.0.0.1, off the link
    $t -d $RXE_DEV_B -x $RXE_GID_B -F "$@" >/tmp/srv.log 2>&1 &
    s=$!; sleep 1; c=0; $t -d $RXE_DEV_A -x $RXE_GID_A -F "$@" 127.0.0.1 || c=$?
  fi
  wait $s || c=$((c ? c : $?))
  [ $c = 0 ] || { echo "--- server log:"; cat /tmp/srv.log; }
  return $c
}
rxe-counters >/tmp/counters.0
pt2 ib_write_bw --report_gbits -s 65536 -n 2000
pt2 ib_write_lat -s 8 -n 2000
pt2 -R ib_write_lat -s 8 -n 500
echo "=== counters that changed (rxe hw_counters, link bytes)"; rxe-counters /tmp/counters.0
echo "=== qdisc stats"; tc -s qdisc show dev $RXE_NETDEV_A; tc -s qdisc show dev $RXE_NETDEV_B
EOF
else
  cat >"$X/fbvm/cmd" <<'EOF'
set -e
echo "=== kernel: $(uname -r)   cpus: $(nproc)"
echo "=== rdma link";   rdma link show
echo "=== ibv_devices"; ibv_devices
echo "=== ibv_devinfo -v -d $RXE_DEV"; ibv_devinfo -v -d $RXE_DEV
echo "=== using GID index $RXE_GID (RoCE v2, $RXE_IP)"
pt() {  # pt TOOL ARGS... : server in background, client to 127.0.0.1 (TCP OOB)
  t=$1; shift
  echo "=== $t $*"
  $t -d $RXE_DEV -x $RXE_GID -F "$@" >/tmp/srv.log 2>&1 &
  s=$!; sleep 1
  c=0; $t -d $RXE_DEV -x $RXE_GID -F "$@" 127.0.0.1 || c=$?
  wait $s || c=$((c ? c : $?))
  [ $c = 0 ] || { echo "--- server log:"; cat /tmp/srv.log; }
  return $c
}
pt ib_write_bw --report_gbits -s 65536 -n 2000
pt ib_write_lat -s 8 -n 2000
pt ib_send_lat -s 8 -n 2000
EOF
fi
CWD=""
[ ${#PACK_DIRS[@]} -gt 0 ] && CWD=${PACK_DIRS[0]}
[ -z "$CWD" ] && [ ${#SHARE_DIRS[@]} -gt 0 ] && CWD=${SHARE_DIRS[0]}
printf '%s' "$CWD" >"$X/fbvm/cwd"
if [ $TWO_HOSTS = 1 ]; then printf "LINK_RATE='%s'\nLINK_DELAY='%s'\nLINK_LOSS='%s'\nLINK_NETEM='%s'\n" \
  "$LINK_RATE" "$LINK_DELAY" "$LINK_LOSS" "$LINK_NETEM" >"$X/fbvm/link"; fi
: >"$X/fbvm/shares"
VIRTFS=(); i=0
for d in "${SHARE_DIRS[@]}"; do
  VIRTFS+=(-virtfs "local,path=$d,mount_tag=vlshare$i,security_model=none,id=vlshare$i")
  echo "vlshare$i $d" >>"$X/fbvm/shares"; i=$((i+1))
done
# libraries needed by ELF files in packed/shared dirs and --bin files
ELFS=()
for d in "${PACK_DIRS[@]}" "${SHARE_DIRS[@]}"; do
  while IFS= read -r -d '' f; do is_elf "$f" && ELFS+=("$f"); done \
    < <(find "$d" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
done
for f in "${EXTRA_BINS[@]}"; do is_elf "$f" && ELFS+=("$f"); add_file "$X" "$f"; done
if [ ${#ELFS[@]} -gt 0 ]; then
  while read -r lib; do
    case "$lib" in "$LAB"/*) continue ;; esac
    # skip what the base image already has
    (cd "$LAB/base-root" && [ -e ".$lib" ]) 2>/dev/null && continue
    inpack=0; for d in "${PACK_DIRS[@]}" "${SHARE_DIRS[@]}"; do case "$lib" in "$d"/*) inpack=1 ;; esac; done
    [ $inpack = 1 ] || add_file "$X" "$lib"
  done < <(ldd_libs "${ELFS[@]}")
fi
# usr-merge: base has /lib -> usr/lib; don't let the extra cpio shadow those links
for l in bin sbin lib lib64; do
  if [ -d "$X/$l" ] && [ ! -L "$X/$l" ]; then mkdir -p "$X/usr/$l"; cp -a "$X/$l/." "$X/usr/$l/"; rm -rf "${X:?}/$l"; fi
done
(cd "$X" && find . -mindepth 1 | cpio -o -H newc --quiet) >"$RUN/extra.cpio"
for d in "${PACK_DIRS[@]}"; do
  # the kernel's cpio unpacker does not create missing parents: list them first
  (cd / && { a=""; IFS=/ read -ra parts <<<"${d#/}"; for c in "${parts[@]:0:${#parts[@]}-1}"; do
               a=${a:+$a/}$c; echo "$a"; done; find "${d#/}"; } | cpio -o -H newc --quiet) >>"$RUN/extra.cpio"
done
cat "$BASE" "$RUN/extra.cpio" >"$RUN/initrd.cpio"
rm -rf "$X" "$RUN/extra.cpio"

# ------------------------------------------------------------------- 5. boot
# KVM probe: /dev/kvm opening is not enough (seen: a PVM-based nested /dev/kvm
# that hangs stock kernels right after the decompressor).  Boot the real
# kernel with a one-line init and wait for its marker; cache the verdict.
kvm_ok() {
  [ -w /dev/kvm ] || return 1
  local cache="$LAB/kvm-probe.$(uname -r)-$KVER"
  [ -f "$cache" ] && { [ "$(cat "$cache")" = yes ]; return; }
  log "probing KVM (boots the guest kernel once, <=30s)"
  local pr="$LAB/kvm-probe-root"; rm -rf "$pr"; mkdir -p "$pr/bin"
  cp /bin/busybox "$pr/bin/"
  printf '#!/bin/busybox sh\n/bin/busybox echo FBVM_KVM_OK >/dev/ttyS0\n/bin/busybox poweroff -f\n' >"$pr/init"
  chmod +x "$pr/init"; (cd "$pr" && find . | cpio -o -H newc --quiet) >"$LAB/kvm-probe.cpio"
  if timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none -no-reboot \
       -nic none -kernel "$VMLINUZ" -initrd "$LAB/kvm-probe.cpio" -serial stdio \
       -append "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null 2>/dev/null | grep -q FBVM_KVM_OK; then
    echo yes >"$cache"; return 0
  fi
  echo no >"$cache"; return 1
}
case "$ACCEL" in
  auto) if kvm_ok; then ACCEL=kvm; else ACCEL=tcg; fi ;;
  kvm|tcg) ;;
  *) die "--accel must be auto, kvm or tcg" ;;
esac
# Under TCG the guest kernel distrusts the TSC and times with the emulated HPET: 1.3 us per
# clock_gettime instead of 0.1 us, which a timed loop that reads the clock (fabricbench's
# samples and deadlines; perftest reads the TSC directly) would pay on every iteration. TCG's
# TSC follows the host's, so the guest may use it.
if [ "$ACCEL" = kvm ]; then ACC=(-accel kvm -cpu host); CLOCK_ARGS=""
else ACC=(-accel tcg,thread=multi -cpu max); CLOCK_ARGS=" tsc=reliable clocksource=tsc"; fi
flock -u 9
log "booting $KVER with $ACCEL, ${MEM}M RAM, $CPUS vCPUs (initrd $(du -h "$RUN/initrd.cpio" | cut -f1))"
CONSOLE="$RUN/console.log"; OUTLOG="$RUN/output.log"
[ $VERBOSE = 1 ] && { : >"$CONSOLE"; tail -F "$CONSOLE" >&2 2>/dev/null & TAILPID=$!; }
set +e
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 "${ACC[@]}" -smp "$CPUS" -m "$MEM" \
  -nodefaults -display none -no-reboot -nic none \
  -kernel "$BOOTK" -initrd "$RUN/initrd.cpio" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init mitigations=off$CLOCK_ARGS" \
  -chardev "file,id=con,path=$CONSOLE" -serial chardev:con \
  -chardev stdio,id=out,signal=off -serial chardev:out \
  "${VIRTFS[@]}" </dev/null | stdbuf -oL tr -d '\r' | tee "$OUTLOG" \
  | sed -u -e '/^@@FBVM_[^@]*@@$/d' -e 's/@@FBVM_[^@]*@@//g'
QRC=${PIPESTATUS[0]}
set -e
[ -n "${TAILPID:-}" ] && kill "$TAILPID" 2>/dev/null
T1=$(date +%s.%N)
mkdir -p "$LAB/last"; cp "$CONSOLE" "$OUTLOG" "$LAB/last/" 2>/dev/null || true
READY=$(grep -o 'FBVM_READY uptime=[0-9.]*s' "$OUTLOG" | cut -d= -f2 || true)
MEMI=$(grep -o 'FBVM_MEM [^@]*' "$OUTLOG" | cut -d' ' -f2- || true)
RC=$(grep -o '@@FBVM_EXIT=[0-9]*@@' "$OUTLOG" | tail -1 | tr -dc 0-9 || true)
log "accel=$ACCEL guest-ready-after=${READY:-?} guest-mem: ${MEMI:-?} wall=$(awk "BEGIN{printf \"%.1f\", $T1 - $T0}")s qemu-rc=$QRC"
if [ -z "$RC" ]; then
  [ "$QRC" = 124 ] || [ "$QRC" = 137 ] && log "timed out after ${TIMEOUT}s (--timeout)"
  log "VM gave no exit status (qemu rc $QRC); last console lines ($LAB/last/console.log):"
  tail -20 "$CONSOLE" >&2; exit 125
fi
exit "$RC"
