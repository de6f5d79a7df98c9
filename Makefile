# The two commands of the README's quick start.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh
