"""Make the README's screenshot of the web page, docs/images/web.png.

    python -m tools.pictures.web_screenshot            # a few minutes on 2 CPU cores

Starts ``python -m tfstyle.web`` as a user would (the ImageNet weights: $TFSTYLE_VGG16_WEIGHTS or
keras' download), opens the page in headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium), drops ../shared/images' Tübingen photo and The Starry Night, runs the default
preset at 256 px and then the same with the photo's colours kept, and takes a screenshot of the page
with both results. The PNG is scaled to 800 pixels wide and 128 colours to stay under 200 KB.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tools import ROOT, SHARED_IMAGES

OUTPUT = ROOT / "docs" / "images" / "web.png"
WIDTH = 800  # the screenshot's width in the README (the page is laid out at 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="the runs' output size (pixels)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tfstyle.web", "--port=0"], stdout=subprocess.PIPE, text=True, env=env
    )  # fmt: skip
    try:
        line = server.stdout.readline() if server.stdout else ""
        address = re.search(r"http://\S+", line)
        if not address:
            raise SystemExit(f"the server did not start: {line}")
        shoot(address[0], args.size, args.output)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KB)")


def shoot(address: str, size: int, output: Path) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,900", "--hide-scrollbars"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    try:
        driver.get(address)
        wait = WebDriverWait(driver, 600, poll_frequency=0.2)
        wait.until(lambda d: d.find_elements(By.ID, "control-image_size"))
        driver.find_element(By.ID, "photo-input").send_keys(str(SHARED_IMAGES / "content" / "tubingen.jpg"))
        driver.find_element(By.ID, "style-input").send_keys(str(SHARED_IMAGES / "style" / "starry_night.jpg"))
        button = driver.find_element(By.ID, "stylize")
        wait.until(lambda d: button.is_enabled())
        field = driver.find_element(By.ID, "control-image_size")
        field.clear()
        field.send_keys(str(size))
        for colours in ("", "luminance"):
            driver.find_element(By.CSS_SELECTOR, f"#control-preserve_colors option[value='{colours}']").click()
            button.click()
            time.sleep(0.5)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.run[data-shown='result']")) == 2)
        time.sleep(0.5)
        page = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": page["width"], "height": page["height"], "scale": 1}
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        picture = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    finally:
        driver.quit()
    picture = picture.resize((WIDTH, round(picture.height * WIDTH / picture.width)), Image.Resampling.LANCZOS)
    picture.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(output, optimize=True)


if __name__ == "__main__":
    main()
