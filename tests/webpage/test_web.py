"""The web page's server (tfstyle/web): its HTTP API through Starlette's TestClient, its event stream
through a real uvicorn on 127.0.0.1, the settings described from the config, the upload checks,
the queue, stopping, pages that go away, and the command line. Random weights, 32-64 px images."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import re
import secrets
import signal
import struct
import subprocess
import sys
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
from conftest import ROOT, synthetic_image
from PIL import Image

pytest.importorskip("starlette", reason="the web page needs the web extra: pip install 'tfstyle[web]'")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the dev extra)")

with warnings.catch_warnings():  # Starlette 1.x would rather have httpx2; httpx is what every version takes
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from tfstyle.config import PRESETS, StyleConfig  # noqa: E402
from tfstyle.errors import ConfigError  # noqa: E402
from tfstyle.webpage import controls  # noqa: E402
from tfstyle.webpage.app import Options, create_app  # noqa: E402
from tfstyle.webpage.uploads import Limits, check_image  # noqa: E402

FINISHED = ("done", "stopped", "failed", "cancelled")
LIMITS = Limits(bytes=100_000, pixels=100_000)


def png(height: int, width: int, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(synthetic_image(height, width, seed)).save(buffer, format="PNG")
    return buffer.getvalue()


def flat_png(height: int, width: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 100-byte PNG that declares ``width`` × ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def new_page() -> str:
    return secrets.token_hex(16)


@pytest.fixture(scope="module")
def client():
    app = create_app(Options(fixed={"weights": "random", "precision": "float32"}, limits=LIMITS, grace=30.0, previews=25))
    with TestClient(app) as client:
        yield client


def upload(client: TestClient, page: str, data: bytes, kind: str = "image/png"):
    return client.post(f"/api/images?page={page}", content=data, headers={"Content-Type": kind})


def submit(client: TestClient, page: str, iterations: int = 4, size: int = 64, **settings) -> dict:
    content = upload(client, page, png(48, 64, seed=1)).json()["id"]
    style = upload(client, page, png(64, 48, seed=2)).json()["id"]
    body = {
        "content": content,
        "styles": [{"image": style, "weight": 1}],
        "settings": {"preset": "default", "image_size": size, "iterations": iterations, **settings},
    }
    response = client.post(f"/api/runs?page={page}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def wait(client: TestClient, page: str, run: str, until=lambda r: r["state"] in FINISHED, timeout: float = 25.0) -> dict:
    """Poll the run (which keeps its page alive) until ``until`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/runs/{run}?page={page}").json()
        if until(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"run {run} did not get there in {timeout} s: {state}")


# --- the settings the page shows ---------------------------------------------------------------------


def test_settings_endpoint_serves_the_configs_help_choices_and_preset_values(client):
    described = client.get("/api/settings").json()
    fields = {field.name: field for field in dataclasses.fields(StyleConfig)}
    by_name = {control["name"]: control for control in described["controls"]}
    assert list(by_name) == ["image_size", "iterations", "style_weight", "preserve_colors", "style_scale"]
    for name, control in by_name.items():
        assert control["help"] == controls.plain(fields[name].metadata["help"])
        # ... and in plain words first: no setting's name, formula or paper.
        assert control["summary"] and not re.search(r"[`·=_]|et al", control["summary"]), control["summary"]
    assert by_name["preserve_colors"]["choices"] == ["", *fields["preserve_colors"].metadata["choices"]]
    assert by_name["image_size"]["unit"] == "pixels" and by_name["iterations"]["kind"] == "int"
    presets = {preset["name"]: preset["values"] for preset in described["presets"]}
    assert list(presets) == list(PRESETS)
    for name, values in presets.items():
        assert values["style_weight"] == PRESETS[name].style_weight
        assert values["iterations"] == PRESETS[name].iterations
    assert described["max_upload_bytes"] == LIMITS.bytes


def test_help_names_other_settings_by_their_labels():
    assert "“Brush-stroke size”" in controls.plain("its pixel count is `style_scale` squared")
    assert controls.plain("`seed` and `image_size`") == "seed and “Output size”"


def test_settings_from_the_page_become_a_config_with_the_servers_fixed_settings():
    config = controls.read(
        {"preset": "paper", "iterations": 7, "preserve_colors": "luminance", "style_scale": 0.5},
        [1.0, 3.0],
        {"weights": "random", "device": None},
    )
    assert (config.iterations, config.preserve_colors, config.style_scale) == (7, "luminance", 0.5)
    assert config.normalization == "paper" and config.weights == "random"
    assert config.style_blend_weights == (0.25, 0.75)
    assert controls.read({"preserve_colors": ""}, [1.0], {}).preserve_colors is None


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"preset": "picasso"}, "unknown preset 'picasso'"),
        ({"image_size": 100_000}, "“Output size” must be from 32 to 2048"),
        ({"iterations": 2.5}, "“Iterations” must be a whole number"),
        ({"style_weight": "lots"}, "“Style strength” must be a number"),
        ({"preserve_colors": "sepia"}, "“Keep the photo's colours” must be one of: off, luminance, histogram"),
        ({"tile_size": 64}, "unknown setting(s): tile_size"),
    ],
)
def test_settings_the_page_cannot_send_are_one_clear_message(settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        controls.read(settings, [1.0], {})


HUGE = "1" + "0" * 400  # a whole number no float holds


@pytest.mark.parametrize(
    "settings, weight, message",  # weight: the second painting's
    [
        (f'{{"iterations": {HUGE}}}', "1", "“Iterations” must be from 1 to 1000, got 1e+400"),
        (f'{{"image_size": -{HUGE}}}', "1", "“Output size” must be from 32 to 2048, got -1e+400"),
        (f'{{"style_weight": {HUGE}}}', "1", "“Style strength” must be a finite number, got 1e+400"),
        (f'{{"style_scale": {HUGE}}}', "1", "“Brush-stroke size” must be from 0.05 to 8, got 1e+400"),
        ("{}", HUGE, "each painting's weight must be a finite number, got 1e+400"),
    ],
)
def test_a_huge_whole_number_in_a_number_field_is_a_clear_400(client, settings, weight, message):
    """Issue 38, defect 1: it was an OverflowError (HTTP 500) turning it into a float."""
    page = new_page()
    content, style = (upload(client, page, png(32, 32, seed)).json()["id"] for seed in (1, 2))
    styles = f'[{{"image": "{style}", "weight": 1}}, {{"image": "{style}", "weight": {weight}}}]'
    body = f'{{"content": "{content}", "styles": {styles}, "settings": {settings}}}'
    response = client.post(f"/api/runs?page={page}", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and message in response.json()["error"], response.text


# --- uploads -------------------------------------------------------------------------------------


def test_an_upload_is_checked_by_decoding_and_kept_under_a_name_of_our_own(client):
    page = new_page()
    response = upload(client, page, png(48, 64), kind="application/octet-stream")
    assert response.status_code == 201
    assert (response.json()["width"], response.json()["height"]) == (64, 48)
    folder = client.app.state.runs.folder.path
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(re.fullmatch(r"[0-9a-f]{32}(\.png)?", path.name) for path in folder.iterdir())


@pytest.mark.parametrize(
    "data, status, message",
    [
        (b"not an image, whatever the name says", 400, "the file is not an image"),
        (png(48, 64)[:200], 400, "the image is corrupt or truncated"),
        (b"\0" * (LIMITS.bytes + 1), 413, "the file is larger than this server takes"),
        (flat_png(400, 300), 413, "the image is 300×400 = 0.1 megapixels; this server takes at most 0.1 megapixels"),
        (bomb_png(), 413, "more pixels than is safe to decode (a decompression bomb?)"),
        (bomb_png(2_000, 2_000), 413, "the image is 2000×2000 = 4.0 megapixels"),
        (b"", 400, "the file is empty"),
    ],
    ids=[
        "not-an-image",
        "truncated",
        "too-many-bytes",
        "too-many-pixels",
        "decompression-bomb",
        "bomb-under-pillows-limit",
        "empty",
    ],
)
def test_a_bad_upload_gets_a_clear_message_and_the_server_keeps_serving(client, data, status, message):
    response = upload(client, new_page(), data)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/settings").status_code == 200
    assert upload(client, new_page(), png(32, 32)).status_code == 201


def test_an_uploads_size_is_as_shown_after_its_exif_orientation():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°
    Image.fromarray(synthetic_image(32, 48)).save(buffer, format="JPEG", exif=exif)
    assert check_image(buffer.getvalue(), LIMITS) == (32, 48)


def test_the_decompression_bomb_is_refused_from_its_header_without_decoding():
    started = time.perf_counter()
    with pytest.raises(Exception, match="decompression bomb"):
        check_image(bomb_png(), Limits(pixels=10**12))  # past Pillow's own guard too
    assert time.perf_counter() - started < 1.0


def test_requests_a_cross_site_form_could_send_are_refused(client):
    page = new_page()
    assert upload(client, page, png(32, 32), kind="text/plain").status_code == 415
    response = client.post(f"/api/runs?page={page}", content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert (
        client.post("/api/images?page=../../etc", content=png(32, 32), headers={"Content-Type": "image/png"}).status_code == 400
    )


def test_a_host_header_naming_another_host_is_refused():
    app = create_app(Options(fixed={"weights": "random"}, hosts=("127.0.0.1", "localhost")))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/").status_code == 200
        response = client.get("/", headers={"Host": "attacker.example:8000"})
        assert response.status_code == 400 and "unexpected Host header" in response.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.2", "127.1.2.3", "localhost", "::1", "[0:0::1]"])
def test_a_page_started_on_a_loopback_host_answers_requests_naming_it(host):
    from tfstyle.cli.web import page_hosts, url

    app = create_app(Options(fixed={"weights": "random"}, hosts=page_hosts(host)))
    with TestClient(app, base_url=url(host, 8765)) as client:
        assert client.get("/").status_code == 200, client.get("/").text
        assert client.get("/", headers={"Host": "LocalHost.:8765"}).status_code == 200
        assert client.get("/", headers={"Host": "127.0.0.1"}).status_code == 200
        assert client.get("/", headers={"Host": "127.0.0.9:8765"}).status_code == 400  # not the host it was started on
        assert client.get("/", headers={"Host": "attacker.example:8765"}).status_code == 400


def test_a_page_on_another_address_answers_any_host():
    from tfstyle.cli.web import page_hosts

    assert page_hosts("0.0.0.0") is None and page_hosts("192.168.1.20") is None


def test_the_page_and_its_files_are_served_without_outside_resources(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200
    script = client.get("/static/app.js").text
    assert "http://" not in script and "https://" not in script


# --- runs ----------------------------------------------------------------------------------------


def test_a_tiny_run_goes_from_upload_to_a_downloaded_png(client):
    page = new_page()
    run = submit(client, page, iterations=4, size=64)
    assert run["state"] in ("queued", "running") and run["settings"]["image_size"] == 64
    done = wait(client, page, run["id"])
    assert done["state"] == "done", done
    assert (done["iteration"], done["iterations"]) == (4, 4)
    assert set(done["losses"]) == {"total", "content", "style"} and done["previews"] >= 1
    assert (done["width"], done["height"]) == (64, 48)
    preview = client.get(f"/api/runs/{run['id']}/preview?page={page}")
    assert preview.headers["content-type"] == "image/jpeg"
    result = client.get(f"/api/runs/{run['id']}/result.png?page={page}")
    assert result.status_code == 200 and result.headers["content-type"] == "image/png"
    assert "attachment" in result.headers["content-disposition"]
    image = Image.open(io.BytesIO(result.content))
    assert (image.format, image.size) == ("PNG", (64, 48))
    # Another page sees nothing of it.
    assert client.get(f"/api/runs/{run['id']}/result.png?page={new_page()}").status_code == 404


def test_two_runs_submitted_at_once_both_finish_in_order_with_their_queue_positions(client):
    page = new_page()
    first, second = submit(client, page, iterations=12, size=48), submit(client, page, iterations=3, size=48)
    assert second["state"] == "queued" and second["position"] in (1, 2)
    views, deadline = [], time.monotonic() + 25
    while time.monotonic() < deadline:
        view = client.get(f"/api/runs?page={page}").json()
        views.append({run["id"]: run for run in view["runs"]})
        if all(run["state"] in FINISHED for run in view["runs"]):
            break
        time.sleep(0.05)
    a, b = first["id"], second["id"]
    assert views[-1][a]["state"] == views[-1][b]["state"] == "done"
    assert any(v[a]["state"] == "running" and v[b]["state"] == "queued" and v[b]["position"] == 1 for v in views)
    for view in views:  # the second never ran before the first was done
        if view[b]["state"] != "queued":
            assert view[a]["state"] == "done"
    assert len(client.app.state.runs._models) == 1  # one feature model for both


def test_stop_keeps_the_image_so_far_and_cancels_a_waiting_run(client):
    page = new_page()
    running, waiting = submit(client, page, iterations=500, size=32), submit(client, page, iterations=3, size=32)
    wait(client, page, running["id"], until=lambda r: r["iteration"] >= 2)
    started = time.perf_counter()  # the server answers while the run goes on: it runs in the worker thread
    assert client.get("/api/settings").status_code == 200 and time.perf_counter() - started < 1.0
    stopped = client.post(f"/api/runs/{waiting['id']}/stop?page={page}", json={}).json()
    assert stopped["state"] == "cancelled"
    client.post(f"/api/runs/{running['id']}/stop?page={page}", json={})
    run = wait(client, page, running["id"])
    assert run["state"] == "stopped" and 2 <= run["iteration"] < 500 and run["result"]
    assert re.fullmatch(r"after \d+ of 500 iterations", run["message"])
    image = Image.open(io.BytesIO(client.get(f"/api/runs/{running['id']}/result.png?page={page}").content))
    assert image.size == (32, 24)


def test_the_runs_of_a_page_that_went_away_are_cancelled_and_its_files_deleted(client):
    runs = client.app.state.runs
    page = new_page()
    running, waiting = submit(client, page, iterations=500, size=32), submit(client, page, iterations=3, size=32)
    wait(client, page, running["id"], until=lambda r: r["iteration"] >= 1)
    first, second = runs.find(page, running["id"]), runs.find(page, waiting["id"])
    files = [first.content, *first.styles, second.content]
    runs.grace = 0.3
    try:
        time.sleep(1.5)  # the page makes no request and has no event stream
    finally:
        runs.grace = 30.0
    assert second.state == "cancelled" and "its page was closed" in second.message
    deadline = time.monotonic() + 10
    while first.state not in FINISHED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.state == "cancelled" and first.iteration < 500 and first.result is None
    assert not any(path.exists() for path in files)


def test_a_run_naming_images_of_another_page_is_refused(client):
    mine, theirs = new_page(), new_page()
    image = upload(client, theirs, png(32, 32)).json()["id"]
    body = {"content": image, "styles": [{"image": image, "weight": 1}], "settings": {}}
    response = client.post(f"/api/runs?page={mine}", json=body)
    assert response.status_code == 400 and "no longer on the server" in response.json()["error"]
    response = client.post(f"/api/runs?page={theirs}", json={**body, "kind": "video"})
    assert response.status_code == 400 and "unknown kind of run 'video'" in response.json()["error"]


# --- instant styles --------------------------------------------------------------------------------

PAINTING = png(64, 48, seed=2)  # the painting submit() uploads: the tiny model below "learned" it


def tiny_model(folder, painting: bytes = PAINTING):
    """A random-weight fast stylizer (4 channels wide) that records ``painting``'s SHA-256 as the painting it learned."""
    from tfstyle.fast.network import transform_network
    from tfstyle.fast.stylizer import export

    info = {"settings": {"style_sha256": hashlib.sha256(painting).hexdigest()}, "steps": 1}
    return export(transform_network(4), folder, info, tflite=False)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two instant styles: a shipped model's name (that learned PAINTING), and a name the label table does not know."""
    folder = tmp_path_factory.mktemp("models")
    return {"starry_night": tiny_model(folder / "starry_night"), "my_own-style": tiny_model(folder / "mine", b"another")}


@pytest.fixture(scope="module")
def instant(models):
    """A server offering the two instant styles."""
    app = create_app(Options(fixed={"weights": "random", "precision": "float32"}, limits=LIMITS, grace=30.0, models=models))
    with TestClient(app) as client:
        yield client


def fast(client: TestClient, page: str, photo: str, model: str = "starry_night", **body):
    return client.post(f"/api/fast?page={page}", json={"content": photo, "model": model, **body})


def test_the_settings_list_the_instant_styles_with_their_paintings_labels_and_thumbnails(instant):
    styles = instant.get("/api/settings").json()["instant_styles"]
    assert styles == [
        {"name": "starry_night", "label": "The Starry Night (van Gogh)", "thumbnail": "/static/painting-starry_night.jpg"},
        {"name": "my_own-style", "label": "My Own Style", "thumbnail": None},
    ]
    thumbnail = instant.get(styles[0]["thumbnail"])
    assert thumbnail.status_code == 200 and max(Image.open(io.BytesIO(thumbnail.content)).size) == 160


def test_without_models_there_are_no_instant_styles_and_a_painting_matches_none():
    app = create_app(Options(fixed={"weights": "random"}, limits=LIMITS, models={}))
    with TestClient(app) as client:
        assert client.get("/api/settings").json()["instant_styles"] == []
        assert upload(client, new_page(), PAINTING).json()["instant"] is None
        response = fast(client, new_page(), "x")
        assert response.status_code == 404
        assert response.json()["error"] == "no instant style named 'starry_night' on this server (it has: none)"


def test_an_instant_picture_is_a_finished_run_at_once_of_the_photos_size(instant):
    page = new_page()
    photo = upload(instant, page, png(48, 64, seed=1)).json()["id"]
    response = fast(instant, page, photo, image_size=64)
    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["kind"], run["state"], run["result"], run["width"], run["height"]) == ("fast", "done", True, 64, 48)
    assert run["instant"] == {"model": "starry_night", "label": "The Starry Night (van Gogh)", "start": False}
    result = instant.get(f"/api/runs/{run['id']}/result.png?page={page}")
    image = Image.open(io.BytesIO(result.content))
    assert (image.format, image.size) == ("PNG", (64, 48))
    assert instant.get(f"/api/runs?page={page}").json()["runs"] == [run]  # a card like any run's
    # Without a size: the default preset's output size; a later one on a new shape is made as quickly.
    assert fast(instant, page, photo).json()["width"] == 512
    assert fast(instant, page, photo, model="my_own-style", image_size=33).json()["height"] == 25


def test_an_instant_picture_does_not_wait_behind_a_running_optimization(instant):
    page = new_page()
    running = submit(instant, page, iterations=1000, size=32)
    wait(instant, page, running["id"], until=lambda r: r["iteration"] >= 1)
    photo = upload(instant, page, png(48, 64, seed=1)).json()["id"]
    picture = fast(instant, page, photo, image_size=48).json()
    assert picture["state"] == "done" and instant.get(f"/api/runs/{running['id']}?page={page}").json()["state"] == "running"
    instant.post(f"/api/runs/{running['id']}/stop?page={page}", json={})
    wait(instant, page, running["id"])


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"model": "mona_lisa"}, 404, "no instant style named 'mona_lisa' on this server (it has: starry_night, my_own-style)"),
        ({"model": ""}, 400, "the request has no \"model\" field (an instant style's name, from GET /api/settings)"),
        ({"image_size": 100_000}, 400, "“Output size” must be from 32 to 2048, got 100000"),
        ({"content": "0" * 32}, 400, "an image of this run is no longer on the server; add it again"),
    ],
    ids=["unknown-style", "no-style", "too-large", "not-this-pages-image"],
)
def test_a_bad_instant_request_is_one_clear_message_and_leaves_no_card(instant, body, status, message):
    page = new_page()
    photo = upload(instant, page, png(48, 64, seed=1)).json()["id"]
    response = instant.post(f"/api/fast?page={page}", json={"content": photo, "model": "starry_night", **body})
    assert (response.status_code, response.json()) == (status, {"error": message})
    assert instant.get(f"/api/runs?page={page}").json()["runs"] == []


def test_an_instant_request_must_be_json_and_name_the_pages_own_photo(instant):
    mine, theirs = new_page(), new_page()
    photo = upload(instant, theirs, png(48, 64, seed=1)).json()["id"]
    assert fast(instant, mine, photo).status_code == 400
    form = instant.post(f"/api/fast?page={theirs}", content=f"content={photo}&model=starry_night",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert form.status_code == 415


@pytest.fixture
def starts(monkeypatch):
    """The start images the web runs hand to tfstyle.stylize (None: from the photo), in order."""
    from tfstyle.webpage import runs

    seen = []

    def recording(*args, start_image=None, **kwargs):
        seen.append(start_image)
        return runs_stylize(*args, start_image=start_image, **kwargs)

    runs_stylize = runs.stylize
    monkeypatch.setattr(runs, "stylize", recording)
    return seen


def test_a_run_whose_painting_an_instant_style_learned_shows_its_picture_first(instant, starts):
    page = new_page()
    assert upload(instant, page, PAINTING).json()["instant"] == "starry_night"
    run = submit(instant, page, iterations=4, size=64)  # with PAINTING
    assert run["instant"] == {"model": "starry_night", "label": "The Starry Night (van Gogh)", "start": False}
    assert run["state"] in ("queued", "running") and run["iteration"] == 0  # the instant picture, before any iteration
    first = instant.get(f"/api/runs/{run['id']}/instant.jpg?page={page}")
    assert first.headers["content-type"] == "image/jpeg" and Image.open(io.BytesIO(first.content)).size == (64, 48)
    done = wait(instant, page, run["id"])
    assert done["state"] == "done" and done["previews"] >= 1  # the optimization's frames come after it ...
    assert starts == [None]  # ... an optimization from the photo, as without the instant style


def test_a_run_started_from_the_instant_picture_refines_it(instant, starts):
    page = new_page()
    content = upload(instant, page, png(48, 64, seed=1)).json()["id"]
    other = upload(instant, page, png(40, 40, seed=5)).json()["id"]  # a painting no instant style learned
    body = {"content": content, "styles": [{"image": other}], "settings": {"image_size": 64, "iterations": 3},
            "instant": {"model": "starry_night", "start": True}}  # fmt: skip
    run = instant.post(f"/api/runs?page={page}", json=body).json()
    assert run["instant"]["start"] and instant.get(f"/api/runs/{run['id']}/instant.jpg?page={page}").status_code == 200
    assert wait(instant, page, run["id"])["state"] == "done"
    expected = instant.app.state.runs.instant.picture("starry_night", instant.app.state.runs.find(page, run["id"]).content, 64)
    (start,) = starts
    assert start.shape == (48, 64, 3) and np.array_equal(start, expected)
    assert instant.app.state.runs.find(page, run["id"]).start is None  # not kept once used


@pytest.mark.parametrize(
    "chosen, status, message",
    [
        ({"model": "mona_lisa", "start": True}, 404, "no instant style named 'mona_lisa'"),
        ({"start": True}, 400, "the request has no \"model\" field"),
        ({"model": "starry_night", "start": "yes"}, 400, 'the request\'s "instant" field must be {model, start}'),
    ],
)
def test_a_run_naming_a_bad_instant_style_is_one_clear_message(instant, chosen, status, message):
    page = new_page()
    image = upload(instant, page, png(48, 64, seed=1)).json()["id"]
    body = {"content": image, "styles": [{"image": image}], "settings": {}, "instant": chosen}
    response = instant.post(f"/api/runs?page={page}", json=body)
    assert response.status_code == status and message in response.json()["error"], response.text


def test_a_learned_paintings_preview_is_left_out_quietly_when_its_model_does_not_load(tmp_path):
    broken = tmp_path / "broken"
    tiny_model(broken)
    (broken / "saved_model.pb").write_bytes(b"not a graph")
    app = create_app(Options(fixed={"weights": "random", "precision": "float32"}, limits=LIMITS, models={"broken": broken}))
    with TestClient(app) as client:
        page = new_page()
        run = submit(client, page, iterations=2, size=32)  # its painting is the one "broken" learned
        assert run["instant"] is None and client.get(f"/api/runs/{run['id']}/instant.jpg?page={page}").status_code == 404
        assert wait(client, page, run["id"])["state"] == "done"
        photo = upload(client, page, png(48, 64)).json()["id"]
        response = fast(client, page, photo, model="broken")  # asked for: its message
        assert response.status_code == 400 and "cannot load the fast stylizer" in response.json()["error"]


def test_a_request_nested_too_deeply_is_a_clear_400(client):
    body = b"[" * 30_000 + b"]" * 30_000
    response = client.post(f"/api/runs?page={new_page()}", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"styles": [{"image": "y"}]}, "the request has no \"content\" field (the photo's id"),
        ({"content": "", "styles": [{"image": "y"}]}, "the request has no \"content\" field"),
        ({"content": 7, "styles": [{"image": "y"}]}, "the request's \"content\" field must be a string"),
        ({"content": "x", "styles": [{"weight": 1}]}, "the request has no \"image\" field (each painting's id"),
    ],
    ids=["content-missing", "content-empty", "content-not-a-string", "image-missing"],
)
def test_a_run_without_its_images_says_which_field_is_missing(client, body, message):
    response = client.post(f"/api/runs?page={new_page()}", json={**body, "settings": {}})
    assert response.status_code == 400 and message in response.json()["error"]
    assert "no longer on the server" not in response.json()["error"]


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked where that is harmless: POSIX")
def test_a_later_start_removes_the_folders_of_killed_servers_and_no_live_ones(tmp_path, monkeypatch):
    from tfstyle.webpage.uploads import FOLDER_PREFIX, PrivateFolder

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid is a process that has ended
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        killed = tmp_path / f"{FOLDER_PREFIX}{gone.pid}-a1b2c3"
        running = tmp_path / f"{FOLDER_PREFIX}{live.pid}-d4e5f6"
        other = tmp_path / f"{FOLDER_PREFIX}notapid"
        for folder in (killed, running, other):
            folder.mkdir()
            (folder / "upload.png").write_bytes(b"x")
        folder = PrivateFolder()
        assert not killed.exists()
        assert running.exists() and other.exists() and folder.path.exists()
        assert folder.path.name.startswith(f"{FOLDER_PREFIX}{os.getpid()}-")
        PrivateFolder().remove_all()  # a second server in this process leaves the first one's alone
        assert folder.path.exists()
    finally:
        live.kill()
        live.wait()


def test_the_private_folder_is_removed_when_the_server_stops():
    app = create_app(Options(fixed={"weights": "random"}))
    with TestClient(app) as client:
        upload(client, new_page(), png(32, 32))
        folder = app.state.runs.folder.path
        assert any(folder.iterdir())
    assert not folder.exists()


# --- the event stream, through a real server ---------------------------------------------------


@contextlib.contextmanager
def serving(options: Options):
    """A uvicorn serving the app on 127.0.0.1 (a free port) in a thread: (its base URL, its Runs)."""
    import uvicorn

    from tfstyle.cli.web import listen

    app = create_app(options)
    sock = listen("127.0.0.1", 0)
    instance = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.runs
    finally:
        instance.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def server():
    with serving(Options(fixed={"weights": "random", "precision": "float32"}, grace=0.5)) as served:
        yield served


def test_the_event_stream_shows_progress_and_closing_it_cancels_the_run(server):
    import json

    import httpx

    base, runs = server
    page = new_page()
    events: list[dict] = []
    with httpx.Client(base_url=base, timeout=10) as http:
        with http.stream("GET", f"/api/events?page={page}") as stream:
            content = http.post(f"/api/images?page={page}", content=png(48, 64), headers={"Content-Type": "image/png"})
            body = {
                "content": content.json()["id"],
                "styles": [{"image": content.json()["id"], "weight": 1}],
                "settings": {"image_size": 32, "iterations": 1000},
            }
            run_id = http.post(f"/api/runs?page={page}", json=body).json()["id"]
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if events[-1]["runs"] and events[-1]["runs"][0]["iteration"] >= 2:
                        break
        # The stream is closed: the page has gone.
        run = runs.find(page, run_id)
        deadline = time.monotonic() + 10
        while run.state not in FINISHED and time.monotonic() < deadline:
            time.sleep(0.05)
    states = [event["runs"][0]["state"] for event in events if event["runs"]]
    assert "running" in states
    assert run.state == "cancelled" and run.iteration < 1000


def test_the_event_stream_shows_the_instant_picture_before_the_first_iteration(models):
    import json

    import httpx

    with serving(Options(fixed={"weights": "random", "precision": "float32"}, models=models)) as (base, _):
        page = new_page()
        with httpx.Client(base_url=base, timeout=10) as http, http.stream("GET", f"/api/events?page={page}") as stream:
            images = [http.post(f"/api/images?page={page}", content=data, headers={"Content-Type": "image/png"}).json()["id"]
                      for data in (png(48, 64, seed=1), PAINTING)]  # fmt: skip
            body = {"content": images[0], "styles": [{"image": images[1]}], "settings": {"image_size": 32, "iterations": 3}}
            run_id = http.post(f"/api/runs?page={page}", json=body).json()["id"]
            for line in stream.iter_lines():
                if line.startswith("data: ") and json.loads(line[6:])["runs"]:
                    (first,) = json.loads(line[6:])["runs"]
                    break
            assert first["id"] == run_id and first["iteration"] == 0 and first["instant"]["model"] == "starry_night"
            picture = http.get(f"/api/runs/{run_id}/instant.jpg?page={page}")
            assert Image.open(io.BytesIO(picture.content)).size == (32, 24)


# --- the command line ----------------------------------------------------------------------------


def test_without_the_extra_one_line_says_what_to_install(monkeypatch, capsys):
    from tfstyle.cli.web import cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert cli(["tfstyle-web"]) == 1
    assert capsys.readouterr().err.strip() == "tfstyle: error: the web page needs uvicorn: pip install 'tfstyle[web]'"


@pytest.mark.parametrize(
    "flag, message",
    [("--port=70000", "--port must be from 0 to 65535"), ("--max_upload_mb=0", "--max_upload_mb must be greater than 0"),
     ("--weights=/no/such/weights.h5", "weights")],
)  # fmt: skip
def test_bad_server_flags_are_one_line(flag, message, capsys):
    from tfstyle.cli.web import cli

    assert cli(["tfstyle-web", flag]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error:") and message in err and err.count("\n") == 1


def test_only_the_loopback_listens_without_a_warning():
    from tfstyle.cli.web import exposure_warning, is_loopback, url

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert exposure_warning("127.0.0.1", 8000) is None
    warning = exposure_warning("0.0.0.0", 8000)
    assert "anyone who can reach port 8000" in warning and "no password" in warning
    assert url("0.0.0.0", 8000) == "http://127.0.0.1:8000" and url("::1", 80) == "http://[::1]:80"


@pytest.mark.slow
def test_python_m_tfstyle_web_prints_its_address_serves_and_deletes_the_uploads_on_ctrl_c(tmp_path):
    import httpx

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tfstyle.web", "--port=0", "--weights=random"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        address = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert address, line + process.stderr.read()
        assert "<title>" in httpx.get(address[0]).text
        page = new_page()
        image = httpx.post(f"{address[0]}/api/images?page={page}", content=png(32, 32), headers={"Content-Type": "image/png"})
        assert image.status_code == 201
        (folder,) = tmp_path.glob("tfstyle-web-*")
        assert folder.stat().st_mode & 0o777 == 0o700 and len(list(folder.iterdir())) == 1
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
    assert not list(tmp_path.glob("tfstyle-web-*"))


def start_server(tmp_path, *flags: str) -> tuple[subprocess.Popen, str]:
    """``python -m tfstyle.web`` with random weights and its temporary folder in ``tmp_path``: the process and its address."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tfstyle.web", "--port=0", "--weights=random", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    line = process.stdout.readline()
    address = re.search(r"http://\S+", line)
    if not address:
        process.kill()
        raise AssertionError(line + process.communicate()[1])
    return process, address[0]


@contextlib.contextmanager
def stopped_at_the_end(process: subprocess.Popen):
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.slow
def test_a_page_started_on_127_0_0_2_serves_at_the_address_it_prints(tmp_path):
    import httpx

    from tfstyle.cli.web import listen

    try:
        listen("127.0.0.2", 0).close()
    except OSError:
        pytest.skip("this system's loopback has no 127.0.0.2 (Linux's has all of 127.0.0.0/8)")
    process, address = start_server(tmp_path, "--host=127.0.0.2")
    with stopped_at_the_end(process):
        assert address.startswith("http://127.0.0.2:")
        assert "<title>" in httpx.get(address).text
        assert httpx.get(f"{address}/api/settings").status_code == 200


@pytest.mark.slow
def test_after_kill_9_the_next_start_removes_the_killed_servers_uploads(tmp_path):
    import httpx

    process, address = start_server(tmp_path)
    with stopped_at_the_end(process):
        image = httpx.post(f"{address}/api/images?page={new_page()}", content=png(32, 32), headers={"Content-Type": "image/png"})
        assert image.status_code == 201
        (killed,) = tmp_path.glob("tfstyle-web-*")
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert killed.exists()  # nothing ran to remove it
    process, address = start_server(tmp_path)
    with stopped_at_the_end(process):
        assert httpx.get(f"{address}/api/settings").status_code == 200  # started up
        assert not killed.exists()
        (folder,) = tmp_path.glob("tfstyle-web-*")  # the new server's own
        assert f"-{process.pid}-" in folder.name
