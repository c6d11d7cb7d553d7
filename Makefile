# abx: PGXS build of the extension, plus the project's entry points (make demo, make test).
EXTENSION   = abx
EXTVERSION  = 0.3.0
MODULE_big  = abx
DATA        = $(wildcard src/sql/abx--*.sql)

CORE_SRCS   = $(wildcard src/core/*.cpp src/core/*/*.cpp)
PG_SRCS     = $(wildcard src/pg/*.cpp worker/*.cpp)
OBJS        = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

# pg_regress tests, in the order of sql/schedule (not the alphabetical order of sql/).
REGRESS      = $(shell sed -n 's/^test: *//p' sql/schedule)
REGRESS_OPTS = --inputdir=. --outputdir=build/regress --load-extension=abx
ISOLATION      = $(basename $(notdir $(wildcard specs/*.spec)))
ISOLATION_OPTS = --inputdir=. --outputdir=build/isolation --load-extension=abx

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -Iinclude -Isrc/pg -Iworker
PG_CXXFLAGS = -std=c++20 -Wextra -Wno-missing-field-initializers -Wno-unused-parameter -Wno-register -fPIC
SHLIB_LINK  = -lstdc++ -lcrypto
# abx is C++: no LLVM bitcode for JIT inlining (PGXS would compile it with clang as C).
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Header dependencies: without them a changed header leaves stale objects with another layout.
override CPPFLAGS += -MMD -MP
-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)

# The core is compiled as the core, even inside abx.so.
src/core/%.o: override CPPFLAGS += -DABX_CORE_BUILD

.PHONY: deps core unit demo demo-stop test bench bench-api bench-analysis bench-http format
deps:
	@bash scripts/deps.sh
core:
	cmake -S . -B build/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/core -j$$(nproc)
demo:
	@bash scripts/demo.sh
demo-stop:
	@bash scripts/gateway.sh stop demo
	@bash scripts/cluster.sh stop demo
test:
	@bash scripts/test.sh
bench: bench-api bench-analysis bench-http
bench-api:
	@bash bench/run.sh
bench-analysis:
	@BENCH_NO_BUILD=1 bash bench/aggregation/run.sh
bench-http:
	@BENCH_NO_BUILD=1 bash bench/http/run.sh
format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

# `make install` also installs abx-http (built by CMake) next to the extension.
GATEWAY_BINDIR ?= /usr/local/bin
.PHONY: gateway install-gateway
gateway:
	cmake -S . -B build/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/core --target abx-http -j$$(nproc)
install: install-gateway
install-gateway: gateway
	install -D -m 755 build/core/abx-http $(DESTDIR)$(GATEWAY_BINDIR)/abx-http
