#!/bin/sh
# fuzz/run.sh SECONDS FUZZER...: run each libFuzzer target for SECONDS,
# starting from its seeds in fuzz/corpus/NAME (never written to); what
# it finds goes to build/fuzz/corpus/NAME, a crash to
# build/fuzz/crash-NAME-*.  Exits 1 at the first target that fails.
set -u
secs=$1
shift
cd "$(dirname "$0")/.." || exit 111
# Bounded memory on a shared machine; leaks count as failures.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=64:malloc_context_size=20}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
rc=0
for f in "$@"; do
	name=$(basename "$f")
	work=build/fuzz/corpus/$name
	mkdir -p "$work"
	echo "fuzz: $name for ${secs}s"
	if ! "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="build/fuzz/crash-$name-" \
	    "$work" "fuzz/corpus/$name" >"build/fuzz/$name.log" 2>&1; then
		echo "fuzz: $name FAILED, see build/fuzz/$name.log:" >&2
		grep -E 'ERROR|SUMMARY|Test unit written' "build/fuzz/$name.log" >&2
		rc=1
		break
	fi
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' \
	    "build/fuzz/$name.log" | sed "s/^/fuzz: $name: /"
done
exit $rc
