# The two commands a user needs are `make demo` and `make test` (see README.md).
.PHONY: demo test setup deps build guest-image bench clean

demo: setup
	bash scripts/demo.sh

test: setup
	npx vitest run

setup:
	bash scripts/setup.sh all

deps:
	bash scripts/setup.sh deps

build:
	npm run build

guest-image:
	bash scripts/guest/build.sh

bench: setup
	npm run --silent bench

clean:
	rm -rf dist build src/gen
