# Benchmarks (benchmarks/README.md): `make bench` refreshes the CPU table there.
PYTHON ?= python

.PHONY: bench bench-quick bench-gpu

bench:
	$(PYTHON) benchmarks/run.py --device cpu --readme benchmarks/README.md

bench-quick:
	$(PYTHON) benchmarks/run.py --device cpu --quick

bench-gpu:
	$(PYTHON) benchmarks/run.py --device cuda --readme benchmarks/README.md
