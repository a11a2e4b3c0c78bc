import pytest

from vidclear.config import Config, load_config
from vidclear.errors import ConfigError

from media import REPO


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_defaults():
    cfg = load_config()
    assert cfg == Config()
    assert cfg.encoder.codec == "libx264"
    assert cfg.pipeline.queue_size >= 1


def test_file_overrides_defaults_and_flags_override_file(tmp_path):
    p = write(tmp_path, "model: bicubic-x3\nencoder:\n  crf: 30\n  preset: medium\n")
    cfg = load_config(p, {"encoder.crf": 12, "encoder.preset": None, "model": None})
    assert cfg.model == "bicubic-x3"  # flag not given: the file's value stays
    assert cfg.encoder.crf == 12  # flag given: it wins
    assert cfg.encoder.preset == "medium"


def test_unknown_top_level_key_is_named(tmp_path):
    p = write(tmp_path, "modle: espcn-x2\n")
    with pytest.raises(ConfigError, match=r"unknown key 'modle'"):
        load_config(p)


def test_unknown_nested_key_is_named_with_its_path(tmp_path):
    p = write(tmp_path, "encoder:\n  crf: 20\n  qualty: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'encoder.qualty'"):
        load_config(p)


@pytest.mark.parametrize(
    "text,message",
    [
        ("modle: espcn-x2\n", "unknown key 'modle' (did you mean 'model'?)"),
        ("encoder: {crff: 20}\n", "unknown key 'encoder.crff' (did you mean 'crf'?)"),
        ("encoder: {turbo: 1}\n", "unknown key 'encoder.turbo'; the keys here are codec, crf, preset, threads"),
        # a step's keys are its own kind's, not every step's
        ("steps: [{name: clahe, zz: 1}]\n", "unknown key 'steps.0.zz'; the keys here are clip_limit, name, tiles"),
        ("steps: [{name: clahe, tile: 8}]\n", "unknown key 'steps.0.tile' (did you mean 'tiles'?)"),
        # a step's name: was pydantic's "Input tag 'clahee' found using 'name' does not match any of the expected tags"
        ("steps: [{name: clahee}]\n", "unknown step 'clahee' at 'steps.0.name' (did you mean 'clahe'?)"),
        ("steps: [{name: blur}]\n",
         "unknown step 'blur' at 'steps.0.name'; the steps are clahe, denoise, sharpen, wiener"),
        ("steps: [{tiles: 8}]\n", "missing key 'steps.0.name' (the step: one of clahe, denoise, sharpen, wiener)"),
    ],
)
def test_an_unknown_key_says_what_was_meant_or_what_the_keys_are(tmp_path, text, message):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    assert str(e.value) == f"config {tmp_path / 'c.yaml'}: {message}"


def test_a_mistyped_camera_key_is_named_before_the_missing_key_it_causes(tmp_path):
    """`output:` for `outputs:` was reported as 'bad value for cameras.0.outputs: Field required'."""
    from vidclear.serve.config import ServeConfig

    p = write(tmp_path, "cameras: [{name: a, url: 'rtsp://h/c', output: [a.ts]}]\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, model=ServeConfig)
    assert str(e.value) == f"config {p}: unknown key 'cameras.0.output' (did you mean 'outputs'?)"


def test_a_serve_config_given_to_enhance_points_at_serve():
    """The example cameras file under `enhance --config` named 'metrics' as a mistyped key of enhance's."""
    example = REPO / "configs" / "cameras.example.yaml"
    with pytest.raises(ConfigError) as e:
        load_config(example)
    assert str(e.value) == (f"config {example}: unknown key 'cameras' here: it is a key of serve's configs "
                            "(run this file with 'vidclear serve')")


def test_the_serve_only_keys_are_what_serve_adds():
    from vidclear.config import SERVE_ONLY_KEYS
    from vidclear.serve.config import ServeConfig

    assert set(SERVE_ONLY_KEYS) == set(ServeConfig.model_fields) - set(Config.model_fields)


def test_a_camera_runs_with_its_own_model_crop_deinterlacing_and_retention_and_the_others_with_the_top_level_ones():
    from vidclear.serve.config import ServeConfig

    cfg = ServeConfig.model_validate({"model": "espcn-x2", "deinterlace": "off", "cameras": [
        {"name": "dvr", "url": "rtsp://127.0.0.1:9/ch1", "outputs": ["a.ts"], "model": "espcn-x3",
         "deinterlace": "on", "crop": [0, 0, 64, 48], "keep_hours": 720, "keep_gb": 50},
        {"name": "ip", "url": "rtsp://127.0.0.1:9/ip", "outputs": ["b.ts"]}],
        "live": {"keep_hours": 168, "keep_free_gb": 20}})
    dvr, ip = (cfg.for_camera(camera) for camera in cfg.cameras)
    assert (dvr.model, dvr.deinterlace, dvr.crop) == ("espcn-x3", "on", "0,0,64,48")
    assert (dvr.live.keep_hours, dvr.live.keep_gb, dvr.live.keep_free_gb) == (720, 50, 20)
    assert (ip.model, ip.deinterlace, ip.crop) == ("espcn-x2", "off", None)
    assert (ip.live.keep_hours, ip.live.keep_gb, ip.live.keep_free_gb) == (168, None, 20)


@pytest.mark.parametrize("text, message", [
    # enhance's own preset given to serve: was "bad value for 'cameras': Field required"
    ("model: espcn-x2\n", "missing key 'cameras' (the live cameras, each a name, a url and its outputs; "
                          "configs/cameras.example.yaml shows them. For recorded files use 'vidclear enhance' or "
                          "'vidclear batch')"),
    ("cameras: [{name: a, outputs: [a.ts]}]\n",
     "missing key 'cameras.0.url' (the camera's stream: rtsp://, rtmp://, srt://, http(s)://, udp:// or /dev/video)"),
])
def test_a_missing_key_says_what_it_is_for(tmp_path, text, message):
    from vidclear.serve.config import ServeConfig

    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text), model=ServeConfig)
    assert str(e.value) == f"config {tmp_path / 'c.yaml'}: {message}"


def test_bad_value_names_the_key(tmp_path):
    p = write(tmp_path, "encoder:\n  crf: 99\n")
    with pytest.raises(ConfigError, match=r"bad value for 'encoder.crf'"):
        load_config(p)


def test_bad_yaml_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_a_config_that_is_not_text_and_one_in_utf8(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\x00")  # an image saved under a config's name: was a traceback
    with pytest.raises(ConfigError, match=r"binary.yaml: not a YAML text file \(UTF-8\)"):
        load_config(binary)
    utf8 = tmp_path / "utf8.yaml"
    utf8.write_bytes("# caméra de l'entrée\nmodel: espcn-x3\n".encode())  # whatever the locale
    assert load_config(utf8).model == "espcn-x3"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_tags_are_not_executed(tmp_path):
    p = write(tmp_path, "model: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


@pytest.mark.parametrize("preset", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_presets_load(preset):
    import yaml

    if "cameras" in yaml.safe_load(preset.read_text()):
        from vidclear.serve.config import load_serve_config

        assert load_serve_config(preset).cameras
    else:
        load_config(preset)


def test_bare_yaml_on_off_mean_the_modes(tmp_path):
    assert load_config(write(tmp_path, "lowlight:\n  mode: off\n")).lowlight.mode == "off"
    assert load_config(write(tmp_path, "lowlight:\n  mode: on\n")).lowlight.mode == "on"


def test_probe_size_is_width_by_height_and_probe_hw_gives_arrays_their_order():
    cfg = Config.model_validate({"live": {"probe_size": "704x576"}})
    assert cfg.live.probe_hw == (576, 704)
    with pytest.raises(Exception, match="probe_size"):
        Config.model_validate({"live": {"probe_size": "704 by 576"}})


def test_a_union_value_names_the_key_and_what_each_member_wants(tmp_path):
    # 'auto' or a count: the message reads as the YAML path, without pydantic's member tags
    p = write(tmp_path, "pipeline:\n  infer_workers: 0\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).endswith(
        "bad value for 'pipeline.infer_workers': Input should be 'auto' or greater than or equal to 1")
