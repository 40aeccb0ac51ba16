"""A failure's trace as a picture: a self-contained SVG sequence diagram.

On top, the test, the promise broken and what was observed. Below, one
lifeline per actor, one arrow per step (top to bottom in time order; a loop's
repeats counted on one row, and a long run cut to its beginning, its end and
what surrounds its marks and crashes, as the text timeline shows them), a red
cross where a crash struck, and the verdict's marks in red in a margin of
their own, level with their steps. An arrow's label fits between its lifelines (the columns are
as wide as the longest one needs, up to a limit; a label cut to fit shows
its whole text on hover); a crash's or a step's own label runs on over the
lifelines to its right, on a white halo that keeps it readable. The file
opens in any browser; nothing is fetched.

>>> from harness.timeline import Timeline
>>> t = Timeline()
>>> t.record(0.0, "broker", "consumer", "deliver m1 tag=1")
>>> t.crash(0.001, "consumer", "before ack tag=1")
>>> svg = sequence_svg(t, title="demo", promise="nothing is lost", observed="o-1 lost")
>>> svg.startswith("<svg") and "deliver m1 tag=1" in svg and "✗" in svg and "o-1 lost" in svg
True
"""

from __future__ import annotations

from html import escape

from harness.timeline import Repeat, Step, Timeline, cut, left_out, notice, repeats

CHAR = 7.3
"""Width of one character of the 12 px monospace font, in pixels (a little generous)."""
COLUMN, WIDEST_COLUMN = 170, 320
ROW = 26
LEFT = 90
PAD = 8


def sequence_svg(
    timeline: Timeline,
    *,
    title: str,
    marks: dict[int, str] | None = None,
    promise: str | None = None,
    observed: str | None = None,
) -> str:
    """Draw ``timeline`` as an SVG sequence diagram, headed by the promise and the observation."""
    marks = marks or {}
    steps = timeline.steps
    actors: list[str] = []
    for step in steps:
        for name in (step.actor, None if step.is_crash else step.target):
            if name and name not in actors:
                actors.append(name)
    index = {name: n for n, name in enumerate(actors)}
    column = _column_width(steps, index)
    x = {name: LEFT + n * column for n, name in enumerate(actors)}
    last = LEFT + max(len(actors) - 1, 0) * column
    marked_ends = [_end_of(step, x) for row, step in enumerate(steps) if row in marks]
    notes_x = max([last + column] + [end + 20 for end in marked_ends])
    header = [(title, "bold", "#222")]
    if promise:
        header.append((f"promise   {promise}", "normal", "#222"))
    if observed:
        header.append((f"observed  {observed}", "normal", "#c00"))
    top = 30 + len(header) * 18 + 40
    longest_note = max((len(note) for note in marks.values()), default=0)
    longest_header = max(len(text) for text, _, _ in header)
    width = int(max(notes_x + (longest_note + 3) * CHAR, 10 + longest_header * CHAR) + 20)
    rows = _rows(steps, marks)
    height = top + (len(rows) + 1) * ROW + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="monospace" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
    ]
    for line, (text, weight, colour) in enumerate(header):
        out.append(
            f'<text x="10" y="{20 + line * 18}" font-weight="{weight}" fill="{colour}">'
            f"{escape(text)}</text>"
        )
    for name, left in x.items():
        out.append(f'<text x="{left}" y="{top - 20}" text-anchor="middle">{escape(name)}</text>')
        out.append(
            f'<line x1="{left}" y1="{top - 12}" x2="{left}" y2="{height - 10}" '
            'stroke="#bbb" stroke-dasharray="4 3"/>'
        )
    for line, (row, repeat) in enumerate(rows):
        y = top + line * ROW + ROW // 2
        if repeat is not None:  # a loop's repeats, or steps left out, on one row of their own
            words = (
                left_out(repeat.start, repeat.stop)
                if isinstance(repeat, range)
                else notice(repeat, steps)
            )
            out.append(
                f'<text x="{LEFT - 60}" y="{y + 4}" fill="#666" font-style="italic">'
                f"{escape(words)}</text>"
            )
            continue
        step = steps[row]
        out.append(f'<text x="8" y="{y + 4}" fill="#666">t={step.time:.3f}</text>')
        colour = "#c00" if step.is_crash or row in marks else "#222"
        if row in marks:
            out.append(_label(notes_x, y + 4, f"← {marks[row]}", len(marks[row]) + 2, "#c00"))
        room = _room(step, index, column, len(actors))
        if step.is_crash:
            cx = x[step.actor]
            out.append(
                f'<text x="{cx}" y="{y + 5}" text-anchor="middle" fill="#c00" '
                'font-size="16" font-weight="bold">✗</text>'
            )
            out.append(_label(cx + 12, y + 4, crash_words(step), room, "#c00"))
            continue
        x1, x2 = x[step.actor], x[step.target]
        if x1 == x2:
            out.append(f'<circle cx="{x1}" cy="{y}" r="3" fill="{colour}"/>')
            label_x = x1 + PAD
        else:
            out.append(
                f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" '
                'marker-end="url(#arrow)"/>'
            )
            label_x = min(x1, x2) + 6
        out.append(_label(label_x, y - 4, step.what, room, colour))
    out.append("</svg>")
    return "\n".join(out)


def _rows(steps: list[Step], marks: dict[int, str]) -> list[tuple[int, Repeat | range | None]]:
    """The rows to draw: a step's index, a loop's repeats as one row, or the steps a long
    timeline leaves out as one row (as the text timeline shows them; a marked step and a
    crash are always drawn)."""
    collapsed = {r.start + r.length: r for r in repeats(steps, keep=marks)}
    rows: list[tuple[int, Repeat | range | None]] = []
    index = 0
    while index < len(steps):
        if index in collapsed:
            rows.append((index, collapsed[index]))
            index = collapsed[index].hidden.stop
        else:
            rows.append((index, None))
            index += 1
    kept = [n for n, (row, more) in enumerate(rows) if more is None and _kept(row, steps, marks)]
    drawn: list[tuple[int, Repeat | range | None]] = []
    for shown in cut(len(rows), kept):
        if isinstance(shown, range):
            first, last = rows[shown.start], rows[shown.stop - 1]
            stop = last[1].hidden.stop if isinstance(last[1], Repeat) else last[0] + 1
            drawn.append((first[0], range(first[0], stop)))
        else:
            drawn.append(rows[shown])
    return drawn


def _kept(row: int, steps: list[Step], marks: dict[int, str]) -> bool:
    return row in marks or steps[row].is_crash


def _end_of(step: Step, x: dict[str, float]) -> float:
    """Where the label of a crash or a step of its own ends (an arrow's ends by its head)."""
    if step.is_crash:
        return x[step.actor] + 12 + len(crash_words(step)) * CHAR
    if step.actor == step.target:
        return x[step.actor] + PAD + len(step.what) * CHAR
    return max(x[step.actor], x[step.target])


def crash_words(step: Step) -> str:
    """A crash step in plain words: ``crash before ack tag=1``, or what the component did
    about it, ``consumer caught the crash and went on (swallowed)``."""
    if step.what.startswith(("before ", "after ")):
        return f"crash {step.what}"
    return f"{step.actor} {step.what}"


def _room(step: Step, index: dict[str, int], column: int, actors: int) -> int | None:
    """How many characters of an arrow's label fit between its lifelines; None: no limit."""
    if step.is_crash or step.target == step.actor:
        return None
    spans = abs(index[step.target] - index[step.actor])
    return max(int((spans * column - 6 - PAD) / CHAR), 8)


def _column_width(steps: list[Step], index: dict[str, int]) -> int:
    """Wide enough for the longest arrow label per column it spans, within the limits."""
    needed = COLUMN
    for step in steps:
        if step.is_crash or step.target == step.actor:
            continue
        spans = abs(index[step.target] - index[step.actor])
        needed = max(needed, int((len(step.what) * CHAR + 6 + PAD) / spans) + 1)
    return min(needed, WIDEST_COLUMN)


def _label(x: float, y: float, text: str, room: int | None, colour: str) -> str:
    """A label on a white halo; cut to ``room`` characters with an ellipsis, whole on hover."""
    start = (
        f'<text x="{x:.0f}" y="{y}" fill="{colour}" stroke="white" stroke-width="4" '
        'paint-order="stroke">'
    )
    if room is None or len(text) <= room:
        return f"{start}{escape(text)}</text>"
    return f"{start}<title>{escape(text)}</title>{escape(text[: room - 1])}…</text>"
