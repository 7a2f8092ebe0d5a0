# Thin wrapper over CMake. The two commands of the README:
#   make demo   -- install deps, build, generate a synthetic market, ingest, compute every
#                  feature (bqx run), export Parquet, validate (MONTHS=12 for the full year)
#   make test   -- install deps, build, run every test (plus the ASan+UBSan unit tests)
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
MONTHS     ?= 1
DB         ?= bqx.duckdb
DEMO_DIR   ?= demo
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps build build-cli test test-fast sanitize demo bench format clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

# Only the bqx binary (what the demo needs).
build-cli: deps
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS) --target bqx

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (no benchmarks).
sanitize: deps
	cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBQX_SANITIZE=ON -DBQX_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -LE slow

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test: test-fast sanitize

demo: build-cli
	rm -rf $(DEMO_DIR) $(DB) $(DB).wal
	$(BUILD)/bqx generate --out $(DEMO_DIR)/data --months $(MONTHS)
	$(BUILD)/bqx ingest --db $(DB) $(DEMO_DIR)/data
	$(BUILD)/bqx status --db $(DB)
	$(BUILD)/bqx run --db $(DB)
	$(BUILD)/bqx export --db $(DB) --parquet $(DEMO_DIR)/parquet
	$(BUILD)/bqx validate --db $(DB) --report $(DEMO_DIR)/report

bench: build
	bench/run-all.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
