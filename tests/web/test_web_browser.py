"""The web page in a real browser: headless Chromium (Debian's chromium and chromium-driver, driven
by Selenium) on the page served by uvicorn on 127.0.0.1 with random weights: upload the shared
photo and painting, stylize a few iterations at a small size, see an intermediate and the final
image appear, and download the PNG."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the web page needs the web extra: pip install 'tfstyle[web]'")
pytest.importorskip("selenium", reason="the browser test needs selenium (the dev extra)")

from web.test_web import Options, serving  # noqa: E402 - tests/ is on the path (pyproject)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SIZE, ITERATIONS = 64, 30


def chrome(downloads: Path):
    """Headless Chromium driven by the system chromedriver (nothing downloaded: the machine is offline)."""
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,1000"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_for(driver, condition, timeout: float = 20.0, what: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message=what)


def test_the_page_stylizes_the_shared_images_and_downloads_the_png(shared_images, tmp_path):
    from selenium.webdriver.common.by import By

    photo = shared_images / "content" / "tubingen.jpg"
    painting = shared_images / "style" / "starry_night.jpg"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = Options(fixed={"weights": "random", "precision": "float32"}, grace=5.0)
    with serving(options) as (base, runs), chrome(downloads) as driver:
        driver.get(base)
        size = wait_for(driver, lambda d: d.find_element(By.ID, "control-image_size"), what="the settings")
        assert size.get_attribute("value") == "512"  # the default preset's, from the settings endpoint
        help_texts = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "#controls .help")]
        assert any("brush strokes" in text for text in help_texts)

        driver.find_element(By.ID, "photo-input").send_keys(str(photo))
        driver.find_element(By.ID, "style-input").send_keys(str(painting))
        button = driver.find_element(By.ID, "stylize")
        wait_for(driver, lambda d: button.is_enabled(), what="the uploads")
        assert "tubingen.jpg · 1024×768" in driver.find_element(By.ID, "photo").text
        for name, value in (("image_size", SIZE), ("iterations", ITERATIONS)):
            field = driver.find_element(By.ID, f"control-{name}")
            field.clear()
            field.send_keys(str(value))
        button.click()

        card = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "article.run"), what="the run's card")
        wait_for(driver, lambda d: int(card.get_attribute("data-previews")) >= 1, what="an intermediate image")
        wait_for(driver, lambda d: card.get_attribute("data-shown") == "result", what="the final image")
        assert card.get_attribute("data-state") == "done"
        picture = card.find_element(By.CSS_SELECTOR, "img.picture")
        assert driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", picture) == [64, 48]
        assert f"iteration {ITERATIONS} of {ITERATIONS}" in card.text

        card.find_element(By.CSS_SELECTOR, "a.download").click()
        target = downloads / "tfstyle-1.png"
        deadline = time.monotonic() + 10
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        image = Image.open(io.BytesIO(target.read_bytes()))
        assert (image.format, image.size) == ("PNG", (64, 48))

        driver.save_screenshot(str(tmp_path / "page.png"))  # for a look when it fails
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
