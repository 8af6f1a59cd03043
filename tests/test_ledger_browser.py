"""The HTML ledger as a researcher opens it: rendered by headless Chromium.

Every image loads, no raw LaTeX remains, MathML is present, the overview counts equal the JSON
ledger's, and the status filter hides what it should. Skipped (with the reason) where no Chromium
is installed; CI installs Debian's ``chromium``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from proofs_checks.cli import main
from proofs_checks.report import STATUS_GROUPS, group_of

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")

PROBE = """
<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const text = document.body.innerText;
  const counts = {};
  document.querySelectorAll('[data-overview-paper]').forEach(row => {
    counts[row.dataset.overviewPaper] = {};
    row.querySelectorAll('[data-count]').forEach(td => counts[row.dataset.overviewPaper][td.dataset.count] = +td.textContent);
  });
  document.getElementById('f-status').value = 'verified';
  applyFilters();
  const shown = [...document.querySelectorAll('#claims-table tr[data-paper]')].filter(r => r.style.display !== 'none');
  const r = {images: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
             math: document.getElementsByTagName('math').length, dollars: (text.match(/\\$/g) || []).length,
             counts: counts, shownVerified: shown.length,
             shownStatuses: [...new Set(shown.map(r => r.dataset.status))]};
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>
"""


def _figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = tmp_path / "figs"
    figs.mkdir()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    fig.savefig(figs / "common__fig-test.png")
    plt.close(fig)
    sidecar = {
        "id": "common/fig-test",
        "title": "a test $x^2$",
        "caption": "caption",
        "claims": ["common/gaussian-kl-closed-form"],
    }
    (figs / "common__fig-test.json").write_text(json.dumps(sidecar))
    return figs


def test_ledger_renders_in_chromium(tmp_path):
    js = tmp_path / "v.json"
    ids = ["common/gaussian-kl-closed-form", "common/gaussian-w2-closed-form", "common/gaussian-kl-zero-iff-equal"]
    assert main(["verify", *ids, "--json", str(js), "--figures-dir", str(tmp_path / "none")]) == 0
    rep = tmp_path / "rep"
    assert main(["report", "--from", str(js), "--out", str(rep), "--figures-dir", str(_figure(tmp_path))]) == 0
    page = (rep / "ledger.html").read_text()
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", PROBE + "</body>"))
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe_page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout, re.S)
    assert m, f"no probe result; chromium stderr: {out.stderr[-2000:]}"
    r = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert r["images"] >= 1 and r["broken"] == 0
    assert r["math"] > 20, "statements with formulas must render as MathML"
    assert r["dollars"] == 0, "raw LaTeX ($...$) left on the page"
    ledger = json.loads((rep / "ledger.json").read_text())
    for paper, rec in ledger["papers"].items():
        expected = {k: 0 for k, _ in STATUS_GROUPS}
        for c in rec["claims"]:
            expected[group_of(c["status"])] += 1
        assert r["counts"][paper] == expected, paper
    assert r["shownVerified"] == 3 and r["shownStatuses"] == ["verified"]
