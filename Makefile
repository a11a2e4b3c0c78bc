# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0
CLIP   ?= ../shared/data/clips/pets2009_s2l1_480x360_h264.avi
DEMO_OUT ?= demo/pets2009_x2.mp4

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned to the CPU build on disk; the package's own range then installs nothing more.
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	@test -f "$(CLIP)" || { echo "demo: clip $(CLIP) not found (expected ../shared/data beside the repo)"; exit 2; }
	@mkdir -p $(dir $(DEMO_OUT))
	$(VENV)/bin/vidclear enhance "$(CLIP)" "$(DEMO_OUT)" --model espcn-x2 --max-frames 200

test: install
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/vidclear bench --clip ../shared/data/clips/car_traffic_small_640x360.mp4 --frames 120 \
		--model espcn-x3 --json bench.json --markdown bench.md

clean:
	rm -rf $(VENV) .venv-opencv demo .pytest_cache bench.json bench.md
