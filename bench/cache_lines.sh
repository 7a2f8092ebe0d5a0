#!/usr/bin/env bash
# Cache lines per streaming minute (28 pairs, all 1,088 features) that come from beyond a
# last-level cache of a given size: callgrind's cache simulation of MarketEngine::step over
# market_bench's streaming run (its 10-day warm-up through run_market and the 3,000 timed
# minutes: every minute goes through the same step). Unlike a timing,
# the count is the same on every machine and under any load, so it tells whether a change
# to the state layout fetches fewer lines; the streaming step is bound by these lines on
# every machine measured (README, "Measured performance").
#
# usage: bench/cache_lines.sh [build-dir] [cache bytes, power of two; default 1048576]
# Takes ~10 minutes on one core (valgrind). Needs valgrind.
set -euo pipefail
build=${1:-build}
cache_bytes=${2:-1048576}
bench="$build/bench/market_bench"
[[ -x "$bench" ]] || { echo "cache_lines.sh: $bench not found (build it first: cmake --build $build --target market_bench)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "cache_lines.sh: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 2; }
out=$(mktemp /tmp/bqx-cache-lines.XXXXXX)
trap 'rm -f "$out"' EXIT
echo "simulating a ${cache_bytes}-byte last-level cache (16-way, 64-byte lines) under callgrind; ~10 min ..." >&2
valgrind --tool=callgrind --cache-sim=yes --LL="$cache_bytes,16,64" --callgrind-out-file="$out" \
  --toggle-collect='bqx::MarketEngine::step(*' "$bench" --benchmark_filter='StreamOneMinute28' >/dev/null 2>&1
python3 - "$out" "$cache_bytes" <<'EOF'
import re, sys
path, cache_bytes = sys.argv[1], int(sys.argv[2])
# Every minute, the benchmark's own and its batch warm-up's (run_market), goes through
# MarketEngine::step_impl once; each pair's bar through PairEngine::bar_input once.
targets = {'MarketEngine::step_impl(': 'minutes', 'PairEngine::bar_input(': 'bars'}
events, summary, ids, counts, pending = None, None, {}, {'minutes': 0, 'bars': 0}, None
for line in open(path):
    if line.startswith('events:'):
        events = line.split()[1:]
    elif line.startswith('summary:'):
        summary = [int(x) for x in line.split()[1:]]
    elif line.startswith(('fn=', 'cfn=')):
        # callgrind names a function once, at its first fn= or cfn= line; later by id only
        m = re.match(r'c?fn=\((\d+)\)(.*)', line)
        pending = None
        if m:
            for name, key in targets.items():
                if name in m.group(2):
                    ids[m.group(1)] = key
            if line.startswith('cfn='):
                pending = ids.get(m.group(1))
    elif line.startswith('calls=') and pending:
        counts[pending] += int(line.split('=')[1].split()[0])
        pending = None
minutes = counts['minutes']
if not events or not summary or minutes == 0:
    sys.exit('cache_lines.sh: could not read the callgrind output')
if counts['bars'] > 28 * minutes:
    sys.exit('cache_lines.sh: more than 28 pair bars per step_impl call: step_impl was inlined somewhere '
             '(a build other than the default Release?); the per-minute figures would be wrong')
v = dict(zip(events, summary))
per = lambda k: v.get(k, 0) / minutes
print(f'minutes collected: {minutes} ({counts["bars"] / minutes:.1f} pair bars per minute); last-level cache simulated: {cache_bytes} bytes')
print(f'instructions per minute:            {per("Ir"):12,.0f}')
print(f'data lines read from beyond it:     {per("DLmr"):12,.0f} per minute')
print(f'data lines written (write misses):  {per("DLmw"):12,.0f} per minute')
print(f'code lines from beyond it:          {per("ILmr"):12,.0f} per minute')
print(f'all lines:                          {per("DLmr") + per("DLmw") + per("ILmr"):12,.0f} per minute')
EOF
