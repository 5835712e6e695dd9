"""The HTML report and the control-check page as finance staff read and print them, in headless Chromium;
the control checks with the network off, as in many agency networks."""

import re
from html.parser import HTMLParser

import pytest

from contracts.rules import RULES
from tests.test_reports import _browser

SEED = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables = self.theads = 0
        self.cells: list[str] = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tables += tag == "table"
        self.theads += tag == "thead"
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _page(demo, name):
    period = demo["periods"][-1]
    return period, demo["warehouse"].parent / "reports" / period / name.format(period=period)


def cite_by_title(text: str) -> bool:
    """A citation names a document a reader can find: never a seed file name alone or a spec path."""
    without_files = SEED.sub("", text).replace("[]", "").replace("[", "").replace("]", "").strip(" ;,")
    return bool(re.search(r"[A-Za-z]{3}", without_files)) and "shared/spec" not in text


def test_html_report_has_headers_on_every_table_no_none_and_titled_citations(demo):
    _, page = _page(demo, "claimrecon_{period}.html")
    p = Cells()
    p.feed(page.read_text())
    assert p.tables >= 5 and p.theads == p.tables  # printed pages repeat each table's header
    assert "None" not in p.cells
    assert "shared/spec" not in page.read_text()
    citations = [c for c in p.cells if SEED.search(c) or "MMIS" in c or "DHS" in c]
    assert citations
    assert all(cite_by_title(c) for c in citations), [c for c in citations if not cite_by_title(c)]


def test_citation_check_boundary():
    assert not cite_by_title("003_56516edcdfaf4014.txt \"Eligibility\" item 2"[:24])  # a seed file alone
    assert not cite_by_title("shared/spec/extracts.md")
    assert cite_by_title(RULES["IHS-WAIVER"].citation)
    for r in RULES.values():
        assert cite_by_title(r.citation), r.id


def _chrome(offline: bool):
    chromium, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000"]
    if offline:  # every network request fails: no proxy listens on port 9 and no host name resolves
        args += ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]
    for a in args:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def test_html_report_in_chromium_has_thead_everywhere_and_no_none(demo):
    _, page = _page(demo, "claimrecon_{period}.html")
    driver = _chrome(offline=True)
    try:
        driver.get(page.as_uri())
        counts = driver.execute_script("""return [document.querySelectorAll('table').length,
            document.querySelectorAll('table > thead').length,
            [...document.querySelectorAll('td')].filter(td => td.textContent.trim() === 'None').length]""")
    finally:
        driver.quit()
    assert counts[0] >= 5 and counts[0] == counts[1] and counts[2] == 0


def test_control_checks_page_lists_and_styles_the_checks_offline(demo):
    period, page = _page(demo, "controls.html")
    assert page.is_file()
    html = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|url\(|@import|<script""", html)
    driver = _chrome(offline=True)
    try:
        driver.get(page.as_uri())
        rows = driver.find_elements("css selector", "table.checks tbody tr")
        texts = [r.text for r in rows]
        th_bg = driver.execute_script("return getComputedStyle(document.querySelector('th')).backgroundColor")
        pass_color = driver.execute_script("return getComputedStyle(document.querySelector('td.pass')).color")
        verdict = driver.find_element("id", "verdict").text
        files = len(driver.find_elements("css selector", "#files tbody tr"))
        logs = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    finally:
        driver.quit()
    assert len(rows) == 7 and all(t.endswith("passed") for t in texts)  # 4 file, 2 balance, 1 judged-once checks
    assert any("trailer total" in t for t in texts) and any("per provider × program × service" in t for t in texts)
    assert th_bg == "rgb(242, 245, 249)" and pass_color == "rgb(26, 127, 55)"  # styled with no network
    assert verdict == "Every control check passed."
    assert files >= 10 and logs == []
    # Great Expectations' own Data Docs need the network for their styles: that is why this page exists
    gx = (page.parent / "data_docs" / "index.html").read_text()
    assert re.search(r"""href=["']https?://""", gx)


def test_control_checks_page_shows_a_failure(demo, tmp_path):
    from claimrecon import controls

    files = __import__("pandas").DataFrame({"source_file": ["a.txt"], "kind": ["claims"], "conservation_diff": [1.0],
                                            "trailer_count_diff": [0.0], "trailer_total_diff": [float("nan")]})
    bad = controls.ControlResult("file_controls", False, ["x"], [{"expectation": "expect_column_values_to_be_in_set",
                                 "column": "conservation_diff", "what": "w", "rows": 1, "passed": False, "observed": 1}])
    good = [controls.ControlResult(s, True, [], []) for s in ("balance", "judged_once")]
    html = controls.write_page("2026-01", [bad, *good], files, tmp_path / "c.html").read_text()
    assert "A control check FAILED" in html and ">FAILED<" in html and "nan" not in html.lower()


def test_a_line_judged_twice_fails_the_gx_check_and_is_listed(demo, tmp_path):
    """The judged_once suite: a bitmap of source rows proves a month has no line twice; a copied line (or a line
    without a row number) makes the frame list what is there twice, and the GX check fails on it."""
    import shutil

    import duckdb

    from claimrecon import controls

    db = tmp_path / "w.duckdb"
    shutil.copyfile(demo["warehouse"], db)
    period = demo["periods"][0]
    with duckdb.connect(str(db)) as con:
        assert controls._judged_once(con, period)
        ok = {r.suite: r for r in controls.run(con, period, tmp_path / "ok" / "data_docs")}
        assert ok["judged_once"].success and ok["judged_once"].checks[0]["rows"] == 0
        src, row = con.execute("SELECT source_file, max(source_row) FROM claim_outcomes WHERE period = ? "
                               "AND row_type = 'line' GROUP BY 1 ORDER BY 1 LIMIT 1", [period]).fetchall()[0]
        con.execute("INSERT INTO claim_outcomes SELECT * FROM claim_outcomes WHERE period = ? AND source_file = ? "
                    "AND source_row = ? AND row_type = 'line'", [period, src, row])
        assert not controls._judged_once(con, period)
        bad = {r.suite: r for r in controls.run(con, period, tmp_path / "bad" / "data_docs")}
        frame = controls._frames(con, period)["judged_once"]
        con.execute("DELETE FROM claim_outcomes WHERE period = ? AND source_file = ? AND source_row = ?",
                    [period, src, row])
        assert controls._judged_once(con, period)  # the copy and its original both gone: nothing twice
        con.execute("UPDATE claim_outcomes SET source_row = NULL WHERE period = ? AND source_row = "
                    "(SELECT min(source_row) FROM claim_outcomes WHERE period = ?)", [period, period])
        assert not controls._judged_once(con, period)  # not provable by the bitmap: the frame is grouped instead
    assert not bad["judged_once"].success and bad["judged_once"].checks[0]["rows"] == 1
    assert frame.to_dict("records") == [{"source_file": src, "source_row": row, "row_type": "line", "times": 2}]
