"""A failure's trace as a picture: a self-contained SVG sequence diagram.

One lifeline per actor, one arrow per step (top to bottom in time order), a
red cross where a crash struck, and the marks of the verdict in red beside
their steps. The file opens in any browser; nothing is fetched.

>>> from harness.timeline import Timeline
>>> t = Timeline()
>>> t.record(0.0, "broker", "consumer", "deliver m1 tag=1")
>>> t.crash(0.001, "consumer", "before ack tag=1")
>>> svg = sequence_svg(t, title="demo")
>>> svg.startswith("<svg") and "deliver m1 tag=1" in svg and "✗" in svg
True
"""

from __future__ import annotations

from html import escape

from harness.timeline import Timeline

COLUMN = 170
ROW = 26
TOP = 70
LEFT = 90


def sequence_svg(timeline: Timeline, *, title: str, marks: dict[int, str] | None = None) -> str:
    """Draw ``timeline`` as an SVG sequence diagram."""
    marks = marks or {}
    steps = timeline.steps
    actors: list[str] = []
    for step in steps:
        for name in (step.actor, None if step.is_crash else step.target):
            if name and name not in actors:
                actors.append(name)
    x = {name: LEFT + index * COLUMN for index, name in enumerate(actors)}
    width = LEFT + max(len(actors), 1) * COLUMN + 260
    height = TOP + (len(steps) + 1) * ROW + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="monospace" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
        f'<text x="10" y="20" font-weight="bold">{escape(title)}</text>',
    ]
    for name, left in x.items():
        out.append(f'<text x="{left}" y="{TOP - 20}" text-anchor="middle">{escape(name)}</text>')
        out.append(
            f'<line x1="{left}" y1="{TOP - 12}" x2="{left}" y2="{height - 10}" '
            'stroke="#bbb" stroke-dasharray="4 3"/>'
        )
    for row, step in enumerate(steps):
        y = TOP + row * ROW + ROW // 2
        out.append(f'<text x="8" y="{y + 4}" fill="#666">t={step.time:.3f}</text>')
        note = f"  ← {marks[row]}" if row in marks else ""
        colour = "#c00" if step.is_crash or row in marks else "#222"
        if step.is_crash:
            cx = x[step.actor]
            out.append(
                f'<text x="{cx}" y="{y + 5}" text-anchor="middle" fill="#c00" '
                'font-size="16" font-weight="bold">✗</text>'
            )
            out.append(
                f'<text x="{cx + 12}" y="{y + 4}" fill="#c00">'
                f"crash {escape(step.what)}{escape(note)}</text>"
            )
            continue
        x1, x2 = x[step.actor], x[step.target]
        if x1 == x2:
            out.append(f'<circle cx="{x1}" cy="{y}" r="3" fill="{colour}"/>')
            label_x = x1 + 8
        else:
            out.append(
                f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" '
                'marker-end="url(#arrow)"/>'
            )
            label_x = min(x1, x2) + 6
        label = escape(step.what + note)
        out.append(f'<text x="{label_x}" y="{y - 4}" fill="{colour}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)
