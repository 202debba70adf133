#!/bin/sh
# fuzz.sh: runs the libFuzzer harnesses that `make fuzz-build` made, each for
# a bounded time from its corpus in tests/fuzz/corpus. Called by `make fuzz`
# (MODE fuzz: new inputs are kept in build/fuzz/corpus/NAME for the next run)
# and `make test` (MODE test: from the repository's corpus alone, every time).
# Writes only under build/fuzz: logs, new inputs, and crash-* inputs.
# Usage: fuzz.sh fuzz|test SECONDS NAME...
set -u
mode=$1 seconds=$2
shift 2
out=build/fuzz
failed=""
for t in "$@"; do
    found=$out/corpus/$t crashes=$out/crashes/$t log=$out/$t.log
    [ "$mode" = test ] && found=$out/test-corpus/$t && rm -rf "$found"
    mkdir -p "$found" "$crashes"
    # The first directory gets what libFuzzer finds; the second is only read.
    # One process, one core (-jobs would write logs into the current folder).
    "$out/fuzz_$t" "$found" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
        -timeout=10 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ $rc -eq 0 ]; then
        printf '  %-7s %s: %s runs in %s s, corpus %s + %s new inputs, no crash\n' FUZZ \
            "$t" "${runs:-?}" "$seconds" "$(ls "tests/fuzz/corpus/$t" | wc -l)" \
            "$(ls "$found" | wc -l)"
    else
        echo "  FUZZ    $t: FAILED (exit status $rc), the end of $log:"
        tail -n 40 "$log" | sed 's/^/    /'
        echo "  reproduce: $out/fuzz_$t $(ls -t "$crashes"/* 2>/dev/null | head -n 1)"
        failed="$failed $t"
    fi
done
[ -z "$failed" ] || { echo "fuzz.sh: crashes in:$failed" >&2; exit 1; }
