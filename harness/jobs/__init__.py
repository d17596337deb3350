"""Long jobs built on the run lifecycle: the benchmark, the soak, the nightly regression
run and the LocalStack suite. None runs in `make test`.
"""
