"""The claims ledger: Markdown, HTML and JSON from a set of verdicts.

Per paper, every claim with its statement, tag (and what the tag obliges us to say), kinds, status
(verified at spec size, at reduced size only, failing, not run), the sizes it ran at, measured vs
expected values with tolerances, and the figures that illustrate it; summary lines count claims
by status per paper and per tag, and a "not reproduced" list gives each failing claim and each
recorded finding with its measured values. Figures are found through their JSON sidecars in the
figures folder (their claim ids), so the ledger needs no figure code.
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from numerics.cache import atomic_write_text
from proofs_checks.claims import TAG_NOTES, TAGS, papers
from proofs_checks.evidence import FAILING, STATUSES, format_value


def _figures_by_claim(fig_dir: Path | None, rel_to: Path | None = None) -> dict[str, list[tuple[str, str | None]]]:
    """Claim id -> [(figure id, png path relative to ``rel_to``)] from the sidecars in ``fig_dir``."""
    out: dict[str, list[tuple[str, str | None]]] = {}
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
        rel = (os.path.relpath(png, rel_to) if rel_to is not None else str(png)) if png.exists() else None
        for cid in meta.get("claims", []):
            out.setdefault(cid, []).append((meta["id"], rel))
    return out


def status_summary(counts: Counter, total: int) -> str:
    failing = sum(counts[s] for s in FAILING)
    return (
        f"verified at spec size: {counts['verified']} of {total}; at reduced size only: "
        f"{counts['verified-reduced']}; failing: {failing}; not run: {counts['not-run-at-spec']}"
    )


def build_ledger(
    verdicts: list[dict[str, Any]], fig_dir: Path | None = None, rel_to: Path | None = None
) -> dict[str, Any]:
    """Combine verdict JSON records with the catalog into the ledger data structure."""
    by_id = {v["id"]: v for v in verdicts}
    figs = _figures_by_claim(fig_dir, rel_to)
    out_papers = []
    all_counts: Counter = Counter()
    total = 0
    for paper in papers():
        rows = []
        for c in paper.claims:
            v = by_id.get(c.id)
            status = "not-run-at-spec" if v is None else v.get("status", "fails")
            rows.append({"claim": c, "verdict": v, "status": status, "figures": figs.get(c.id, [])})
        counts = Counter(r["status"] for r in rows)
        by_tag = {t: Counter(r["status"] for r in rows if r["claim"].tag == t) for t in TAGS}
        not_reproduced = [
            f"`{r['claim'].id}` ({r['status']}): {_failing_line(r['verdict'])}"
            for r in rows
            if r["status"] in FAILING and r["verdict"] is not None
        ]
        not_reproduced += [f"`{f.claim_id}` at spec size: {f.summary}" for f in paper.findings]
        not_reproduced += list(paper.not_reproduced)
        all_counts += counts
        total += len(rows)
        out_papers.append(
            {
                "paper": paper.id,
                "record": paper,
                "rows": rows,
                "counts": counts,
                "by_tag": by_tag,
                "total": len(rows),
                "summary": status_summary(counts, len(rows)),
                "not_reproduced": not_reproduced,
            }
        )
    return {"papers": out_papers, "counts": all_counts, "total": total, "summary": status_summary(all_counts, total)}


def _failing_line(v: dict[str, Any]) -> str:
    if v.get("error"):
        return "error: " + v["error"].strip().splitlines()[0]
    bad = [c for c in v.get("comparisons", []) if c["asserted"] and not c["passed"]]
    if v.get("status") == "fails-at-spec" and v.get("spec_finding"):
        return "passes at reduced size; at spec size: " + v["spec_finding"]["summary"]
    return "; ".join(
        f"{c['name']}: measured {format_value(c['measured'])}, expected {format_value(c['expected'])} ({c['tolerance']})"
        for c in bad
    )


def _comparison_rows(v: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for c in v.get("comparisons", []):
        flag = ("pass" if c["passed"] else "FAIL") if c["asserted"] else "reported"
        rows.append(
            (
                c["name"],
                format_value(c["measured"]),
                format_value(c["expected"]),
                str(c["tolerance"]),
                c["justification"],
                flag,
            )
        )
    return rows


def _sizes_text(v: dict[str, Any]) -> str:
    if not v.get("sizes"):
        return "no sizes declared"
    short = v.get("short_of_spec") or []
    ran = json.dumps(v["sizes"], separators=(", ", "="))
    if not short:
        return f"ran at the spec's sizes {ran} ({v.get('spec_section', '')})"
    spec = json.dumps(v.get("spec_sizes", {}), separators=(", ", "="))
    return f"ran at {ran}; spec sizes {spec} ({v.get('spec_section', '')}); short of spec: {', '.join(short)}"


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def ledger_markdown(ledger: dict[str, Any]) -> str:
    lines = ["# memgen claims ledger", "", f"**{ledger['summary']}**", ""]
    for p in ledger["papers"]:
        rec = p["record"]
        tags = "; ".join(
            f"[{t}] {p['by_tag'][t]['verified']} of {sum(p['by_tag'][t].values())} at spec size"
            for t in TAGS
            if sum(p["by_tag"][t].values())
        )
        lines += [
            f"## {rec.title}",
            "",
            f"**{p['summary']}** (by tag: {tags}).",
            "",
            f"_Source_: {rec.source_note}",
            "",
        ]
        if rec.out_of_reach:
            lines += [rec.out_of_reach, ""]
        if p["not_reproduced"]:
            lines += ["**Failing / not reproduced:**", ""] + [f"- {x}" for x in p["not_reproduced"]] + [""]
        lines += ["| claim | tag | kind | status | seconds |", "|---|---|---|---|---|"]
        for r in p["rows"]:
            c, v = r["claim"], r["verdict"]
            secs = f"{v['seconds']:.2f}" if v else "-"
            lines.append(f"| `{c.id}` | [{c.tag}] | {' + '.join(c.kinds)} | {r['status']} | {secs} |")
        lines.append("")
        for r in p["rows"]:
            c, v = r["claim"], r["verdict"]
            lines += [f"### `{c.id}` — {r['status']}", "", c.statement, "", f"Tag [{c.tag}]: {TAG_NOTES[c.tag]}."]
            if v:
                lines += ["", f"Sizes: {_sizes_text(v)}.", ""]
                lines += [f"Expected values from: {v['source']}. Seed: `{v['seed']}`.", ""]
                if v.get("spec_finding"):
                    f = v["spec_finding"]
                    lines += [f"Recorded at spec size ({f['recorded']}): {f['summary']}", ""]
                if v.get("error"):
                    lines += ["```", v["error"].strip(), "```", ""]
                cmp_rows = _comparison_rows(v)
                if cmp_rows:
                    lines += [
                        "| comparison | measured | expected | tolerance | why | result |",
                        "|---|---|---|---|---|---|",
                    ]
                    lines += ["| " + " | ".join(_md_escape(x) for x in row) + " |" for row in cmp_rows]
            if r["figures"]:
                figs = ", ".join(f"[{fid}]({png})" if png else f"`{fid}` (not drawn)" for fid, png in r["figures"])
                lines += ["", f"Figures: {figs}"]
            lines.append("")
    lines.append("Summary: " + "; ".join(f"{p['paper']}: {p['summary']}" for p in ledger["papers"]))
    return "\n".join(lines) + "\n"


def ledger_html(ledger: dict[str, Any]) -> str:
    e = html.escape
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>memgen claims ledger</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}.fails,.fails-at-spec,.error,.FAIL{color:#b00}"
        ".verified,.pass{color:#070}.verified-reduced{color:#a60}img{max-width:45em}</style></head><body>"
        "<h1>memgen claims ledger</h1>",
        f"<p><b>{e(ledger['summary'])}</b></p>",
    ]
    for p in ledger["papers"]:
        rec = p["record"]
        out.append(f"<h2>{e(rec.title)}</h2><p><b>{e(p['summary'])}</b></p>")
        out.append(f"<p><i>Source:</i> {e(rec.source_note)}</p>")
        if rec.out_of_reach:
            out.append(f"<pre>{e(rec.out_of_reach)}</pre>")
        if p["not_reproduced"]:
            out.append("<p><b>Failing / not reproduced:</b></p><ul>")
            out += [f"<li>{e(x)}</li>" for x in p["not_reproduced"]]
            out.append("</ul>")
        for r in p["rows"]:
            c, v = r["claim"], r["verdict"]
            out.append(f"<h3><code>{e(c.id)}</code> — <span class='{e(r['status'])}'>{e(r['status'])}</span></h3>")
            out.append(f"<p>{e(c.statement)}</p><p>Tag [{e(c.tag)}]: {e(TAG_NOTES[c.tag])}.</p>")
            if v:
                out.append(f"<p>Sizes: {e(_sizes_text(v))}.</p>")
                out.append(
                    f"<p>Expected values from: {e(str(v['source']))}. Seed: <code>{e(str(v['seed']))}</code>.</p>"
                )
                if v.get("error"):
                    out.append(f"<pre class='error'>{e(v['error'])}</pre>")
                rows = _comparison_rows(v)
                if rows:
                    out.append(
                        "<table><tr><th>comparison</th><th>measured</th><th>expected</th><th>tolerance</th>"
                        "<th>why</th><th>result</th></tr>"
                    )
                    for row in rows:
                        cells = "".join(f"<td>{e(x)}</td>" for x in row[:-1])
                        out.append(f"<tr>{cells}<td class='{e(row[-1])}'>{e(row[-1])}</td></tr>")
                    out.append("</table>")
            for fid, png in r["figures"]:
                out.append(f"<p><img src='{e(png)}' alt='{e(fid)}'></p>" if png else f"<p>{e(fid)} (not drawn)</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_ledger(
    verdicts: list[dict[str, Any]], out_dir: Path, fig_dir: Path | None = None
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write ``ledger.md``, ``ledger.html`` and ``ledger.json`` under ``out_dir``; returns the paths and the ledger."""
    out_dir = Path(out_dir)
    ledger = build_ledger(verdicts, fig_dir, rel_to=out_dir.resolve())
    paths = {"md": out_dir / "ledger.md", "html": out_dir / "ledger.html", "json": out_dir / "ledger.json"}
    atomic_write_text(paths["md"], ledger_markdown(ledger))
    atomic_write_text(paths["html"], ledger_html(ledger))
    summary = {
        p["paper"]: {
            "counts": {s: p["counts"][s] for s in STATUSES},
            "total": p["total"],
            "by_tag": {t: dict(p["by_tag"][t]) for t in TAGS},
            "not_reproduced": p["not_reproduced"],
        }
        for p in ledger["papers"]
    }
    payload = {
        "summary": ledger["summary"],
        "counts": {s: ledger["counts"][s] for s in STATUSES},
        "papers": summary,
        "claims": verdicts,
    }
    atomic_write_text(paths["json"], json.dumps(payload, indent=2))
    return paths, ledger
