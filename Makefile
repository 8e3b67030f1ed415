# llmhealth — `make run` and `make test` install what they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: install run test test-unit test-embedded bench lint clean up down logs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## the whole pipeline on this machine (demo targets when no config); ARGS="--config x.yaml"
	$(VENV)/bin/llmhealth run $(ARGS)

test: $(STAMP)  ## unit and (with Docker) container tests, then the embedded tier; each tier two files at a time
	$(PY) -m pytest -q -ra -n 2 --dist loadfile --durations=15 -m "not embedded" $(ARGS)
	$(PY) -m pytest -q -ra -n 2 --dist loadfile --no-loadscope-reorder --durations=25 -m embedded $(ARGS)

test-unit: $(STAMP)  ## unit tests only (no engine, no child processes)
	$(PY) -m pytest -q -ra tests/unit $(ARGS)

test-embedded: $(STAMP)  ## the embedded engine and real processes (pytest marker `embedded`)
	$(PY) -m pytest -q -ra -m embedded $(ARGS)

bench: $(STAMP)  ## writes BENCHMARKS.md (about 3 h: 60 min soak, 50 min settle, 30 min passive, 3 min replay); ARGS="--short", "--only detection,aggregation", "--soak-minutes 10"
	$(PY) -m bench $(ARGS)

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff==0.17.5
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) data .pytest_cache

up:  ## the stack in Docker Compose (docs/deploy.md); creates deploy/.env with generated passwords if missing
	@test -f deploy/.env || { \
	  umask 077; \
	  while IFS= read -r line; do \
	    case "$$line" in \
	      [A-Z]*_PASSWORD=) printf '%s%s\n' "$$line" "$$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" ;; \
	      *) printf '%s\n' "$$line" ;; \
	    esac; \
	  done < deploy/.env.example > deploy/.env.tmp && mv deploy/.env.tmp deploy/.env && \
	  echo "created deploy/.env with generated passwords (keep it private)"; }
	docker compose -f deploy/docker-compose.yml --env-file deploy/.env up -d --build

down:  ## stop the compose stack (data stays in its volumes)
	docker compose -f deploy/docker-compose.yml --env-file deploy/.env down

logs:  ## follow the compose stack's logs
	docker compose -f deploy/docker-compose.yml --env-file deploy/.env logs -f --tail=100
