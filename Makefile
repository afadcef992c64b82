# kpi: PGXS build, plus the two commands of the README (demo, test) and bench.
EXTENSION  = kpi
MODULE_big = kpi
OBJS       = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA       = $(wildcard kpi--*.sql)
PG_CFLAGS  = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
             -Wno-missing-field-initializers

# pg_regress suites: setup installs the oldest release and upgrades it.
REGRESS      = setup period goal bands tally system rollup alert alert_judge review security trust analysis source partition subtree forecasts
REGRESS_OPTS = --inputdir=. --dbname=kpi_regression

# isolationtester specs (test/isolation/specs, expected in test/isolation/expected)
ISOLATION      = actual_concurrent actual_race alert_raise alert_claim alert_levels review_action refresh_race partition_race subtree_race
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=kpi

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# On a machine without PostgreSQL's build files only demo/test/bench are
# usable: they install the packages first, then run make again.
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all:
	@echo "kpi: PostgreSQL build files not found (pg_config --pgxs)."; \
	 echo "     Install postgresql-15 and postgresql-server-dev-15, or run 'make test' / 'make demo' as root."; \
	 exit 1
endif

# make test PG_CONFIG=/path/to/pg_config runs every suite against that
# installation (15 to 18); make test-pg18 (or -pg17, -pg15-cassert) first
# builds that major from Debian's source package into a cache outside the
# clone (test/scripts/pgsrc.sh), once, then runs every suite against it.
.PHONY: demo test bench reliability dist
demo:
	KPI_PG_CONFIG='$(PG_CONFIG)' bash test/scripts/demo.sh
test:
	KPI_PG_CONFIG='$(PG_CONFIG)' bash test/scripts/test.sh
bench:
	KPI_PG_CONFIG='$(PG_CONFIG)' bash test/scripts/bench.sh
# what is too slow for make test: fuzzing the type parsers (libFuzzer) and
# every suite on an assert-enabled server under valgrind (docs/reliability.md)
reliability:
	bash test/scripts/reliability.sh
test-pg%:
	pgc=$$(bash test/scripts/pgsrc.sh $(subst -, ,$*)) && \
	KPI_PG_CONFIG="$$pgc" bash test/scripts/test.sh

# make dist: the release archives of what git tracks at HEAD, named after
# kpi.control's default_version: kpi-X.Y.zip for PGXN (META.json) and
# kpi-X.Y.tar.gz; debian/ builds a .deb from either (docs/install.md).
DISTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
dist:
	git archive --format=zip --prefix=kpi-$(DISTVERSION)/ -o kpi-$(DISTVERSION).zip HEAD
	git archive --format=tar.gz --prefix=kpi-$(DISTVERSION)/ -o kpi-$(DISTVERSION).tar.gz HEAD
	@echo "kpi-$(DISTVERSION).zip kpi-$(DISTVERSION).tar.gz"
