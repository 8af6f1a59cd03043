"""The claims ledger: one self-contained HTML page, Markdown and JSON from a set of verdicts.

The three carry the same content:

1. an overview — per paper and per tag, claims counted by status (verified at spec size, at
   reduced size only, inconclusive, refuted, error, not run), the run's time, hardware, commit and seed;
2. the claims not verified (refuted, inconclusive, error), each with its measured value and the reason, and the
   spec-size records (:mod:`proofs_checks.records`) that are not verified;
3. one compact table of every claim (id, tag, status, headline measured vs expected, sizes, controls),
   filterable by paper and status in the HTML page;
4. per paper (source, numbers out of reach) and per claim: statement, tag and what the tag
   obliges us to say, sizes, every comparison with its tolerance and justification, its negative
   controls ("fails as it should on: <comparison> (<control>: <why>)", a control that did not fail
   marked as a defect of the check, or "controls not run" for a run without ``--controls``), and the
   figures that illustrate it, inline with their captions.

The overview also counts the controls run, those that failed as they should, and the defects.

Formulas are LaTeX in the catalog; the HTML page renders them as MathML (``latex2mathml``, offline),
never as raw ``$...$``. Figures are found through their JSON sidecars in the figures folder (their
claim ids), so the ledger needs no figure code, and are embedded in the page (data URIs) so the
file works alone.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numerics.cache import atomic_write_text
from proofs_checks.claims import TAG_NOTES, TAGS, load_catalog, papers
from proofs_checks.evidence import (
    BASES,
    STATUSES,
    Comparison,
    control_from_json,
    describe_failure,
    format_value,
    status_summary,
)
from proofs_checks.records import load_records, record_state

STATUS_GROUPS = (
    ("verified", "verified at spec size"),
    ("verified-reduced", "at reduced size only"),
    ("inconclusive", "inconclusive (not shown)"),
    ("refuted", "refuted"),
    ("error", "error"),
    ("not-run", "not run"),
)
NOT_VERIFIED = ("inconclusive", "refuted", "error")
CONTROLS_NOT_RUN = "controls not run (memgen verify --controls runs them)"
MATH = re.compile(r"\$([^$]+)\$")


# ------------------------------------------------------------------------------------- building
def _figures_by_claim(fig_dir: Path | None) -> dict[str, list[dict[str, Any]]]:
    """Claim id -> figures (id, title, caption, PNG path) from the sidecars in ``fig_dir``."""
    out: dict[str, list[dict[str, Any]]] = {}
    if fig_dir is None or not Path(fig_dir).is_dir():
        return out
    for side in sorted(Path(fig_dir).glob("*.json")):
        try:
            meta = json.loads(side.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(meta, dict) or "id" not in meta:
            continue
        png = side.with_suffix(".png")
        fig = {
            "id": meta["id"],
            "title": meta.get("title", ""),
            "caption": meta.get("caption", ""),
            "png": png if png.exists() else None,
        }
        for cid in meta.get("claims", []):
            out.setdefault(cid, []).append(fig)
    return out


def group_of(status: str) -> str:
    """The overview column of a status (every status has its own)."""
    return status


def build_ledger(
    verdicts: list[dict[str, Any]], fig_dir: Path | None = None, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Combine verdict JSON records with the catalog into the ledger data structure."""
    by_id = {v["id"]: v for v in verdicts}
    figs = _figures_by_claim(fig_dir)
    load_catalog()
    recs = load_records([c.id for p in papers() for c in p.claims])
    out_papers = []
    all_counts: Counter = Counter()
    tag_counts: dict[str, Counter] = {t: Counter() for t in TAGS}
    total = 0
    for paper in papers():
        rows = []
        for c in paper.claims:
            v = by_id.get(c.id)
            status = "not-run" if v is None else v.get("status", "error")
            rec = recs.get(c.id)
            rows.append(
                {
                    "claim": c,
                    "verdict": v,
                    "status": status,
                    "figures": figs.get(c.id, []),
                    "spec_record": rec if isinstance(rec, dict) else None,
                    "record_state": record_state(rec, v, meta or {}),
                }
            )
            tag_counts[c.tag][status] += 1
        counts = Counter(r["status"] for r in rows)
        not_reproduced = [
            {"claim": r["claim"].id, "status": r["status"], "text": _failing_line(r["verdict"])}
            for r in rows
            if r["status"] in NOT_VERIFIED and r["verdict"] is not None
        ]
        not_reproduced += [
            {
                "claim": r["claim"].id,
                "status": f"spec-size record {r['spec_record']['status']} ({r['spec_record']['date'][:10]})",
                "text": _failing_line(r["spec_record"]),
            }
            for r in rows
            if r["spec_record"] is not None and r["spec_record"]["status"] in NOT_VERIFIED
        ]
        known = {f.claim_id: f for f in paper.known_failures}
        for item in not_reproduced:
            if item["claim"] in known and item["status"] in NOT_VERIFIED:  # the run's verdict, not a study
                item["text"] += f" — recorded: {known[item['claim']].summary}"
        not_reproduced += [{"claim": "", "status": "finding", "text": t} for t in paper.not_reproduced]
        all_counts += counts
        total += len(rows)
        out_papers.append(
            {
                "paper": paper.id,
                "record": paper,
                "rows": rows,
                "counts": counts,
                "total": len(rows),
                "summary": status_summary(counts, len(rows)),
                "not_reproduced": not_reproduced,
                "seconds": sum(r["verdict"]["seconds"] for r in rows if r["verdict"]),
            }
        )
    ledger = {
        "papers": out_papers,
        "counts": all_counts,
        "by_tag": tag_counts,
        "total": total,
        "summary": status_summary(all_counts, total),
        "meta": meta or {},
    }
    ledger["controls"] = controls_overview(ledger)
    ledger["records"] = Counter(r["record_state"].state for p in out_papers for r in p["rows"])
    return ledger


def records_summary(ledger: dict[str, Any]) -> str:
    """One line: how many claims have a spec-size record, and how many of those this run finds current."""
    n = ledger["records"]
    have = ledger["total"] - n["none"]
    parts = [f"{n[s]} {s}" for s in ("current", "stale", "not comparable", "unusable") if n[s]]
    return (
        f"spec-size records: {have} of {ledger['total']} claims"
        + (f" ({', '.join(parts)})" if parts else "")
        + ("; current = this run measured the record's values again, stale = some moved" if have else "")
    )


def record_lines(r: dict[str, Any]) -> list[str]:
    """The spec-size record of one ledger row in words (Markdown): verdict, headline, when, where, current or not."""
    state, rec = r["record_state"], r["spec_record"]
    if rec is None:
        return [f"Spec-size record: {state.text()}."]
    m, e, tol = headline(rec)
    mach = rec["machine"]
    ahead = sum(rec.get("prerequisite_seconds", {}).values())
    lines = [
        f"Spec-size record: **{rec['status']}**, headline measured {m}, expected {e} ({tol}); sizes "
        f"{sizes_text(rec)}; seed `{rec['seed']}`; measured {rec['date']} at commit `{rec['commit'][:12]}` on "
        f"{mach['cpu']} ×{mach['cpus']} ({mach['device']}, {mach['workers']} workers), {rec['seconds']:.0f} s"
        + (f" (+{ahead:.0f} s of training run ahead)" if ahead else "")
        + f". This run: {state.state}"
        + (f" ({state.note})" if state.note else "")
        + "."
    ]
    if state.moved:
        lines.append(f"Moved since the record: {', '.join(f'`{x}`' for x in state.moved)}.")
    failing = [c for c in rec["comparisons"] if c["asserted"] and not c["passed"]]
    for c in failing:
        test = c.get("test") or {}
        p, n, need = test.get("p"), test.get("n"), test.get("seeds_for_power")
        lines.append(
            f"At spec size `{c['name']}` fails: measured {format_value(c['measured'])}, expected "
            f"{format_value(c['expected'])} ({c['tolerance']})"
            + (f", p = {p:.3g} over {n} seeds" if isinstance(p, float) else "")
            + (f"; the measured effect would need {need} seeds for power {test.get('power_target')}" if need else "")
            + "."
        )
    return lines


@dataclass(frozen=True)
class ControlLine:
    """One control of a claim as the ledger shows it: its name, whether it failed as it should, in words."""

    name: str
    ok: bool
    text: str


def control_lines(v: dict[str, Any] | None) -> list[ControlLine] | None:
    """The claim's controls as ledger lines, in declaration order; ``None`` when they were not run."""
    if not v or v.get("controls") is None:
        return None
    out = []
    for name, rec in v["controls"].items():
        c = control_from_json(rec)
        out.append(ControlLine(name, c.fails_as_it_should, c.describe(name)))
    return out


def controls_cell(v: dict[str, Any] | None) -> tuple[str, bool]:
    """The claim's controls in the table of every claim: how many fail as they should, and whether all do."""
    lines = control_lines(v)
    if lines is None:
        return "not run", True
    bad = [x.name for x in lines if not x.ok]
    if bad:
        return f"{len(bad)} of {len(lines)} do NOT fail: {', '.join(bad)}", False
    return f"{len(lines)} of {len(lines)} fail as they should", True


def controls_overview(ledger: dict[str, Any]) -> dict[str, Any]:
    """Controls run, failing as they should, and the defects (claim id, control name), over the claims run."""
    run, ok, defects, not_run = 0, 0, [], 0
    for p in ledger["papers"]:
        for r in p["rows"]:
            if r["verdict"] is None:
                continue
            lines = control_lines(r["verdict"])
            if lines is None:
                not_run += 1
                continue
            run += len(lines)
            ok += sum(x.ok for x in lines)
            defects += [[r["claim"].id, x.name] for x in lines if not x.ok]
    return {"run": run, "fail_as_they_should": ok, "defects": defects, "claims_not_run": not_run}


def controls_summary(ledger: dict[str, Any]) -> str:
    """The overview's line about the negative controls."""
    c = ledger["controls"]
    text = f"Negative controls: {c['run']} run, {c['fail_as_they_should']} fail on the comparison they name"
    if c["defects"]:
        text += (
            f"; {len(c['defects'])} do NOT (defects of the check: "
            + ", ".join(f"{cid} {name}" for cid, name in c["defects"])
            + ")"
        )
    if c["claims_not_run"]:
        text += f"; not run for {c['claims_not_run']} claims (memgen verify --controls runs them)"
    return text + "."


def _comparison(c: dict[str, Any]) -> Comparison:
    return Comparison(**{k: v for k, v in c.items() if k in Comparison.__dataclass_fields__})


def _failing_line(v: dict[str, Any]) -> str:
    if v.get("error"):
        return "error: " + v["error"].strip().splitlines()[0]
    bad = [_comparison(c) for c in v.get("comparisons", []) if c["asserted"] and not c["passed"]]
    return "; ".join(describe_failure(c) for c in bad)


def _test_text(c: dict[str, Any]) -> str:
    """p, level, effect and interval of an ordering (empty for other comparisons)."""
    t = c.get("test")
    if not t:
        return ""
    if t.get("kind") == "interval":
        return f"95% interval [{format_value(t['ci95'][0])}, {format_value(t['ci95'][1])}]"
    text = (
        f"paired t over {t['n']} seeds: t = {format_value(t['t'])}, p = {format_value(t['p'])} "
        f"(Holm level {format_value(t.get('level'))}), mean {format_value(t['mean'])} "
        f"[95% CI {format_value(t['ci95'][0])}, {format_value(t['ci95'][1])}], d_z = {format_value(t['effect_size'])}"
    )
    if t.get("seeds_for_power"):
        text += f"; {t['seeds_for_power']} seeds would give power {t.get('power_target', 0.9):g}"
    return text


def headline(v: dict[str, Any] | None) -> tuple[str, str, str]:
    """Measured, expected and tolerance of a verdict's headline comparison (the number the claim is about)."""
    if not v or not v.get("headline"):
        return "-", "-", "-"
    h = v["headline"]
    return format_value(h["measured"]), format_value(h["expected"]), str(h["tolerance"])


def sizes_text(v: dict[str, Any] | None) -> str:
    """``spec sizes``, or the sizes short of the spec with the spec's values."""
    if not v or not v.get("sizes"):
        return "-"
    short = v.get("short_of_spec") or []
    if not short:
        return "spec sizes"
    parts = []
    for k in short:
        ran, spec = _dotted(v["sizes"], k), _dotted(v.get("spec_sizes", {}), k)
        parts.append(f"{k} {format_value(ran)} (spec {format_value(spec)})")
    return "reduced: " + ", ".join(parts)


def _dotted(d: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(d, dict) or part not in d:
            return "?"
        d = d[part]
    return d


def _comparison_rows(v: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for c in v.get("comparisons", []):
        flag = ("pass" if c["passed"] else "FAIL") if c["asserted"] else "reported"
        basis = c.get("basis") or "-"
        if c.get("role") == "precondition":
            basis += " (precondition)"
        why = "; ".join(x for x in (c["justification"], _test_text(c)) if x)
        rows.append(
            (c["name"], format_value(c["measured"]), format_value(c["expected"]), str(c["tolerance"]), basis, why, flag)
        )
    return rows


def _meta_line(meta: dict[str, Any]) -> str:
    hw = meta.get("hardware", {})
    seed = meta.get("seed")
    parts = [
        f"tier {meta.get('tier', '?')}",
        f"seed {seed if seed is not None else 'spec seeds'}",
        f"commit {meta.get('commit', '?')}",
        f"version {meta.get('version', '?')}",
    ]
    if meta.get("seconds") is not None:
        parts.append(f"{meta['seconds']:.0f} s of checks")
    if hw:
        gpu = f", GPU {hw['gpu']}" if hw.get("gpu") else ", no GPU"
        parts.append(f"{hw.get('cpu', '?')} ×{hw.get('cpus', '?')}{gpu}")
    if meta.get("started"):
        parts.append(f"started {meta['started']}")
    return "; ".join(parts)


def _overview_rows(ledger: dict[str, Any]) -> list[tuple[str, Counter, int, float | None]]:
    """(label, counts by overview column, total, seconds) per paper, then per tag."""
    rows = []
    for p in ledger["papers"]:
        rows.append((p["paper"], Counter(group_of(r["status"]) for r in p["rows"]), p["total"], p["seconds"]))
    for t in TAGS:
        g: Counter = Counter()
        for s, n in ledger["by_tag"][t].items():
            g[group_of(s)] += n
        rows.append((f"[{t}]", g, sum(g.values()), None))
    return rows


# ------------------------------------------------------------------------------------- Markdown
def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def ledger_markdown(ledger: dict[str, Any]) -> str:
    lines = ["# memgen claims ledger", "", f"**{ledger['summary']}**", ""]
    if ledger["meta"]:
        lines += [f"Run: {_meta_line(ledger['meta'])}.", ""]
    lines += ["## Overview", "", "| | " + " | ".join(label for _, label in STATUS_GROUPS) + " | total |"]
    lines.append("|---" * (len(STATUS_GROUPS) + 2) + "|")
    for label, g, total, _ in _overview_rows(ledger):
        lines.append(f"| {label} | " + " | ".join(str(g[k]) for k, _ in STATUS_GROUPS) + f" | {total} |")
    lines += ["", f"**{controls_summary(ledger)}**" if ledger["controls"]["defects"] else controls_summary(ledger), ""]
    lines += [records_summary(ledger), ""]
    lines += ["Every tolerance names its basis: " + "; ".join(f"**{k}**, {v}" for k, v in BASES.items()) + ".", ""]
    failing = [(p["paper"], x) for p in ledger["papers"] for x in p["not_reproduced"]]
    if failing:
        lines += ["## Not verified: refuted, not shown, recorded findings", ""]
        lines += [f"- **{x['claim'] or paper}** ({x['status']}): {x['text']}" for paper, x in failing]
        lines.append("")
    lines += [
        "## All claims",
        "",
        "| claim | tag | status | measured | expected | tolerance | sizes | controls | spec record |",
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for p in ledger["papers"]:
        for r in p["rows"]:
            m, e, tol = headline(r["verdict"])
            lines.append(
                f"| `{r['claim'].id}` | [{r['claim'].tag}] | {r['status']} | {_md_escape(m)} | {_md_escape(e)} "
                f"| {_md_escape(tol)} | {_md_escape(sizes_text(r['verdict']))} | {_controls_md_cell(r['verdict'])} "
                f"| {_md_escape(r['record_state'].text())} |"
            )
    lines.append("")
    for p in ledger["papers"]:
        rec = p["record"]
        lines += [f"## {rec.title}", "", f"**{p['summary']}**", "", f"_Source_: {rec.source_note}", ""]
        if rec.out_of_reach:
            lines += [rec.out_of_reach, ""]
        for r in p["rows"]:
            c, v = r["claim"], r["verdict"]
            lines += [f"### `{c.id}` — {r['status']}", "", c.statement, "", f"Tag [{c.tag}]: {TAG_NOTES[c.tag]}."]
            if v:
                m, e, tol = headline(v)
                lines += ["", f"Headline: measured {m}, expected {e} ({tol}).", ""]
                lines += [f"Sizes: {sizes_text(v)} ({v.get('spec_section') or 'no spec section'}).", ""]
                lines += [f"Expected values from: {v['source']}. Seed: `{v['seed']}`.", ""]
                if v.get("error"):
                    lines += ["```", v["error"].strip(), "```", ""]
                cmp_rows = _comparison_rows(v)
                if cmp_rows:
                    lines += [
                        "| comparison | measured | expected | tolerance | basis | why | result |",
                        "|---|---|---|---|---|---|---|",
                    ]
                    lines += ["| " + " | ".join(_md_escape(x) for x in row) + " |" for row in cmp_rows]
                lines += ["", *_controls_markdown(v)]
            lines += ["", *record_lines(r)]
            for fig in r["figures"]:
                lines += ["", f"Figure `{fig['id']}`: {fig['title']}. {fig['caption']}"]
            lines.append("")
    return "\n".join(lines) + "\n"


def _controls_md_cell(v: dict[str, Any] | None) -> str:
    if v is None:
        return "-"
    text, ok = controls_cell(v)
    return _md_escape(text) if ok else f"**✗ {_md_escape(text)}**"


def _controls_markdown(v: dict[str, Any]) -> list[str]:
    """``Controls:`` and one line per control; a control that did not fail in bold, marked ✗."""
    lines = control_lines(v)
    if lines is None:
        return [f"Controls: {CONTROLS_NOT_RUN}."]
    return ["Controls:", ""] + [f"- {x.text}" if x.ok else f"- **✗ {x.text}**" for x in lines]


# ------------------------------------------------------------------------------------- HTML
def math_html(text: str) -> str:
    """HTML-escape ``text`` and render its ``$...$`` segments as MathML (offline)."""
    from latex2mathml.converter import convert

    out, last = [], 0
    for m in MATH.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        try:
            out.append(convert(m.group(1)))
        except Exception:  # a formula the converter cannot read is shown as code, never as raw $...$
            out.append(f"<code class='tex'>{html.escape(m.group(1))}</code>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _inline_markdown(text: str) -> str:
    """Bold and code spans of the catalog's notes, after escaping and math."""
    s = math_html(text)
    s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", s)


def markdown_block_html(text: str) -> str:
    """The small Markdown of the catalog's notes (paragraphs and pipe tables) as HTML."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = [ln for ln in block.splitlines() if ln.strip()]
        if len(rows) >= 2 and all(ln.strip().startswith("|") for ln in rows):
            cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in rows]
            body = [r for r in cells[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            out.append("<table><tr>" + "".join(f"<th>{_inline_markdown(c)}</th>" for c in cells[0]) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{_inline_markdown(c)}</td>" for c in r) + "</tr>" for r in body]
            out.append("</table>")
        else:
            out.append(f"<p>{_inline_markdown(' '.join(rows))}</p>")
    return "\n".join(out)


def _anchor(claim_id: str) -> str:
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", claim_id)


def _img(fig: dict[str, Any]) -> str:
    e = html.escape
    if fig["png"] is None:
        return f"<p class='muted'>Figure <code>{e(fig['id'])}</code> not drawn.</p>"
    data = base64.b64encode(Path(fig["png"]).read_bytes()).decode()
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{e(fig['id'])}'>"
        f"<figcaption><code>{e(fig['id'])}</code> — {math_html(fig['title'])}. {math_html(fig['caption'])}"
        "</figcaption></figure>"
    )


CSS = """
body{font-family:system-ui,sans-serif;max-width:78em;margin:auto;padding:0 1em;line-height:1.4;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%;vertical-align:top}
th{background:#f3f3f3}.verified{color:#070}.verified-reduced{color:#a60}.inconclusive{color:#a0a}.refuted,.error,.FAIL{color:#b00}
.not-run,.muted,.finding{color:#777}.pass{color:#070}code{font-size:90%}img{max-width:100%}figure{margin:1em 0}
figcaption{font-size:90%;color:#444}section.claim{border-top:1px solid #ddd;margin-top:1.2em}
.control-defect{color:#b00;font-weight:bold}.control-ok{color:#070}
.filters{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ddd}
"""

JS = """
function applyFilters(){
  const p=document.getElementById('f-paper').value, s=document.getElementById('f-status').value;
  document.querySelectorAll('[data-paper]').forEach(el=>{
    const ok=(!p||el.dataset.paper===p)&&(!s||!el.dataset.group||el.dataset.group===s);
    el.style.display=ok?'':'none';});
}
"""


def _overview_html(ledger: dict[str, Any]) -> list[str]:
    e = html.escape
    out = ["<h2 id='overview'>Overview</h2><table id='overview-table'><tr><th></th>"]
    out += [f"<th>{e(label)}</th>" for _, label in STATUS_GROUPS] + ["<th>total</th><th>seconds</th></tr>"]
    for label, g, total, seconds in _overview_rows(ledger):
        attr = "" if label.startswith("[") else f" data-overview-paper='{e(label)}'"
        out.append(f"<tr{attr}><th>{e(label)}</th>")
        out += [f"<td class='{k}' data-count='{k}'>{g[k]}</td>" for k, _ in STATUS_GROUPS]
        out.append(f"<td>{total}</td><td>{'' if seconds is None else f'{seconds:.0f}'}</td></tr>")
    out.append("</table>")
    return out


def _claim_html(paper: str, r: dict[str, Any]) -> list[str]:
    e = html.escape
    c, v = r["claim"], r["verdict"]
    out = [
        f"<section class='claim' id='{_anchor(c.id)}' data-paper='{e(paper)}' data-group='{group_of(r['status'])}'>",
        f"<h3><code>{e(c.id)}</code> — <span class='{e(r['status'])}'>{e(r['status'])}</span></h3>",
        f"<p>{math_html(c.statement)}</p><p class='muted'>Tag [{e(c.tag)}]: {e(TAG_NOTES[c.tag])}.</p>",
    ]
    if v:
        m, x, tol = headline(v)
        host = v.get("where", {}).get("host")
        out.append(f"<p><b>Headline:</b> measured {e(m)}, expected {e(x)} ({e(tol)}).</p>")
        out.append(
            f"<p>Sizes: {e(sizes_text(v))} ({e(v.get('spec_section') or 'no spec section')}). "
            f"Expected values from: {math_html(str(v['source']))}. Seed: <code>{e(str(v['seed']))}</code>. "
            f"{v['seconds']:.1f} s" + (f" on {e(str(host))}" if host else "") + ".</p>"
        )
        if v.get("error"):
            out.append(f"<pre class='error'>{e(v['error'])}</pre>")
        rows = _comparison_rows(v)
        if rows:
            out.append(
                "<table><tr><th>comparison</th><th>measured</th><th>expected</th><th>tolerance</th>"
                "<th>basis</th><th>why</th><th>result</th></tr>"
            )
            for row in rows:
                cells = "".join(f"<td>{math_html(x)}</td>" for x in row[:-1])
                out.append(f"<tr>{cells}<td class='{e(row[-1])}'>{e(row[-1])}</td></tr>")
            out.append("</table>")
        out += _controls_html(v)
    out += [f"<p class='record'>{_inline_markdown(line)}</p>" for line in record_lines(r)]
    out += [_img(f) for f in r["figures"]]
    out.append("</section>")
    return out


def _controls_td(v: dict[str, Any] | None) -> str:
    if v is None:
        return "<td>-</td>"
    text, ok = controls_cell(v)
    cls = "muted" if v.get("controls") is None else ("control-ok" if ok else "control-defect")
    return f"<td class='{cls}'>{html.escape(text)}</td>"


def _controls_html(v: dict[str, Any]) -> list[str]:
    """The claim's controls: one line each, green when it failed as it should, red when it did not."""
    e = html.escape
    lines = control_lines(v)
    if lines is None:
        return [f"<p class='controls muted'>Controls: {e(CONTROLS_NOT_RUN)}.</p>"]
    out = ["<p class='controls'>Controls:</p><ul class='controls'>"]
    for x in lines:
        cls = "control-ok" if x.ok else "control-defect"
        out.append(
            f"<li class='{cls}' data-control='{e(x.name)}'>{'' if x.ok else '✗ '}{_inline_markdown(x.text)}</li>"
        )
    out.append("</ul>")
    return out


def ledger_html(ledger: dict[str, Any]) -> str:
    e = html.escape
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>memgen claims ledger</title>",
        f"<style>{CSS}</style><script>{JS}</script></head><body>",
        "<h1>memgen claims ledger</h1>",
        f"<p id='summary'><b>{e(ledger['summary'])}</b></p>",
    ]
    if ledger["meta"]:
        out.append(f"<p class='muted' id='run'>Run: {e(_meta_line(ledger['meta']))}.</p>")
    out += _overview_html(ledger)
    cls = " class='control-defect'" if ledger["controls"]["defects"] else ""
    out.append(f"<p id='controls-overview'{cls}>{e(controls_summary(ledger))}</p>")
    out.append(f"<p id='records-overview'>{e(records_summary(ledger))}</p>")
    out.append(
        "<p id='bases'>Every tolerance names its basis: "
        + "; ".join(f"<b>{e(k)}</b>, {e(v)}" for k, v in BASES.items())
        + ". An ordering over training seeds is a one-sided paired t-test, Holm over the claim's orderings at "
        "family-wise α = 0.01; <span class='inconclusive'>inconclusive</span> means not shown at the sizes run "
        "(with the seeds its effect would need), <span class='refuted'>refuted</span> means shown false.</p>"
    )
    failing = [(p["paper"], x) for p in ledger["papers"] for x in p["not_reproduced"]]
    out.append("<h2 id='failing'>Not verified: refuted, not shown, recorded findings</h2>")
    if failing:
        out.append("<ul>")
        for paper, x in failing:
            link = f"<a href='#{_anchor(x['claim'])}'><code>{e(x['claim'])}</code></a>" if x["claim"] else e(paper)
            out.append(f"<li>{link} ({e(x['status'])}): {math_html(x['text'])}</li>")
        out.append("</ul>")
    else:
        out.append("<p>None.</p>")
    out.append(
        "<h2 id='claims'>All claims</h2><div class='filters'>Paper <select id='f-paper' onchange='applyFilters()'>"
    )
    out.append("<option value=''>all</option>" + "".join(f"<option>{e(p['paper'])}</option>" for p in ledger["papers"]))
    out.append("</select> Status <select id='f-status' onchange='applyFilters()'><option value=''>all</option>")
    out.append("".join(f"<option value='{k}'>{e(label)}</option>" for k, label in STATUS_GROUPS) + "</select></div>")
    out.append(
        "<table id='claims-table'><tr><th>claim</th><th>tag</th><th>status</th><th>measured</th><th>expected</th>"
        "<th>tolerance</th><th>sizes</th><th>controls</th><th>spec record</th></tr>"
    )
    for p in ledger["papers"]:
        for r in p["rows"]:
            m, x, tol = headline(r["verdict"])
            cid = r["claim"].id
            out.append(
                f"<tr data-paper='{e(p['paper'])}' data-group='{group_of(r['status'])}' data-status='{e(r['status'])}'>"
                f"<td><a href='#{_anchor(cid)}'><code>{e(cid)}</code></a></td><td>[{e(r['claim'].tag)}]</td>"
                f"<td class='{e(r['status'])}'>{e(r['status'])}</td><td>{e(m)}</td><td>{e(x)}</td><td>{e(tol)}</td>"
                f"<td>{e(sizes_text(r['verdict']))}</td>{_controls_td(r['verdict'])}"
                f"<td class='record-{e(r['record_state'].state.replace(' ', '-'))}'>{e(r['record_state'].text())}</td></tr>"
            )
    out.append("</table>")
    for p in ledger["papers"]:
        rec = p["record"]
        out.append(f"<div data-paper='{e(p['paper'])}'><h2>{e(rec.title)}</h2><p><b>{e(p['summary'])}</b></p>")
        out.append(f"<p><i>Source:</i> {_inline_markdown(rec.source_note)}</p>")
        if rec.out_of_reach:
            out.append(markdown_block_html(rec.out_of_reach))
        out.append("</div>")
        for r in p["rows"]:
            out += _claim_html(p["paper"], r)
    out.append("</body></html>")
    return "\n".join(out)


# ------------------------------------------------------------------------------------- JSON
def ledger_json(ledger: dict[str, Any], verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """The ledger's content as data: the same overview, lists and per-claim headlines as the pages."""
    return {
        "summary": ledger["summary"],
        "meta": ledger["meta"],
        "counts": {s: ledger["counts"][s] for s in STATUSES},
        "by_tag": {t: {s: ledger["by_tag"][t][s] for s in STATUSES} for t in TAGS},
        "controls": ledger["controls"],
        "papers": {
            p["paper"]: {
                "title": p["record"].title,
                "counts": {s: p["counts"][s] for s in STATUSES},
                "total": p["total"],
                "seconds": p["seconds"],
                "summary": p["summary"],
                "not_reproduced": p["not_reproduced"],
                "claims": [
                    {
                        "id": r["claim"].id,
                        "tag": r["claim"].tag,
                        "status": r["status"],
                        "headline": dict(zip(("measured", "expected", "tolerance"), headline(r["verdict"]))),
                        "sizes": sizes_text(r["verdict"]),
                        "controls": None if r["verdict"] is None else r["verdict"].get("controls"),
                        "figures": [f["id"] for f in r["figures"]],
                        "spec_record": r["record_state"].to_json(),
                    }
                    for r in p["rows"]
                ],
            }
            for p in ledger["papers"]
        },
        "claims": verdicts,
    }


def write_ledger(
    verdicts: list[dict[str, Any]], out_dir: Path, fig_dir: Path | None = None, meta: dict[str, Any] | None = None
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write ``ledger.md``, ``ledger.html`` and ``ledger.json`` under ``out_dir``; returns the paths and the ledger."""
    out_dir = Path(out_dir)
    ledger = build_ledger(verdicts, fig_dir, meta)
    paths = {"md": out_dir / "ledger.md", "html": out_dir / "ledger.html", "json": out_dir / "ledger.json"}
    atomic_write_text(paths["md"], ledger_markdown(ledger))
    atomic_write_text(paths["html"], ledger_html(ledger))
    atomic_write_text(paths["json"], json.dumps(ledger_json(ledger, verdicts), indent=2))
    return paths, ledger
