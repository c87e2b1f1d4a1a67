"""The web page in a real browser: headless Chromium (Debian's chromium and chromium-driver, driven
by Selenium) on the page served by uvicorn on 127.0.0.1 with random weights: upload the sample
photo and painting (samples/), set the style strength with its slider, stylize a few iterations at
a small size twice, see the second run wait in words, an intermediate and the final image appear,
and download the PNG; choose an instant style (a tiny random-weight fast stylizer) for a picture at
once, and see it first in a run of the painting it learned; and the page laid out at a phone's
width, with and without instant styles."""

from __future__ import annotations

import io
import math
import shutil
import time
from pathlib import Path

import pytest
from conftest import SAMPLES
from PIL import Image

pytest.importorskip("starlette", reason="the web page needs the web extra: pip install 'tfstyle[web]'")
pytest.importorskip("selenium", reason="the browser test needs selenium (the dev extra)")

from webpage.test_web import Options, serving, tiny_model  # noqa: E402 - tests/ is on the path (pyproject)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SIZE, ITERATIONS = 64, 30
PHOTO, PAINTING = SAMPLES / "dandelions.jpg", SAMPLES / "starry_night.jpg"  # 768×432 and 640×400


def chrome(downloads: Path, width: int = 1200, height: int = 1000):
    """Headless Chromium driven by the system chromedriver (nothing downloaded: the machine is offline)."""
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    if width < 500:  # a phone: a window is at least 500 pixels wide, so the page is shown as on a phone's screen
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_for(driver, condition, timeout: float = 20.0, what: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message=what)


def slide(driver, slider, position: float) -> None:
    """Move a range input to ``position`` as a person's drag would (its input event)."""
    driver.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", slider, position
    )


def test_the_page_stylizes_the_sample_pictures_and_downloads_the_png(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = Options(fixed={"weights": "random", "precision": "float32"}, grace=5.0)
    with serving(options) as (base, runs), chrome(downloads) as driver:
        driver.get(base)
        size = wait_for(driver, lambda d: d.find_element(By.ID, "control-image_size"), what="the settings")
        assert size.get_attribute("value") == "512"  # the default preset's, from the settings endpoint
        help_texts = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "#controls .help")]
        assert any("brush strokes look" in text for text in help_texts)  # the plain words ...
        more = driver.find_elements(By.CSS_SELECTOR, "#controls details.more")
        assert not any("Total = a·CL + b·SL" in d.text for d in more)  # ... the formula is one click away
        (formula,) = [d for d in more if "Total = a·CL" in d.get_attribute("textContent")]
        formula.find_element(By.TAG_NAME, "summary").click()
        assert "Total = a·CL + b·SL" in formula.text

        # Style strength: a slider from subtle to strong around the preset's b, the number under "details".
        slider = driver.find_element(By.ID, "control-style_weight-slider")
        strength = driver.find_element(By.ID, "control-style_weight")
        assert not strength.is_displayed() and slider.is_displayed()
        assert float(strength.get_attribute("value")) == 0.0025
        slide(driver, slider, 1)
        assert float(strength.get_attribute("value")) == pytest.approx(0.025)
        Select(driver.find_element(By.ID, "control-preset")).select_by_value("paper")
        assert (float(strength.get_attribute("value")), float(slider.get_attribute("value"))) == (10.0, 0.0)
        Select(driver.find_element(By.ID, "control-preset")).select_by_value("default")
        slide(driver, slider, -0.5)  # subtler: 0.0025 / √10
        b = float(strength.get_attribute("value"))
        assert b == pytest.approx(0.0025 / math.sqrt(10), rel=1e-2)

        driver.find_element(By.ID, "photo-input").send_keys(str(PHOTO))
        driver.find_element(By.ID, "style-input").send_keys(str(PAINTING))
        button = driver.find_element(By.ID, "stylize")
        wait_for(driver, lambda d: button.is_enabled(), what="the uploads")
        assert "dandelions.jpg · 768×432" in driver.find_element(By.ID, "photo").text
        for name, value in (("image_size", SIZE), ("iterations", ITERATIONS)):
            field = driver.find_element(By.ID, f"control-{name}")
            field.clear()
            field.send_keys(str(value))
        button.click()
        wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.run")) == 1, what="the first card")
        button.click()  # a second run waits for the first

        second = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "article.run[data-state='queued']"), what="a waiting run")
        placeholder = second.find_element(By.CSS_SELECTOR, ".placeholder")
        assert placeholder.is_displayed() and "Waiting for its turn" in placeholder.text
        frame = second.find_element(By.CSS_SELECTOR, ".frame").rect
        assert frame["width"] / frame["height"] == pytest.approx(768 / 432, rel=0.02)  # the photo's shape, not an empty strip

        wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.run[data-shown='result']")) == 2,
                 timeout=60, what="both final images")  # fmt: skip
        first, second = driver.find_elements(By.CSS_SELECTOR, "article.run")[::-1]  # newest first
        assert int(first.get_attribute("data-previews")) >= 1  # an intermediate image was shown
        for card in (first, second):
            assert card.get_attribute("data-state") == "done"
            picture = card.find_element(By.CSS_SELECTOR, "img.picture")
            assert driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", picture) == [64, 36]
            assert f"iteration {ITERATIONS} of {ITERATIONS}" in card.text
            assert not card.find_element(By.CSS_SELECTOR, ".placeholder").is_displayed()
        sent = runs.view(driver.execute_script("return pageId"))["runs"]
        assert [run["settings"]["style_weight"] for run in sent] == [pytest.approx(b)] * 2
        # The losses are details, shown when asked for.
        losses = first.find_element(By.CSS_SELECTOR, ".losses")
        assert not losses.is_displayed() and "total" in losses.get_attribute("textContent")
        first.find_element(By.CSS_SELECTOR, "details.details summary").click()
        assert losses.is_displayed() and "losses: total" in losses.text
        # A result on its own row fills it: the picture is as wide as the results' area.
        area = driver.find_element(By.ID, "runs").rect["width"]
        assert first.find_element(By.CSS_SELECTOR, "img.picture").rect["width"] > area / 2 - 60

        first.find_element(By.CSS_SELECTOR, "a.download").click()
        target = downloads / "tfstyle-1.png"
        deadline = time.monotonic() + 10
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        image = Image.open(io.BytesIO(target.read_bytes()))
        assert (image.format, image.size) == ("PNG", (64, 36))

        driver.save_screenshot(str(tmp_path / "page.png"))  # for a look when it fails
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors


def test_the_page_fits_a_phones_width(tmp_path):
    from selenium.webdriver.common.by import By

    options = Options(fixed={"weights": "random", "precision": "float32"}, grace=5.0)
    with serving(options) as (base, _), chrome(tmp_path, width=390, height=844) as driver:
        driver.get(base)
        wait_for(driver, lambda d: d.find_element(By.ID, "control-style_weight-slider"), what="the settings")
        assert driver.execute_script("return window.innerWidth") == 390
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        slider = driver.find_element(By.ID, "control-style_weight-slider").rect
        assert slider["width"] > 120 and slider["x"] + slider["width"] <= 390


def instant_models(folder: Path) -> dict[str, Path]:
    """Two tiny instant styles: ``starry_night`` learned the sample painting, ``the_scream`` another one."""
    return {"starry_night": tiny_model(folder / "starry_night", PAINTING.read_bytes()),
            "the_scream": tiny_model(folder / "the_scream", b"another painting")}  # fmt: skip


def shown_kinds(driver) -> None:
    """Record, in ``window.kinds``, each picture a card shows: [run's card id, "instant" | "preview" | "result"]."""
    driver.execute_script("""
        window.kinds = [];
        new MutationObserver((changes) => {
          for (const change of changes) {
            if (change.target.matches("img.picture")) window.kinds.push([change.target.closest("article").id, change.target.dataset.kind]);
          }
        }).observe(document.getElementById("runs"), {subtree: true, attributes: true, attributeFilter: ["data-kind"]});
    """)


def test_an_instant_style_paints_the_photo_at_once_and_comes_first_in_a_run_of_its_painting(tmp_path):
    from selenium.webdriver.common.by import By

    options = Options(fixed={"weights": "random", "precision": "float32"}, grace=5.0, models=instant_models(tmp_path))
    with serving(options) as (base, runs), chrome(tmp_path) as driver:
        driver.get(base)
        tiles = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".instant-style"), what="the instant styles")
        assert [tile.text for tile in tiles] == ["The Starry Night (van Gogh)", "The Scream (Munch)"]
        for tile in tiles:  # each with its painting's thumbnail
            assert driver.execute_script("return arguments[0].querySelector('img').naturalWidth", tile) > 0
        go = driver.find_element(By.ID, "instant-go")
        start = driver.find_element(By.ID, "instant-start")
        assert go.is_displayed() and not go.is_enabled() and not start.is_displayed()
        for name, value in (("image_size", SIZE), ("iterations", ITERATIONS)):
            field = driver.find_element(By.ID, f"control-{name}")
            field.clear()
            field.send_keys(str(value))
        shown_kinds(driver)

        # The photo and a chosen style: the instant picture, at once, in a card of its own.
        driver.find_element(By.ID, "photo-input").send_keys(str(PHOTO))
        wait_for(driver, lambda d: "dandelions.jpg" in d.find_element(By.ID, "photo").text, what="the photo")
        tiles[0].click()
        assert tiles[0].get_attribute("aria-pressed") == "true" and start.is_displayed() and go.is_enabled()
        seconds = []
        for _ in range(2):  # the first loads the model; the second is as a person would see it every time
            began = time.monotonic()
            go.click()
            wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.run[data-shown='result']")) == len(seconds) + 1,
                     what="the instant picture")  # fmt: skip
            seconds.append(time.monotonic() - began)
        assert seconds[1] < 3.0, seconds  # well under a second on an idle machine; a margin for a busy one
        card = driver.find_elements(By.CSS_SELECTOR, "article.run")[0]
        assert card.get_attribute("data-kind") == "fast" and card.get_attribute("data-state") == "done"
        picture = card.find_element(By.CSS_SELECTOR, "img.picture")
        assert driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", picture) == [64, 36]
        assert "instant: 0." in card.find_element(By.CSS_SELECTOR, ".state").text or "instant: " in card.text
        assert "The Starry Night (van Gogh) (instant)" in card.text and card.find_element(By.CSS_SELECTOR, "a.download").is_displayed()
        assert not card.find_element(By.CSS_SELECTOR, "progress").is_displayed()

        # The painting it learned: a Stylize run shows the instant picture first, then its own frames.
        tiles[0].click()  # un-chosen: the painting alone brings the preview
        assert tiles[0].get_attribute("aria-pressed") == "false" and not go.is_enabled()
        driver.find_element(By.ID, "style-input").send_keys(str(PAINTING))
        wait_for(driver, lambda d: "instant preview" in d.find_element(By.ID, "styles").text, what="the painting recognized")
        driver.find_element(By.ID, "stylize").click()
        wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.run[data-shown='result']")) == 3,
                 timeout=60, what="the run's result")  # fmt: skip
        card = driver.find_elements(By.CSS_SELECTOR, "article.run")[0]
        kinds = [kind for article, kind in driver.execute_script("return window.kinds") if article == card.get_attribute("id")]
        assert kinds[0] == "instant" and "preview" in kinds and kinds[-1] == "result", kinds
        assert "Shown first: the instant picture of The Starry Night (van Gogh)" in card.text

        # Ticked: the run starts from the chosen style's picture.
        tiles[1].click()
        start.click()
        driver.find_element(By.ID, "stylize").click()
        wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.run")) == 4, what="the fourth card")
        card = driver.find_elements(By.CSS_SELECTOR, "article.run")[0]
        wait_for(driver, lambda d: "Started from the instant picture of The Scream (Munch)" in card.text, what="its note")
        (sent,) = [run for run in runs.view(driver.execute_script("return pageId"))["runs"] if run["number"] == 4]
        assert sent["instant"] == {"model": "the_scream", "label": "The Scream (Munch)", "start": True}
        wait_for(driver, lambda d: card.get_attribute("data-shown") == "result", timeout=60, what="its result")

        driver.save_screenshot(str(tmp_path / "instant.png"))  # for a look
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors


@pytest.mark.parametrize("instant", [True, False], ids=["instant-styles", "no-models"])
def test_the_instant_styles_fit_a_phones_width_and_are_gone_without_models(tmp_path, instant):
    from selenium.webdriver.common.by import By

    models = instant_models(tmp_path) if instant else {}
    options = Options(fixed={"weights": "random", "precision": "float32"}, grace=5.0, models=models)
    with serving(options) as (base, _), chrome(tmp_path, width=390, height=844) as driver:
        driver.get(base)
        wait_for(driver, lambda d: d.find_element(By.ID, "control-style_weight-slider"), what="the settings")
        section, go = driver.find_element(By.ID, "instant"), driver.find_element(By.ID, "instant-go")
        assert section.is_displayed() == go.is_displayed() == instant
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        if instant:
            driver.find_element(By.ID, "photo-input").send_keys(str(PHOTO))
            wait_for(driver, lambda d: "dandelions.jpg" in d.find_element(By.ID, "photo").text, what="the photo")
            tiles = driver.find_elements(By.CSS_SELECTOR, ".instant-style")
            assert all(tile.rect["x"] + tile.rect["width"] <= 390 for tile in tiles)
            tiles[1].click()
            field = driver.find_element(By.ID, "control-image_size")
            field.clear()
            field.send_keys("96")
            go.click()
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "article.run[data-shown='result']"), what="the instant picture")
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        driver.save_screenshot(str(tmp_path / "phone.png"))  # for a look
