"""The report in headless Chromium: loads offline without console errors, sorts, filters, pages,
and the gallery opens a synchronised zoom (see tests/browser.py for the browser setup)."""

from __future__ import annotations

import csv

import pytest
from browser import chromium, console_errors
from reportdata import make_run, report_data
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from semfidelity.cli.report import main as report_main


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    run = make_run(root)
    out = root / "report" / "index.html"
    assert report_main([str(run["scores"]), "--maps", str(run["maps"]), "--out", str(out)]) == 0
    drv = chromium(root)
    try:
        drv.get(out.as_uri())
        WebDriverWait(drv, 20).until(
            lambda d: d.execute_script("return document.body.dataset.ready")
        )
        yield drv, out, run
    finally:
        drv.quit()


def click(drv, element):
    """Click after centring (the sticky header would otherwise cover the element)."""
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def keys_in_table(drv):
    return [b.text for b in drv.find_elements(By.CSS_SELECTOR, "#table tbody button.key")]


def test_loads_without_console_errors_and_screenshot(page, tmp_path):
    drv, out, _ = page
    assert console_errors(drv) == []
    assert drv.title == "index.html"
    shot = tmp_path / "report.png"
    assert drv.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_sorting_filtering_and_paging(page):
    drv, _, run = page
    rows = list(csv.DictReader(open(run["scores"], newline="")))
    psnr = {r["key"]: float(r["psnr"]) for r in rows if r["psnr"]}
    header = drv.find_element(By.CSS_SELECTOR, '#table th[data-col="psnr"]')
    click(drv, header)
    assert keys_in_table(drv) == sorted(psnr, key=psnr.get) + ["broken"]  # missing last
    click(drv, header)
    assert keys_in_table(drv) == sorted(psnr, key=psnr.get, reverse=True) + ["broken"]
    assert "sorted-desc" in header.get_attribute("class")
    box = drv.find_element(By.ID, "filter")
    box.send_keys("psnr<30")
    assert set(keys_in_table(drv)) == {k for k, v in psnr.items() if v < 30}
    box.clear()
    box.send_keys("x", Keys.BACKSPACE)  # clear() fires no input event
    click(drv, drv.find_element(By.ID, "errors-only"))
    assert keys_in_table(drv) == ["broken"]
    click(drv, drv.find_element(By.ID, "errors-only"))
    drv.execute_script(
        "const s=document.getElementById('page-size'); s.innerHTML+='<option>3</option>';"
        "s.value='3'; s.dispatchEvent(new Event('change'));"
    )
    assert len(keys_in_table(drv)) == 3
    assert drv.find_element(By.ID, "pager-info").text == "page 1 of 3 (7 of 7 rows)"
    click(drv, drv.find_element(By.ID, "next"))
    click(drv, drv.find_element(By.ID, "next"))
    assert len(keys_in_table(drv)) == 1 and not drv.find_element(By.ID, "next").is_enabled()


def test_gallery_tabs_and_zoom(page, tmp_path):
    drv, out, _ = page
    data = report_data(out)
    click(drv, drv.find_element(By.CSS_SELECTOR, '#gallery-tabs button[data-metric="ssim"]'))
    cards = drv.find_elements(By.CSS_SELECTOR, "#gallery-grid .card")
    assert [c.get_attribute("data-key") for c in cards] == data["gallery"]["ssim"]
    loaded = "return [...arguments[0].querySelectorAll('img')].map(i => i.naturalWidth)"
    assert all(w > 0 for w in drv.execute_script(loaded, cards[0]))
    click(drv, cards[0])
    modal = drv.find_element(By.ID, "modal")
    assert modal.is_displayed()
    assert drv.find_element(By.ID, "modal-title").text.startswith(data["gallery"]["ssim"][0])
    panes = drv.find_elements(By.CSS_SELECTOR, "#modal-panes .pane img.view")
    assert len(panes) == 3 and all(w > 0 for w in drv.execute_script(loaded, modal))
    sizes = {(p.get_property("naturalWidth"), p.get_property("naturalHeight")) for p in panes}
    assert len(sizes) == 1  # the map without its colour bar: it zooms in step with the images
    assert drv.find_elements(By.CSS_SELECTOR, "#modal-panes .pane img.bar")
    assert "ssim map" in drv.find_element(By.ID, "modal-panes").text
    drv.find_element(By.ID, "zoom-in").click()
    drv.find_element(By.ID, "zoom-in").click()
    assert drv.find_element(By.ID, "zoom-level").text == "4.0×"
    transforms = {p.value_of_css_property("transform") for p in panes}
    assert len(transforms) == 1 and transforms != {"none"}  # all three move together
    drv.save_screenshot(str(tmp_path / "zoom.png"))
    drv.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    assert not modal.is_displayed()
    assert console_errors(drv) == []
