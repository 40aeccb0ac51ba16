"""The debugger page: one self-contained HTML file that steps through a recording.

On top, the test, the promise broken, what was observed, the trace, the replay
line (with a button that copies it) and the hint. Below, a step slider with
first / previous / next / last buttons (the left and right arrow keys, Home and
End do the same), the sequence diagram (one lifeline per actor, an arrow per
step, a red ✗ where a crash struck, a green ↻ where a component restarted), and
the state of the world after the current step as panels. The step at which the
violation became visible is marked in red, and the page opens on it.

Everything is inline: no network, no font, no CDN (a Content-Security-Policy
forbids any fetch). The recording travels as JSON in a
``<script type="application/json">``, with ``<``, ``>`` and ``&`` escaped so no
text can close it, and the script only ever sets text (``textContent``), never
markup: nothing a learner's code wrote or printed can run.

>>> from harness.debugger.recording import Recording
>>> from harness.timeline import Step
>>> page = page_html(Recording("demo", "t/-@s0", (Step(0.0, "a", "b", "</script>"),), ((),)))
>>> page.count("</script>")  # the recording's own, and the script's: the step's is escaped
2
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from harness.debugger.encoding import page_data
from harness.debugger.recording import Recording
from harness.debugger.script import SCRIPT

STYLE = """
:root { --bad: #c00; --ok: #0a7a33; --ink: #222; --muted: #666; --line: #ccc; --now: #fff1b8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--ink); background: #fafafa; }
header { padding: 12px 20px 8px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 17px; margin: 0 0 8px; }
dl { display: grid; grid-template-columns: 80px 1fr; gap: 3px 10px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.bad { color: var(--bad); }
code, .mono, svg text, td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
code { background: #f0f0f0; padding: 1px 5px; border-radius: 3px; word-break: break-all; }
button { font: inherit; padding: 2px 9px; cursor: pointer; border: 1px solid #bbb;
         border-radius: 4px; background: #fff; }
button:hover { background: #f0f0f0; }
#copied { color: var(--ok); margin-left: 6px; }
nav { position: sticky; top: 0; z-index: 2; display: flex; align-items: center; gap: 6px;
      padding: 8px 20px; background: #fff; border-bottom: 1px solid var(--line); }
#slider { flex: 1; max-width: 520px; }
#position { min-width: 110px; }
#violation { color: var(--bad); border-color: var(--bad); }
#current { margin: 0; padding: 6px 20px; background: var(--now);
           border-bottom: 1px solid var(--line); font-family: ui-monospace, monospace;
           white-space: pre-wrap; }
#current.at-violation { background: #ffd9d9; }
main { display: flex; gap: 16px; padding: 12px 20px; align-items: flex-start; }
#diagram { flex: 1 1 auto; overflow: auto; background: #fff; border: 1px solid var(--line);
           max-height: calc(100vh - 150px); min-width: 0; }
#state { flex: 0 0 45%; min-width: 0; }
#state h2 { font-size: 15px; margin: 0 0 8px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 4px; margin-bottom: 10px;
         padding: 6px 8px; }
.panel.changed { border-color: #e0a800; box-shadow: 0 0 0 2px #ffe08a; }
.panel h3 { font-size: 13px; margin: 0 0 4px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th { text-align: left; color: var(--muted); font-weight: normal; padding: 2px 6px;
     border-bottom: 1px solid var(--line); }
td { padding: 2px 6px; border-bottom: 1px solid #eee; vertical-align: top; white-space: nowrap;
     max-width: 12em; overflow: hidden; text-overflow: ellipsis; }
.rows { overflow-x: auto; }
tr.new td { background: #fff6cc; }
td.none { color: #aaa; }
td.yes { font-weight: bold; }
.note { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
svg .row:hover rect.band { fill: #f2f2f2; }
svg .row { cursor: pointer; }
svg .future { opacity: 0.3; }
svg .now rect.band { fill: var(--now); }
svg .violation text.label, svg .violation text.mark { fill: var(--bad); }
svg .now.violation rect.band { fill: #ffd9d9; }
svg .now text.label, svg .now text.mark { stroke: var(--now); }
svg .now.violation text.label, svg .now.violation text.mark { stroke: #ffd9d9; }
"""


def page_html(recording: Recording) -> str:
    """The page for ``recording``, as one HTML string (inline CSS and JS, nothing fetched)."""
    data = page_data(recording)
    rows = [("promise", data["promise"], ""), ("observed", data["observed"], "bad")]
    rows += [("trace", data["facts"], "")]
    header = [f'<h1 id="title">{escape(data["title"])}</h1>', "<dl>"]
    for name, text, kind in rows:
        if text:
            header.append(f'<dt>{name}</dt><dd id="{name}" class="{kind}">{escape(text)}</dd>')
    header.append(
        f'<dt>replay</dt><dd><code id="replay">{escape(data["replay"])}</code> '
        '<button id="copy" type="button" title="copy the replay line">Copy</button>'
        '<span id="copied" role="status"></span></dd>'
    )
    if data["hint"]:
        header.append(f'<dt>hint</dt><dd id="hint">{escape(data["hint"])}</dd>')
    header.append("</dl>")
    last = max(len(data["steps"]) - 1, 0)
    opens = next((n for n, step in enumerate(data["steps"]) if step[0] == data["violation"]), 0)
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(data['title'])}</title>",
            f"<style>{STYLE}</style>",
            "</head><body>",
            "<header>",
            *header,
            "</header>",
            '<nav id="controls" aria-label="steps">',
            '<button id="first" type="button" title="first step (Home)">|◀</button>',
            '<button id="prev" type="button" title="previous step (←)">◀</button>',
            f'<input id="slider" type="range" min="0" max="{last}" value="{opens}" '
            'aria-label="step">',
            '<button id="next" type="button" title="next step (→)">▶</button>',
            '<button id="last" type="button" title="last step (End)">▶|</button>',
            '<span id="position" aria-live="polite"></span>',
            '<button id="violation" type="button" title="the step where the promise broke">'
            "violation</button>",
            "</nav>",
            '<p id="current"></p>',
            "<main>",
            '<section id="diagram" aria-label="sequence diagram"></section>',
            '<section id="state" aria-label="state"><h2 id="state-title">state</h2>'
            '<div id="panels"></div></section>',
            "</main>",
            f'<script type="application/json" id="recording">{embed(data)}</script>',
            f"<script>{SCRIPT}</script>",
            "</body></html>",
        ]
    )


def embed(data: object) -> str:
    """``data`` as JSON that cannot end its ``<script>`` element early (no ``<``, ``>``, ``&``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_page(path: str | Path, recording: Recording) -> Path:
    """Write the page for ``recording`` to ``path`` (its folder made if need be); return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page_html(recording), encoding="utf-8")
    return path
