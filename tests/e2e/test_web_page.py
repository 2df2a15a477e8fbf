"""The web page in a real headless Chromium against a real `stillmotion serve`: key, image, prompt, progress,
a video that actually plays, history, cancel, and the server's own error messages shown inline."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from stillmotion.media.video import probe_video, read_frames
from support import TEST_KEY, Server, b64, make_image, psnr

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GENERATION_PATH = "/v2/generate/video/minimax/generation"
SCREENSHOT_COPY = Path("/tmp/web-page.png")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="headless Chromium is missing: install it with `apt-get install -y chromium chromium-driver`",
    ),
]

T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("web") / "data", workers=1)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], T], *, timeout_s: float, what: str) -> T:
    result: T = WebDriverWait(driver, timeout_s, poll_frequency=0.2).until(condition, message=what)
    return result


def console_errors(driver: WebDriver) -> list[str]:
    entries: list[dict[str, Any]] = driver.get_log("browser")
    return [entry["message"] for entry in entries if entry["level"] == "SEVERE"]


def open_page(driver: WebDriver, base: str, *, key: str | None) -> None:
    console_errors(driver)  # reading the log empties it: each test sees only its own messages
    driver.get(base + "/")
    driver.execute_script("localStorage.clear()")
    driver.get(base + "/")
    if key is not None:
        field = driver.find_element(By.ID, "api-key")
        field.clear()
        field.send_keys(key)
        driver.find_element(By.ID, "save-key").click()
        wait_for(
            driver,
            lambda d: d.execute_script("return localStorage.getItem('stillmotion.apiKey')") == key,
            timeout_s=5,
            what="the key was not saved in localStorage",
        )


def fill_form(driver: WebDriver, image: Path, prompt: str, *, duration: str = "1") -> None:
    driver.find_element(By.ID, "image-file").send_keys(str(image))
    wait_for(
        driver,
        lambda d: d.find_element(By.ID, "preview").get_attribute("naturalWidth") not in (None, "0"),
        timeout_s=10,
        what="the image preview never appeared",
    )
    prompt_field = driver.find_element(By.ID, "prompt")
    prompt_field.clear()
    prompt_field.send_keys(prompt)
    duration_field = driver.find_element(By.ID, "duration")
    duration_field.clear()
    duration_field.send_keys(duration)


def set_field(driver: WebDriver, field_id: str, value: str) -> None:
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def wait_for_the_video(driver: WebDriver, *, timeout_s: float = 90) -> str:
    """Wait until the result shows a video (failing on an error shown instead); the generation's id."""
    error = driver.find_element(By.ID, "result-error")
    wait_for(
        driver,
        lambda d: d.find_element(By.ID, "player").is_displayed() or error.is_displayed(),
        timeout_s=timeout_s,
        what=f"no video and no error within {timeout_s:g} s",
    )
    assert not error.is_displayed(), error.text
    download_name = driver.find_element(By.ID, "download").get_attribute("download")
    return Path(str(download_name)).stem.removeprefix("stillmotion-")


def history_item(driver: WebDriver, job_id: str) -> WebElement:
    """The history list's entry for `job_id`, once the list shows it."""
    found: list[WebElement] = wait_for(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'button[data-job-id="{job_id}"]'),
        timeout_s=10,
        what="the generation is not in the history list",
    )
    return found[0]


def poll_generation(server: Server, generation_id: str) -> dict[str, Any]:
    answer = httpx.get(
        server.base + GENERATION_PATH,
        params={"generation_id": generation_id},
        headers={"Authorization": f"Bearer {TEST_KEY}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    polled: dict[str, Any] = answer.json()
    return polled


VIDEO_STATE = """
const v = document.getElementById('video');
return {src: v.currentSrc, readyState: v.readyState, time: v.currentTime, paused: v.paused,
        width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.message,
        visible: !document.getElementById('player').hidden};
"""


def test_a_generation_from_the_page_plays_inline_and_is_listed(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    prompt = "she smiles and nods, the camera slowly zooms in, she juggles"
    open_page(browser, server.base, key=TEST_KEY)
    # Debian's Chromium is built with the proprietary codecs, so an H.264 mp4 can play.
    assert browser.execute_script(
        "return document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.42E01E\"')"
    ) in ("probably", "maybe")
    fill_form(browser, FIXTURES / "grace_hopper.jpg", prompt)
    assert browser.find_element(By.ID, "prompt-optimizer").is_selected()  # on by default
    browser.find_element(By.ID, "generate").click()

    job_id = wait_for_the_video(browser)
    first = wait_for(
        browser,
        lambda d: (s := d.execute_script(VIDEO_STATE))["readyState"] >= 2 and s,
        timeout_s=20,
        what="the video never had a frame to show",
    )
    assert first["error"] is None
    time.sleep(0.6)
    later = browser.execute_script(VIDEO_STATE)
    assert not later["paused"], later
    # Playing, not just loaded: the clock moves (a 1 s clip loops, so it may have wrapped around).
    assert later["time"] != first["time"], (first, later)
    assert later["width"] == 720 and abs(later["height"] / 720 - 600 / 512) < 0.01  # short side 720, 512:600

    # The page's video link is the server's signed link; the download link is the same URL.
    src: str = later["src"]
    assert "/media/" in src and "Signature=" in src
    download = browser.find_element(By.ID, "download")
    assert download.get_attribute("href") == src
    assert download.get_attribute("download") == f"stillmotion-{job_id}.mp4"
    assert poll_generation(server, job_id)["status"] == "completed"
    # Under the video, what the engine drew and what it could not, in words.
    assert browser.find_element(By.ID, "plan").is_displayed()
    drawn = browser.find_element(By.ID, "plan-drawn").text.splitlines()
    assert {"head nod", "mouth smile", "camera zoom in"} <= set(drawn), drawn
    notes = browser.find_element(By.ID, "plan-notes").text
    assert "juggles" in notes, notes

    # History: the job is listed, newest first, with its prompt; clicking it shows its video again.
    item = history_item(browser, job_id)
    assert prompt in item.text
    first_item = browser.find_element(By.CSS_SELECTOR, "#history-list button")
    assert first_item.get_attribute("data-job-id") == job_id
    browser.execute_script("document.getElementById('video').removeAttribute('src')")
    item.click()
    wait_for(
        browser,
        lambda d: "/media/" in d.execute_script(VIDEO_STATE)["src"],
        timeout_s=10,
        what="clicking the history item did not show its video",
    )

    browser.set_window_size(1280, 1560)
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)  # let the layout settle and the video advance a few frames
    screenshot = tmp_path / "web-page.png"
    browser.save_screenshot(str(screenshot))
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    assert console_errors(browser) == []


def test_the_frame_rate_and_loop_chosen_on_the_page_shape_the_video(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    fill_form(browser, FIXTURES / "grace_hopper.jpg", "she smiles, the camera slowly zooms in", duration="1")
    set_field(browser, "fps", "12")
    loop = browser.find_element(By.ID, "loop")
    assert not loop.is_selected()  # off by default, as on the server
    loop.click()
    browser.find_element(By.ID, "generate").click()

    generation_id = wait_for_the_video(browser)
    video = tmp_path / "looped.mp4"
    video.write_bytes(httpx.get(poll_generation(server, generation_id)["video"]["url"], timeout=30).content)
    info = probe_video(video)
    assert (info.fps, info.frame_count) == (12.0, 12)  # 1 s at 12 frames per second, not the default 25
    frames = list(read_frames(video))
    # Looped: the zoom comes back, the last frame is the first again (without loop it ends zoomed in, ~12 dB).
    assert psnr(frames[-1], frames[0]) >= 35.0
    assert psnr(frames[len(frames) // 2], frames[0]) < 35.0  # and it moved in between


def test_the_seed_used_is_shown_and_can_be_put_back_in_the_form(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    fill_form(browser, FIXTURES / "coffee.png", "steam rises from the cup")
    seed_field = browser.find_element(By.ID, "seed")
    assert seed_field.get_attribute("value") == ""  # none given: the engine draws one from the image
    browser.find_element(By.ID, "generate").click()
    generation_id = wait_for_the_video(browser)

    reported = poll_generation(server, generation_id)["seed"]
    assert isinstance(reported, int)
    assert browser.find_element(By.ID, "seed-used").text == f"Seed {reported}"
    use_seed = browser.find_element(By.ID, "use-seed")
    assert use_seed.text == "Use this seed"
    use_seed.click()
    assert seed_field.get_attribute("value") == str(reported)
    assert browser.switch_to.active_element == seed_field  # ready to change the prompt and generate again


def _seconds(text: str, label: str) -> int:
    match = re.fullmatch(label + r" (\d+):([0-5]\d)", text)
    assert match, f"{text!r} is not '{label} m:ss'"
    return int(match.group(1)) * 60 + int(match.group(2))


def test_the_time_elapsed_shows_while_running_and_how_long_it_took_after(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    # A 6 s clip at 25 fps takes a few seconds to render: long enough to watch the clock move.
    fill_form(browser, FIXTURES / "grace_hopper.jpg", "she nods, the camera pans left", duration="6")
    browser.find_element(By.ID, "generate").click()
    elapsed = browser.find_element(By.ID, "elapsed")
    wait_for(browser, lambda d: elapsed.is_displayed(), timeout_s=10, what="no elapsed time while it runs")
    first = _seconds(elapsed.text, "Elapsed")
    assert first <= 1
    ticked = wait_for(
        browser,
        lambda d: (seen := _seconds(elapsed.text, "Elapsed")) > first and seen,
        timeout_s=5,
        what="the elapsed time did not move within 5 s",
    )

    wait_for_the_video(browser)
    assert not elapsed.is_displayed()
    took = browser.find_element(By.ID, "took")
    assert took.is_displayed()
    assert _seconds(took.text, "Took") >= ticked


@pytest.mark.parametrize("fps", ["11", "31", "12.5", "1e"])
def test_a_frame_rate_out_of_bounds_is_refused_naming_the_field(server: Server, browser: WebDriver, fps: str) -> None:
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=10) as api:

        def newest() -> Any:
            return api.get("/v1/videos", params={"limit": 1}).json()["first_id"]

        before = newest()
        open_page(browser, server.base, key=TEST_KEY)
        fill_form(browser, FIXTURES / "coffee.png", "steam rises from the cup")
        set_field(browser, "fps", fps)
        browser.find_element(By.ID, "generate").click()
        error = browser.find_element(By.ID, "form-error")
        wait_for(browser, lambda d: error.is_displayed(), timeout_s=5, what=f"no error shown for fps {fps!r}")
        assert error.text == "Frame rate (fps) must be a whole number of frames per second from 12 to 30."
        assert browser.switch_to.active_element == browser.find_element(By.ID, "fps")
        assert newest() == before  # refused by the page: no request was sent


def test_a_bad_key_shows_the_servers_message(server: Server, browser: WebDriver) -> None:
    bad_key = "not-a-key-anyone-has"
    answer = httpx.post(
        server.base + GENERATION_PATH, json={}, headers={"Authorization": f"Bearer {bad_key}"}, timeout=5
    )
    assert answer.status_code == 401
    expected = answer.json()["message"]
    open_page(browser, server.base, key=bad_key)
    fill_form(browser, FIXTURES / "coffee.png", "steam rises from the cup")
    browser.find_element(By.ID, "generate").click()
    error = browser.find_element(By.ID, "form-error")
    wait_for(browser, lambda d: error.is_displayed(), timeout_s=10, what="no error shown for a bad key")
    assert error.text == expected
    # The only console errors are the browser's own notes on the refused (401) requests.
    assert all("401" in message for message in console_errors(browser))


def test_a_validation_refusal_names_the_field(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    fill_form(browser, FIXTURES / "coffee.png", "x" * 10)
    # Past the form's own check, so the server's rule and wording are what the user reads.
    browser.execute_script("document.getElementById('prompt').value = 'a'.repeat(2001)")
    browser.find_element(By.ID, "generate").click()
    error = browser.find_element(By.ID, "form-error")
    wait_for(browser, lambda d: error.is_displayed(), timeout_s=10, what="no error shown for a long prompt")
    assert "`prompt`" in error.text and "2000" in error.text, error.text


def test_files_that_are_not_jpg_or_png_are_refused_before_upload(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"GIF89a" + bytes(64))  # named .png, but a GIF by its bytes
    browser.find_element(By.ID, "image-file").send_keys(str(fake))
    message = browser.find_element(By.ID, "image-error")
    wait_for(browser, lambda d: message.is_displayed(), timeout_s=5, what="no message for a GIF")
    assert "not a JPG or PNG" in message.text
    assert not browser.find_element(By.ID, "preview").is_displayed()

    big = tmp_path / "huge.png"
    with big.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(20 * 1024 * 1024 + 1)
    browser.find_element(By.ID, "image-file").send_keys(str(big))
    wait_for(browser, lambda d: "20 MB" in message.text, timeout_s=5, what="no message for a 20 MB + 1 file")

    browser.find_element(By.ID, "prompt").send_keys("she smiles")
    browser.find_element(By.ID, "generate").click()
    assert "20 MB" in browser.find_element(By.ID, "form-error").text  # refused without a request
    assert console_errors(browser) == []


def test_cancel_stops_a_running_generation(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    fill_form(browser, FIXTURES / "coffee.png", "steam rises, the camera pans left", duration="10")
    browser.find_element(By.ID, "generate").click()
    cancel = browser.find_element(By.ID, "cancel")
    wait_for(
        browser,
        lambda d: cancel.is_displayed() and cancel.is_enabled(),
        timeout_s=10,
        what="no cancel button while the generation runs",
    )
    cancel.click()
    outcome = browser.find_element(By.ID, "result-error")
    wait_for(browser, lambda d: outcome.is_displayed(), timeout_s=30, what="the cancel had no visible outcome")
    assert outcome.text == "Cancelled.", outcome.text
    assert not browser.find_element(By.ID, "player").is_displayed()


SYNTHETIC_IMAGE = """
const [name, width, height, how] = arguments;
const done = arguments[arguments.length - 1];
const canvas = document.createElement('canvas');
canvas.width = width; canvas.height = height;
const context = canvas.getContext('2d');
context.fillStyle = '#3a7'; context.fillRect(0, 0, width, height);
canvas.toBlob((blob) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], name, {type: 'image/png'}));
  if (how === 'drop') {
    document.getElementById('drop-zone').dispatchEvent(
      new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
  } else {
    document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true, cancelable: true}));
  }
  done(true);
}, 'image/png');
"""


def test_images_can_be_dropped_or_pasted_and_are_checked_for_size(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    name = browser.find_element(By.ID, "image-name")
    browser.execute_async_script(SYNTHETIC_IMAGE, "dropped.png", 600, 400, "drop")
    wait_for(browser, lambda d: "600\u00d7400" in name.text, timeout_s=5, what="the dropped image was not taken")
    assert "dropped.png" in name.text
    assert browser.find_element(By.ID, "preview").is_displayed()
    assert not browser.find_element(By.ID, "image-error").is_displayed()

    browser.execute_async_script(SYNTHETIC_IMAGE, "pasted.png", 900, 200, "paste")
    wait_for(browser, lambda d: "900\u00d7200" in name.text, timeout_s=5, what="the pasted image was not taken")
    error = browser.find_element(By.ID, "image-error")
    assert error.is_displayed() and "shorter side" in error.text  # 200 px: the server's rule, said up front
    assert console_errors(browser) == []


def test_the_key_is_remembered_and_can_be_forgotten(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.base, key=TEST_KEY)
    browser.refresh()
    assert browser.find_element(By.ID, "api-key").get_attribute("value") == TEST_KEY
    forget = browser.find_element(By.ID, "forget-key")
    assert forget.is_displayed()
    forget.click()
    assert browser.execute_script("return localStorage.getItem('stillmotion.apiKey')") is None
    assert browser.find_element(By.ID, "api-key").get_attribute("value") == ""
    assert not forget.is_displayed()


def finished_generation(server: Server, prompt: str) -> str:
    """A 1 s generation made through the API and waited for; its id."""
    image = "data:image/png;base64," + b64(make_image(320, 320))
    body = {"model": "video-01-live2d", "prompt": prompt, "first_frame_image": image, "duration": 1}
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=10) as api:
        answer = api.post(GENERATION_PATH, json=body)
        assert answer.status_code == 200, answer.text
        job_id: str = answer.json()["generation_id"]
        deadline = time.monotonic() + 60
        while api.get(GENERATION_PATH, params={"generation_id": job_id}).json()["status"] != "completed":
            assert time.monotonic() < deadline, "the generation did not finish"
            time.sleep(0.2)
    return job_id


def test_the_page_fits_a_phone_screen(server: Server, browser: WebDriver, tmp_path: Path) -> None:
    job_id = finished_generation(server, "the camera slowly zooms in")
    open_page(browser, server.base, key=TEST_KEY)
    browser.set_window_size(390, 900)
    try:
        # With a finished generation shown: the video, how long it took, its seed and its plan.
        item = history_item(browser, job_id)
        item.click()
        wait_for_the_video(browser, timeout_s=10)
        use_seed = browser.find_element(By.ID, "use-seed")
        assert use_seed.is_displayed() and browser.find_element(By.ID, "took").is_displayed()
        sizes = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert sizes[0] <= sizes[1], f"the page scrolls sideways at phone width: {sizes}"
        assert use_seed.rect["x"] + use_seed.rect["width"] <= sizes[1]
        browser.save_screenshot(str(tmp_path / "web-page-phone.png"))
    finally:
        browser.set_window_size(1280, 1000)


def test_history_lists_newest_first_and_loads_more(server: Server, browser: WebDriver) -> None:
    auth = {"Authorization": f"Bearer {TEST_KEY}"}
    image = "data:image/png;base64," + b64(make_image(320, 320))
    created: list[str] = []
    with httpx.Client(base_url=server.base, headers=auth, timeout=10) as api:
        for number in range(21):
            answer = api.post(
                GENERATION_PATH,
                json={
                    "model": "video-01-live2d",
                    "prompt": f"history entry {number}",
                    "first_frame_image": image,
                },
            )
            assert answer.status_code == 200, answer.text
            created.append(answer.json()["generation_id"])
            # Cancelled at once: listing needs the jobs, not their videos.
            api.delete(GENERATION_PATH, params={"generation_id": created[-1]})
    open_page(browser, server.base, key=TEST_KEY)
    rows = "#history-list button[data-job-id]"
    wait_for(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) == 20,
        timeout_s=10,
        what="the first history page does not hold 20 entries",
    )
    shown = [item.get_attribute("data-job-id") for item in browser.find_elements(By.CSS_SELECTOR, rows)]
    assert shown == created[::-1][:20]  # newest first
    load_more = browser.find_element(By.ID, "load-more")
    assert load_more.is_displayed()
    load_more.click()
    wait_for(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) > 20,
        timeout_s=10,
        what="'load more' added nothing",
    )
    shown = [item.get_attribute("data-job-id") for item in browser.find_elements(By.CSS_SELECTOR, rows)]
    assert shown[20] == created[0]
    assert len(shown) == len(set(shown)), "an entry was listed twice"


@pytest.mark.parametrize(
    ("path", "title"),
    [("/docs", (By.CSS_SELECTOR, ".swagger-ui .info .title")), ("/redoc", (By.CSS_SELECTOR, "h1"))],
)
def test_the_api_docs_render_from_this_server_alone(
    server: Server, browser: WebDriver, path: str, title: tuple[str, str]
) -> None:
    # Swagger UI and ReDoc from the package's own files, under a policy that allows scripts from this server only:
    # the page renders the schema's title and operations, and the browser reports no refused script or request.
    console_errors(browser)
    browser.get(server.base + path)
    heading = wait_for(browser, lambda d: d.find_elements(*title), timeout_s=20, what=f"{path} did not render")
    wait_for(browser, lambda d: "stillmotion" in heading[0].text, timeout_s=10, what=f"{path}: no title")
    assert "/v1/videos" in browser.page_source
    # ReDoc's sidebar credit shows Redocly's logo from their CDN: the policy blocks it, as it should (the credit's
    # text stays, the image hides itself); nothing else may be refused or fail to load.
    errors = [message for message in console_errors(browser) if "cdn.redoc.ly/redoc/logo-mini.svg" not in message]
    assert not [message for message in errors if "Content Security Policy" in message or "net::" in message], errors


def test_history_shows_finished_videos_thumbnails_and_deletes_after_asking(server: Server, browser: WebDriver) -> None:
    auth = {"Authorization": f"Bearer {TEST_KEY}"}
    job_id = finished_generation(server, "a thumbnail to delete")
    open_page(browser, server.base, key=TEST_KEY)
    entry = f"//li[button[@data-job-id='{job_id}']]"
    thumb = wait_for(
        browser,
        lambda d: d.find_elements(By.XPATH, entry + "//img[@class='history-thumb']"),
        timeout_s=10,
        what="no thumbnail element for the finished video",
    )[0]
    wait_for(
        browser,
        lambda d: thumb.is_displayed() and int(thumb.get_attribute("naturalWidth") or 0) > 0,
        timeout_s=10,
        what="the thumbnail did not load",
    )
    delete = browser.find_element(By.XPATH, entry + "//button[contains(@class, 'history-delete')]")
    delete.click()
    browser.switch_to.alert.dismiss()  # asked, and kept
    assert browser.find_elements(By.XPATH, entry)
    delete.click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: not d.find_elements(By.XPATH, entry), timeout_s=10, what="the entry stayed")
    gone = httpx.get(f"{server.base}/v1/videos/video_{job_id}", headers=auth, timeout=10)
    assert gone.status_code == 404
    assert not [message for message in console_errors(browser) if "404" not in message]
