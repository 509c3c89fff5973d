# SPDX-License-Identifier: MIT
# Sourced by the nbd scenarios, after lib.sh: NBD servers inside the guest.
#
# Every server listens on loopback (127.0.0.1) or on a unix socket under
# /tmp/t/nbd, never anywhere else. Host tools (nbdkit, qemu-nbd,
# nbd-server) run through h: chroot /host, whose /tmp is the guest's own
# tmpfs (bound there by the guest's init), so sockets, pid files and
# images under /tmp/t are the same paths on both sides. ublk-nbd-fault is
# ours (tests/vm/progs/nbd-fault.c) and runs directly.
#
# ADDR, in every helper: a port number (127.0.0.1:PORT) or an absolute
# socket path (anything starting with /); default 127.0.0.1:10809.
# After a start_* helper: SRV_PID (the server's pid), NBD_URI (the URI
# for ublkctl nbd), NBD_ADDR (for ublk-nbd-fault --probe), NBD_EXPORT.
# Only one server at a time: starting another stops the first.
#
#   start_nbdkit_memory SIZE [ADDR]	nbdkit memory plugin (data lost on restart)
#   start_nbdkit_file FILE [ADDR] [ARGS...]
#					nbdkit file plugin (data kept; FILE
#					made 64M when missing); ARGS starting
#					with -- go before the plugin, the
#					others after FILE: --filter=delay
#					rdelay=2 (no spaces inside an ARG)
#   start_qemu_nbd IMAGE [ADDR] [FORMAT]  qemu-nbd --persistent (qcow2 or raw)
#   start_nbd_server FILE [ADDR]		nbd-server, export name "disk"
#   start_fault_server ADDR ARGS...	ublk-nbd-fault (ARGS: its options, but
#					not --listen/--unix/--ready; a restart
#					numbers connections from 1 again)
#   stop_server			SIGTERM, bounded wait, then SIGKILL
#   kill_server			SIGKILL at once (a crash)
#   restart_server [SECS]		stop_server, wait SECS (default 0), the
#					same start_* again: same address,
#					export and data
#   nbd_probe [ARGS...]		a handshake with the current server
#					(ublk-nbd-fault --probe), --rw to write
#   need_nbd_target			skip the scenario when ublkctl has no
#					nbd applet yet
#   need_host_tool TOOL		skip unless the host has TOOL
#
# Servers are bounded: each start waits at most 20 s for the server to
# answer; ublk-nbd-fault gets --exit-after-secs $NBD_LIFE (default 200,
# under the scenario timeout); stop_server waits 5 s at most.

NBD_DIR=/tmp/t/nbd
: "${NBD_LIFE:=200}"
SRV_PID="" SRV_START="" NBD_URI="" NBD_ADDR="" NBD_EXPORT=""

need_nbd_target() {
	ublkctl nbd --help >/dev/null 2>&1 || skip "no nbd target yet"
}

need_host_tool() {
	h sh -c "command -v $1" >/dev/null 2>&1 || skip "no $1 on the host (build.sh DEPS)"
}

# nbd_set_addr ADDR EXPORT: NBD_URI, NBD_ADDR and NBD_EXPORT for ADDR
nbd_set_addr() {
	local a=${1:-10809}
	NBD_EXPORT=$2
	case $a in
	/*) NBD_URI="nbd+unix:///$2?socket=$a" NBD_ADDR=unix:$a ;;
	*[!0-9]*|"") fail "nbd.sh: bad address '$a': a port or a socket path" ;;
	*) NBD_URI="nbd://127.0.0.1:$a/$2" NBD_ADDR=127.0.0.1:$a ;;
	esac
}

# nbdkit's options that put it on ADDR
nbd_listen_args() {
	case ${1:-10809} in
	/*) echo "--unix $1" ;;
	*) echo "-i 127.0.0.1 -p ${1:-10809}" ;;
	esac
}

# nbd_wait_pidfile FILE WHAT: the server's pid from FILE, and it answers
nbd_wait_pidfile() {
	wait_until 20 test -s "$1" || fail "$2 did not start within 20 s: $(cat $NBD_DIR/log)"
	SRV_PID=$(cat "$1")
	wait_until 20 ublk-nbd-fault --probe "$NBD_ADDR" --export "$NBD_EXPORT" ||
		fail "$2 does not answer a handshake at $NBD_ADDR"
	note "$2 on $NBD_URI, pid $SRV_PID"
}

nbd_prepare() {
	[ -n "$SRV_PID" ] && stop_server
	mkdir -p $NBD_DIR
	rm -f $NBD_DIR/pid
	case ${1:-10809} in /*) rm -f "$1" ;; esac
}

start_nbdkit_memory() {
	local size=$1 addr=${2:-10809}
	nbd_prepare "$addr"
	nbd_set_addr "$addr" ""
	h nbdkit --foreground --pidfile $NBD_DIR/pid $(nbd_listen_args "$addr") \
		memory "$size" >$NBD_DIR/log 2>&1 &
	nbd_wait_pidfile $NBD_DIR/pid "nbdkit memory $size"
	SRV_START="start_nbdkit_memory $size $addr"
}

start_nbdkit_file() {
	local file=$1 addr=${2:-10809} opts="" params="" a
	shift
	[ $# -gt 0 ] && shift
	for a in "$@"; do
		case $a in --*) opts="$opts $a" ;; *) params="$params $a" ;; esac
	done
	nbd_prepare "$addr"
	nbd_set_addr "$addr" ""
	[ -e "$file" ] || truncate -s 64M "$file"
	h nbdkit --foreground --pidfile $NBD_DIR/pid $(nbd_listen_args "$addr") \
		$opts file "$file" $params >$NBD_DIR/log 2>&1 &
	nbd_wait_pidfile $NBD_DIR/pid "nbdkit file $file"
	SRV_START="start_nbdkit_file $file $addr $*"
}

start_qemu_nbd() {
	local img=$1 addr=${2:-10809} fmt=${3:-qcow2} where
	nbd_prepare "$addr"
	nbd_set_addr "$addr" ""
	case $addr in
	/*) where="-k $addr" ;;
	*) where="-b 127.0.0.1 -p $addr" ;;
	esac
	h qemu-nbd --persistent --shared=16 --format="$fmt" \
		--pid-file=$NBD_DIR/pid $where "$img" >$NBD_DIR/log 2>&1 &
	nbd_wait_pidfile $NBD_DIR/pid "qemu-nbd $img"
	SRV_START="start_qemu_nbd $img $addr $fmt"
}

start_nbd_server() {
	local file=$1 addr=${2:-10809}
	nbd_prepare "$addr"
	nbd_set_addr "$addr" disk
	[ -e "$file" ] || truncate -s 64M "$file"
	{
		echo "[generic]"
		case $addr in
		/*) echo "unixsock = $addr" ;;
		*) echo "listenaddr = 127.0.0.1"; echo "port = $addr" ;;
		esac
		echo "[disk]"
		echo "exportname = $file"
		echo "flush = true"
		echo "trim = true"
	} > $NBD_DIR/nbd-server.conf
	# it goes into the background by itself, its pid in the pid file
	h nbd-server -C $NBD_DIR/nbd-server.conf -p $NBD_DIR/pid >$NBD_DIR/log 2>&1 ||
		fail "nbd-server did not start: $(cat $NBD_DIR/log)"
	nbd_wait_pidfile $NBD_DIR/pid "nbd-server $file"
	SRV_START="start_nbd_server $file $addr"
}

# start_fault_server ADDR ARGS...: ublk-nbd-fault ARGS on ADDR; the export
# name is whatever ARGS' --export says (default: any name is served)
start_fault_server() {
	local addr=${1:-10809} name="" prev=""
	shift
	nbd_prepare "$addr"
	for a in "$@"; do
		[ "$prev" = --export ] && name=$a
		prev=$a
	done
	nbd_set_addr "$addr" "$name"
	SRV_START="start_fault_server $addr $*"
	case $addr in
	/*) set -- --unix "$addr" "$@" ;;
	*) set -- --listen "127.0.0.1:$addr" "$@" ;;
	esac
	ublk-nbd-fault --ready $NBD_DIR/pid --exit-after-secs "$NBD_LIFE" "$@" >$NBD_DIR/log 2>&1 &
	SRV_PID=$!
	wait_until 20 test -s $NBD_DIR/pid || fail "ublk-nbd-fault $* did not start: $(cat $NBD_DIR/log)"
	note "ublk-nbd-fault $* on $NBD_URI, pid $SRV_PID"
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill "$SRV_PID" 2>/dev/null
	wait_until 5 sh -c "! kill -0 $SRV_PID" || { kill -9 "$SRV_PID" 2>/dev/null
		wait_until 5 sh -c "! kill -0 $SRV_PID" || fail "server $SRV_PID does not die"; }
	SRV_PID=""
}

kill_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -9 "$SRV_PID" 2>/dev/null
	wait_until 5 sh -c "! kill -0 $SRV_PID" || fail "server $SRV_PID does not die"
	SRV_PID=""
}

restart_server() {
	local start=$SRV_START
	[ -n "$start" ] || fail "restart_server: no server was started"
	stop_server
	[ "${1:-0}" = 0 ] || sleep "$1"
	$start
}

nbd_probe() {
	ublk-nbd-fault --probe "$NBD_ADDR" --export "$NBD_EXPORT" "$@"
}
