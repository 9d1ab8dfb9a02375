#!/bin/sh
#
# In-guest tests of rust_sample and its init script. Prints one "ok - NAME" or
# "not ok - NAME" line per test, then "guest: N passed, N failed".
# With --bench, also prints the throughput of /dev/rust-sample against
# /dev/urandom (not a test). With --kunit, the kernel is one built with
# tests/linux-kunit.fragment and the module's KUnit report must be there.
# With --debug, the kernel is one built with tests/linux-debug.fragment
# (KASAN, lockdep, kmemleak, UBSAN, failslab): unload races, readers and
# writers at once, fault injection and a kmemleak scan run too, and any
# sanitizer report fails the run, and a randomized syscall stress runs while
# the module reloads. With --stress (a debug kernel at native speed, under
# KVM), 2000 reload cycles instead of 200 and 20000 stress operations per
# thread instead of 1000.

DEV=/dev/rust-sample
INIT=/etc/init.d/S50rustsample
OUT_OF_TREE=/usr/lib/rustsample/out-of-tree/rust_sample.ko
passed=0
failed=0
bench=
kunit=
debug=
cycles=200
stress_ops=1000
DEBUGFS=/sys/kernel/debug
for arg; do
	case $arg in
	--bench) bench=1 ;;
	--kunit) kunit=1 ;;
	--debug) debug=1 ;;
	--stress) cycles=2000 stress_ops=20000 ;;
	esac
done

run() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "ok - $name"
		# The last line says what was measured.
		[ -z "$out" ] || echo "$out" | tail -n 1 | sed 's/^/#   /'
		passed=$((passed + 1))
	else
		echo "not ok - $name"
		echo "$out" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

loaded() {
	grep -q '^rust_sample ' /proc/modules
}

# Reads $1 bytes and prints them as hex.
sample() {
	head -c "$1" "$DEV" | od -An -tx1 | tr -d ' \n'
}

loaded_by_init_script() {
	loaded || { echo "rust_sample is not in /proc/modules"; return 1; }
}

device_node_is_read_only() {
	# mdev applies the permission rule on the hotplug event.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		# shellcheck disable=SC2010 # one device node with a fixed name
		ls -l "$DEV" 2>/dev/null | grep -q '^cr--r--r--' && return 0
		sleep 0.5
	done
	ls -l "$DEV"
	return 1
}

reads_random_bytes() {
	a=$(sample 32)
	b=$(sample 32)
	echo "$a"
	[ "${#a}" -eq 64 ] || { echo "short read"; return 1; }
	[ "$a" != "$b" ] || { echo "two reads returned the same bytes"; return 1; }
	[ -n "$(echo "$a" | sed 's/^\(..\)\(\1\)*$//')" ] || { echo "constant bytes"; return 1; }
}

rmmod_refused_while_open() {
	exec 3< "$DEV"
	if rmmod rust_sample 2>/dev/null; then
		exec 3<&-
		echo "rmmod succeeded while /dev/rust-sample was open"
		return 1
	fi
	loaded || { echo "module gone while open"; return 1; }
	n=$(head -c 32 <&3 | wc -c)
	exec 3<&-
	[ "$n" -eq 32 ] || { echo "the open file read $n bytes after rmmod"; return 1; }
	rmmod rust_sample || { echo "rmmod failed after close"; return 1; }
	modprobe rust_sample
}

load_unload_cycles() {
	i=0
	while [ "$i" -lt 20 ]; do
		rmmod rust_sample || return 1
		modprobe rust_sample || return 1
		[ "$(head -c 16 "$DEV" | wc -c)" -eq 16 ] || { echo "cycle $i: short read"; return 1; }
		i=$((i + 1))
	done
	echo "20 cycles"
}

init_script_actions() {
	"$INIT" stop || return 1
	! loaded || { echo "still loaded after stop"; return 1; }
	"$INIT" stop || { echo "stop when not loaded failed"; return 1; }
	"$INIT" start || return 1
	loaded || { echo "not loaded after start"; return 1; }
	"$INIT" restart || return 1
	"$INIT" reload || return 1
	loaded || { echo "not loaded after reload"; return 1; }
	if "$INIT" bogus >/dev/null; then
		echo "an unknown action succeeded"
		return 1
	fi
}

init_script_reports_failure() {
	"$INIT" stop >/dev/null || return 1
	mv "/lib/modules/$(uname -r)" /lib/modules/hidden
	out=$("$INIT" start)
	status=$?
	mv /lib/modules/hidden "/lib/modules/$(uname -r)"
	echo "$out (exit $status)"
	"$INIT" start >/dev/null || return 1
	[ "$status" -ne 0 ] && echo "$out" | grep -q FAIL
}

out_of_tree_module() {
	"$INIT" stop >/dev/null || return 1
	insmod "$OUT_OF_TREE" || { "$INIT" start; return 1; }
	n=$(head -c 64 "$DEV" | wc -c)
	rmmod rust_sample
	"$INIT" start >/dev/null || return 1
	[ "$n" -eq 64 ] || { echo "read $n bytes from the out-of-tree module"; return 1; }
}

kunit_suite_passed() {
	# KUnit runs the module's suite at every load; look at the last report.
	report=$(dmesg | grep '# rust_sample: pass:' | tail -n 1)
	echo "$report"
	echo "$report" | grep -q 'pass:[1-9][0-9]* fail:0 skip:0'
}

# Kernel reports of a bug: oopses and warnings, KASAN and kmemleak ("BUG:"),
# UBSAN, lockdep, list and other data corruption.
SPLAT='WARNING:|BUG:|Oops|Call trace|Unable to handle|UBSAN:|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|corruption|unreferenced object|suspected memory leak|sleeping function called'

dmesg_clean() {
	# The report with what follows it: the stack that says where.
	! dmesg | grep -E -A 24 "$SPLAT" | head -n 120 | grep .
}

debugfs_mounted() {
	grep -q " $DEBUGFS debugfs " /proc/mounts || mount -t debugfs debugfs "$DEBUGFS"
}

unload_races_readers() {
	devcheck race "$DEV" "$cycles"
}

failslab_reads_in_full() {
	debugfs_mounted || return 1
	f=$DEBUGFS/failslab
	# Every slab allocation of a task that asks for it, sleeping ones too, quietly.
	echo Y > "$f/task-filter" && echo N > "$f/ignore-gfp-wait" &&
		echo 0 > "$f/verbose" && echo 0 > "$f/space" &&
		echo -1 > "$f/times" && echo 1 > "$f/interval" &&
		echo 100 > "$f/probability" || return 1
	devcheck failslab "$DEV"
	status=$?
	echo 0 > "$f/probability"
	return $status
}

kmemleak_finds_nothing() {
	debugfs_mounted || return 1
	# Objects younger than 5 s are not reported; a second scan confirms.
	sleep 6
	echo scan > "$DEBUGFS/kmemleak" && sleep 1 && echo scan > "$DEBUGFS/kmemleak" || return 1
	leaks=$(cat "$DEBUGFS/kmemleak")
	if echo "$leaks" | grep -q rust_sample; then
		echo "$leaks" | head -n 60
		return 1
	fi
	echo "no leak in rust_sample ($(echo "$leaks" | grep -c 'unreferenced object') elsewhere)"
}

run "init script loaded the module" loaded_by_init_script
if [ -n "$kunit" ]; then
	run "the module's KUnit suite passed at load" kunit_suite_passed
fi
run "/dev/rust-sample is a 0444 character device" device_node_is_read_only
run "reads return random bytes" reads_random_bytes
for check in sizes fault signal threads write stats; do
	run "devcheck $check" devcheck "$check" "$DEV"
done
# urandom serves RWF_NOWAIT; the module documents that it cannot (its open()
# has no way to set FMODE_NOWAIT through the abstraction): module/rust_sample.rs.
run "preadv2/pwritev2 RWF_NOWAIT: EOPNOTSUPP, as documented (urandom: served)" \
	devcheck nowait "$DEV" EOPNOTSUPP
run "rmmod is refused while the device is open" rmmod_refused_while_open
run "20 load/unload cycles" load_unload_cycles
run "init script start/stop/restart/reload" init_script_actions
run "init script reports a failed load" init_script_reports_failure
# Only the offline loop installs an out-of-tree build.
if [ -f "$OUT_OF_TREE" ]; then
	run "out-of-tree build loads and reads" out_of_tree_module
fi
if [ -n "$debug" ]; then
	run "$cycles unload/load cycles with readers racing" unload_races_readers
	run "devcheck mixed (readers and writers on every CPU)" devcheck mixed "$DEV"
	run "randomized syscall stress while the module reloads" devcheck stress "$DEV" "$stress_ops"
	run "failslab: reads that allocate fall back to the stack buffer" failslab_reads_in_full
	run "kmemleak reports nothing from rust_sample" kmemleak_finds_nothing
fi
run "dmesg has no WARNING, BUG, Oops or sanitizer report" dmesg_clean

if [ -n "$bench" ]; then
	devcheck bench "$DEV" /dev/urandom
fi
echo "guest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
