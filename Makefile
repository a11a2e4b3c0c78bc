# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0
CLIP   ?= ../shared/data/clips/pets2009_s2l1_480x360_h264.avi
DEMO_OUT ?= demo/pets2009_x2.mp4

.PHONY: install demo test bench live-deps clean

# Debian packages the tests need: the live tests' RTSP servers (GStreamer gst-rtsp-server under
# /usr/bin/python3), the OCR engine and font of the legibility benchmark (Tesseract 5, DejaVu), and the
# other DejaVu faces train_sr.py draws its training text in (fonts-dejavu-extra: the condensed one).
LIVE_DEBS := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad tesseract-ocr tesseract-ocr-eng fonts-dejavu-core \
	fonts-dejavu-extra

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned to the CPU build on disk; the package's own range then installs nothing more.
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[dev,cluster,legibility]"
	touch $@

install: $(VENV)/.installed

demo: install
	@mkdir -p $(dir $(DEMO_OUT))
	@clip="$(CLIP)"; out="$(DEMO_OUT)"; if [ ! -f "$$clip" ]; then \
		echo "demo: $(CLIP) not found (../shared/data is not beside the repo): generating a CCTV-like clip instead"; \
		clip=demo/generated_cctv.mp4; out=demo/generated_cctv_x2.mp4; $(PY) tools/demo_clip.py "$$clip" || exit 1; fi; \
	$(VENV)/bin/vidclear enhance "$$clip" "$$out" --model espcn-x2 --max-frames 200

# As root, `make test` installs the live tests' Debian packages itself; as another user it says what to run.
test: install live-deps
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/vidclear bench --clip ../shared/data/clips/car_traffic_small_640x360.mp4 --frames 120 \
		--model espcn-x3 --json bench.json --markdown bench.md

live-deps:
	@/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null && \
	command -v tesseract >/dev/null && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf && \
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf || \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(LIVE_DEBS); \
	else \
		echo "make: the tests need GStreamer's RTSP server, Tesseract and the DejaVu fonts: run 'sudo make live-deps' once, then 'make test' again"; \
		exit 2; \
	fi

clean:
	rm -rf $(VENV) .venv-opencv demo .pytest_cache bench.json bench.md
