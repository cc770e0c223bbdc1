#!/usr/bin/env bash
# scripts/test.sh - install what is missing, build, and run the whole test suite.
#
#   1. main build (gcc, -DDS_WERROR=ON): unit tests, then integration tests with the
#      real daemons (ctest -L unit, ctest -L integration)
#   2. ASan/UBSan build (-DDS_SANITIZE=ON): unit tests
#   3. libFuzzer build (clang, -DDS_FUZZ=ON): every fuzz_* target for DS_FUZZ_SECONDS
#      (default 30) with its seed corpus from tests/fuzz/corpus/
#   4. the Debian package (installer/build-deb.sh) from the main build, and its contents
# Every stage runs even when an earlier one failed; the last line is the summary
# "test.sh: N passed, N failed" (ctest tests, fuzz targets and package checks) and the
# exit code is non-zero when anything failed.
#
# Environment: DS_BUILD_PREFIX (default <repo>/build-ci: main/, asan/, fuzz/, deb/ under
# it), DS_FUZZ_SECONDS, DS_ASAN_INTEGRATION=1 (also run the integration tests under
# ASan), DS_SKIP_DEPS=1 (do not call install-deps.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${DS_BUILD_PREFIX:-$ROOT/build-ci}
FUZZ_SECONDS=${DS_FUZZ_SECONDS:-30}
JOBS=$(nproc 2>/dev/null || echo 2)
START=$SECONDS

PASSED=0
FAILED=0
SUMMARY=()

note() { printf '\n==== %s (%ds)\n' "$*" $((SECONDS - START)); }
record() { # record pass|fail WHAT
    if [ "$1" = pass ]; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
    SUMMARY+=("$1 $2")
}

if [ "${DS_SKIP_DEPS:-0}" != 1 ]; then
    note "dependencies"
    if ! "$ROOT/scripts/install-deps.sh"; then
        echo "test.sh: cannot install the dependencies"
        echo "test.sh: 0 passed, 1 failed"
        exit 1
    fi
fi

# build NAME DIR CMAKE-ARGS...: configure and build; records a failure and returns 1.
build() {
    local name=$1 dir=$2
    shift 2
    note "configure and build: $name ($dir)"
    if cmake -S "$ROOT" -B "$dir" "$@" >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log"; false; }; then
        if cmake --build "$dir" -j "$JOBS"; then
            return 0
        fi
    fi
    record fail "build $name"
    return 1
}

# run_ctest WHAT DIR CTEST-ARGS...: run ctest, count its tests into the totals.
run_ctest() {
    local what=$1 dir=$2 log
    shift 2
    note "ctest: $what"
    log="$dir/ctest-${what//[^a-zA-Z0-9]/_}.log"
    ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local line total fails
    line=$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        fails=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
        total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
        PASSED=$((PASSED + total - fails))
        FAILED=$((FAILED + fails))
        SUMMARY+=("$([ "$rc" -eq 0 ] && echo pass || echo fail) $what: $((total - fails))/$total")
        # ctest exiting non-zero with no failed test (e.g. a timeout) still fails.
        if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then record fail "$what (ctest status $rc)"; fi
    else
        record fail "$what (no ctest result, status $rc)"
    fi
}

mkdir -p "$PREFIX"

# ---- 1. main build: unit + integration ---------------------------------------------------
# Tests run one at a time: several have timing bounds, and the machine has 2 cores.
MAIN=$PREFIX/main
if build main "$MAIN" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_WERROR=ON; then
    run_ctest "unit tests" "$MAIN" -L unit
    run_ctest "integration tests" "$MAIN" -L integration
fi

# ---- 2. ASan/UBSan build: unit tests -----------------------------------------------------
ASAN=$PREFIX/asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if build asan "$ASAN" -DCMAKE_BUILD_TYPE=Debug -DDS_WERROR=ON -DDS_SANITIZE=ON; then
    run_ctest "asan unit tests" "$ASAN" -L unit
    if [ "${DS_ASAN_INTEGRATION:-0}" = 1 ]; then
        run_ctest "asan integration tests" "$ASAN" -L integration
    fi
fi

# ---- 3. fuzzers --------------------------------------------------------------------------
FUZZ=$PREFIX/fuzz
if ! ls "$ROOT"/tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
    note "fuzzers: none in tests/fuzz"
elif CC=clang build fuzz "$FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_WERROR=ON \
    -DDS_FUZZ=ON -DDS_BUILD_TESTS=OFF; then
    for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        bin=$FUZZ/$name
        note "fuzz: $name for ${FUZZ_SECONDS}s"
        if [ ! -x "$bin" ]; then
            record fail "fuzz $name (not built)"
            continue
        fi
        seeds=()
        for d in "$ROOT/tests/fuzz/corpus/$name" "$ROOT/tests/fuzz/corpus/${name#fuzz_}"; do
            [ -d "$d" ] && seeds+=("$d")
        done
        [ ${#seeds[@]} -eq 0 ] && echo "warning: no seed corpus for $name in tests/fuzz/corpus/"
        # New inputs go to a scratch directory; the seed corpora are only read.
        work=$FUZZ/run-$name
        rm -rf "$work"
        mkdir -p "$work/new"
        if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "${seeds[@]}" \
            >"$work/fuzz.log" 2>&1; then
            tail -n 12 "$work/fuzz.log"
            record pass "fuzz $name"
        else
            tail -n 60 "$work/fuzz.log"
            ls -l "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-* 2>/dev/null
            record fail "fuzz $name"
        fi
    done
fi

# ---- 4. the Debian package ---------------------------------------------------------------
if [ -x "$MAIN/dnsstream" ]; then
    note "Debian package"
    DEB_OUT=$PREFIX/deb
    rm -rf "$DEB_OUT"
    if "$ROOT/installer/build-deb.sh" "$MAIN" "$DEB_OUT"; then
        deb=$(ls "$DEB_OUT"/dnsstream_*.deb 2>/dev/null | head -n 1)
        if [ -n "$deb" ] && "$ROOT/installer/check-deb.sh" "$deb"; then
            record pass "package $(basename "$deb")"
        else
            record fail "package contents"
        fi
    else
        record fail "package build"
    fi
fi

[ -x "$MAIN/dnsstream" ] && { note "benchmark smoke (fails only when broken)"; \
    if "$ROOT/bench/smoke" "$MAIN"; then record pass "bench smoke"; \
    else record fail "bench smoke"; fi; }

note "summary"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
echo "total time $((SECONDS - START))s"
echo "test.sh: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
