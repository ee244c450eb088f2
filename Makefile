# Storyloom: the two commands of the Quick start, and a few for developers.
#   make run    install what is missing, build (optimised), start the server on SQLite
#   make test   install, check the layer graph (scripts/check-layers), build with ASan+UBSan,
#               run clang-tidy (make lint), build the Debian package (make deb, for the
#               ctest package_deb), run every test through ctest (recording the HTTP
#               exchanges, then checking them against docs/openapi.yaml), then the
#               concurrency-heavy suites under ThreadSanitizer (test-tsan), then each fuzz
#               target for FUZZ_SECONDS (25 s) over its seed corpus (scripts/fuzz)
#   make lint   clang-tidy-16 (.clang-tidy) over src/**/*.cc with build-asan's compile database
#   make fuzz   the fuzz targets for 10 minutes each (FUZZ_SECONDS=600)
#   make bench-compare  Storyloom on both databases beside the seed's design, nginx and
#               SQLite's own ceiling, one run, ratios against issue 14's targets
#   make test-tsan  build with ThreadSanitizer (build-tsan) and run the suites labelled "tsan"
#               (tests/CMakeLists.txt); TSAN_TESTS= runs every test under TSan instead
#   make deb    build/storyloom_<version>_<arch>.deb (cmake/packaging.cmake; docs/OPERATIONS.md)
#   make install  the binary, man page, config, unit and completions under PREFIX (/usr/local),
#               DESTDIR honoured
JOBS ?= $(shell nproc)
RELEASE_DIR := build
TEST_DIR := build-asan
TSAN_DIR := build-tsan
TSAN_TESTS ?= -L tsan
ARGS ?=
PREFIX ?= /usr/local

.PHONY: run test lint check-layers test-tsan build-tsan fuzz fuzz-smoke build build-test deps bench bench-http bench-pg bench-db-copy bench-compare bench-scale format clean deb install

deps:
	@scripts/install-deps

RELEASE_CONFIGURE = cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DSTORYLOOM_TESTS=OFF >/dev/null

build: deps
	@$(RELEASE_CONFIGURE)
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

# The Debian package, from the Release tree: the server and the files cmake/packaging.cmake
# generates from it (man page, completions); bench/ is not built for it.
deb: deps
	@$(RELEASE_CONFIGURE)
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target deb
	@ls $(RELEASE_DIR)/storyloom_*.deb

# cmake --install of the same files: make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]
install: deps
	@$(RELEASE_CONFIGURE)
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target storyloom storyloom_package_files
	@DESTDIR="$(DESTDIR)" cmake --install $(RELEASE_DIR) --prefix "$(PREFIX)"

run: build
	@$(RELEASE_DIR)/storyloom serve $(ARGS)

TEST_CONFIGURE = cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DSTORYLOOM_SANITIZE=ON \
	-DSTORYLOOM_BENCH=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

build-test: deps
	@$(TEST_CONFIGURE)
	@cmake --build $(TEST_DIR) -j $(JOBS)

# The TSan build and suites add about half to a cold `make test`, 65 s to a warm one
# (docs/RELIABILITY.md "Races").
# The ASan run records every HTTP exchange of the tests; scripts/test-openapi then checks them
# against docs/openapi.yaml (tests/openapi/README.md).
test: check-layers build-test lint build-tsan deb
	@rm -rf $(TEST_DIR)/exchanges && mkdir -p $(TEST_DIR)/exchanges
	@cd $(TEST_DIR) && ASAN_OPTIONS=detect_leaks=1 STORYLOOM_RECORD_EXCHANGES=$(CURDIR)/$(TEST_DIR)/exchanges \
		ctest --output-on-failure -j $(JOBS)
	@scripts/test-openapi validate $(CURDIR)/$(TEST_DIR)/exchanges
	@cd $(TSAN_DIR) && ctest --output-on-failure -j $(JOBS) $(TSAN_TESTS)
	@$(MAKE) --no-print-directory fuzz-smoke

# clang-tidy over every src/**/*.cc (.clang-tidy, scripts/lint): any finding fails, so CI keeps
# it at zero. Needs only the configured build-asan (its compile_commands.json), not a build.
lint: deps
	@$(TEST_CONFIGURE)
	@JOBS=$(JOBS) scripts/lint

# Every #include in src/ against the layer graph of cmake/layers.txt (README.md "Layers");
# ctest runs it too (label lint).
check-layers: deps
	@scripts/check-layers

# ThreadSanitizer cannot share a build with ASan: its own directory, only the binaries the
# tests need, and by default only the suites labelled "tsan" (docs/RELIABILITY.md "Races").
build-tsan: deps
	@cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DSTORYLOOM_TSAN=ON -DSTORYLOOM_BENCH=OFF >/dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target storyloom storyloom_tests

test-tsan: build-tsan
	@cd $(TSAN_DIR) && ctest --output-on-failure -j $(JOBS) $(TSAN_TESTS)

# libFuzzer targets (fuzz/, clang-16) in build-fuzz: bounded in `make test`, long in `make fuzz`.
fuzz-smoke: deps
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-25} scripts/fuzz

fuzz: deps
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-600} scripts/fuzz

bench: build
	@scripts/bench-store

bench-http: build
	@scripts/bench-http

bench-pg: build
	@scripts/bench-pg

bench-db-copy: build
	@scripts/bench-db-copy

# Storyloom beside the seed's design, nginx and SQLite's own ceiling, with the ratios of
# issue 14 (docs/PERFORMANCE.md); installs the peers (nginx, FastAPI, uvicorn) first.
bench-compare: build
	@scripts/install-deps --bench
	@scripts/bench-compare

# At scale (issue 14): 1M workflows and 10M usage rows on both backends, restart with
# 10,000 queued workflows, the engine's rate, 10,000 SSE streams (docs/PERFORMANCE.md).
bench-scale: build
	@scripts/install-deps --bench
	@scripts/bench-scale

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	@rm -rf $(RELEASE_DIR) $(TEST_DIR) $(TSAN_DIR) build-fuzz
