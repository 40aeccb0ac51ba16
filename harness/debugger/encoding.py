"""The page's data: a recording as compact JSON, each repeated text stored once.

A step is ``[index, time, actor, target, what]`` with actor and target as indexes
into ``names`` (target -1 for a crash); a panel is ``[frame, row indexes]``, its frame
``[title, columns, note]`` shared by every panel that looks alike and each row stored
once in ``rows``; a state is the list of its panels' indexes. A run longer than
``most_steps`` (a loop, say) keeps its first and last steps and every marked one;
``total`` says how many it had, and a step's index stays its place in the whole run.

>>> from harness.debugger.recording import Recording
>>> from harness.timeline import Step
>>> steps = tuple(Step(i / 1000, "consumer", "broker", f"ack tag={i}") for i in range(10))
>>> data = page_data(Recording("loop", "t/-@s0", steps, ((),) * 10, marks={4: "here"}),
...                  most_steps=4)
>>> [step[0] for step in data["steps"]], data["total"], data["violation"]
([0, 1, 4, 8, 9], 10, 4)
"""

from __future__ import annotations

from typing import Any

from harness.debugger.recording import Recording

MOST_STEPS = 1200
"""The most steps a page shows: beyond, it keeps the first and the last half of them (and
every marked step), so that the page of a loop stays small."""


def page_data(recording: Recording, *, most_steps: int = MOST_STEPS) -> dict[str, Any]:
    """``recording`` as the page reads it (JSON-ready)."""
    shown = kept_steps(len(recording.steps), recording.marks, most_steps)
    names = recording.actors()
    at = {name: n for n, name in enumerate(names)}
    frames: list[list[Any]] = []
    frame_ids: dict[str, int] = {}
    panels: list[list[Any]] = []
    panel_ids: dict[str, int] = {}
    rows: list[list[Any]] = []
    row_ids: dict[str, int] = {}
    states = []
    for index in shown:
        ids = []
        for panel in recording.states[index]:
            data = panel.as_json()
            frame = [data["title"], data["columns"], data.get("note", "")]
            frame_key = repr(frame)  # repr tells 1, 1.0 and True apart, as JSON does
            frame_id = frame_ids.setdefault(frame_key, len(frame_ids))
            if frame_id == len(frames):
                frames.append(frame)
            entry = [frame_id, [_intern(row, rows, row_ids) for row in data["rows"]]]
            key = repr(entry)
            panel_id = panel_ids.setdefault(key, len(panel_ids))
            if panel_id == len(panels):
                panels.append(entry)
            ids.append(panel_id)
        states.append(ids)
    steps = []
    for index in shown:
        step = recording.steps[index]
        target = -1 if step.is_crash else at[step.target]
        steps.append([index, round(step.time, 6), at[step.actor], target, step.what])
    return {
        "title": recording.title,
        "token": recording.token,
        "promise": recording.promise,
        "observed": recording.observed,
        "replay": recording.replay or recording.token,
        "hint": recording.hint,
        "facts": recording.facts,
        "broken": recording.broken,
        "names": names,
        "total": len(recording.steps),
        "steps": steps,
        "marks": {str(k): v for k, v in sorted(recording.marks.items())},
        "violation": recording.violation,
        "frames": frames,
        "panels": panels,
        "rows": rows,
        "states": states,
    }


def _intern(row: list[Any], rows: list[list[Any]], ids: dict[str, int]) -> int:
    key = repr(row)
    found = ids.setdefault(key, len(ids))
    if found == len(rows):
        rows.append(row)
    return found


def kept_steps(count: int, marks: dict[int, str], most: int) -> list[int]:
    """The indexes of the steps a page shows: all of them, or the first and the last
    ``most // 2`` and every marked one."""
    if count <= most:
        return list(range(count))
    half = most // 2
    kept = set(range(half)) | set(range(count - half, count))
    kept |= {index for index in marks if 0 <= index < count}
    return sorted(kept)
