"""The debugger page's script: draws the diagram and the panels, and moves between steps.

It reads the recording from the page's ``<script type="application/json">`` and
knows nothing of queues, logs or tables: a panel is a title, columns, rows and a
note. It sets text only through ``textContent`` (never ``innerHTML``), so no
text of a run can become markup.
"""

SCRIPT = r"""
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("recording").textContent);
  const names = data.names, CRASH = "\u2717 crash";
  const steps = data.steps.map(([n, time, actor, target, what]) => ({
    n: n, time: time, actor: names[actor], target: target < 0 ? CRASH : names[target],
    what: what, crash: target < 0, mark: data.marks[n],
  }));
  const panels = data.panels.map(([frame, rows]) => {
    const [title, columns, note] = data.frames[frame];
    return { title: title, columns: columns, note: note, rows: rows.map((r) => data.rows[r]) };
  });
  const last = Math.max(steps.length - 1, 0);
  const opening = Math.max(steps.findIndex((s) => s.n === data.violation), 0);
  const SVG = "http://www.w3.org/2000/svg";
  const ROW = 26, LEFT = 90, CHAR = 7.3, TOP = 40;
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function html(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function crashWords(s) {
    return /^(before|after) /.test(s.what) ? "crash " + s.what : s.actor + " " + s.what;
  }
  function line(s) {
    const head = "step " + (s.n + 1) + "  t=" + s.time.toFixed(3) + "  ";
    const body = s.crash
      ? "\u2717 " + crashWords(s)
      : s.actor + " \u2192 " + s.target + "  " + s.what;
    return head + body + (s.mark !== undefined ? "      \u2190 " + s.mark : "");
  }

  // -- the sequence diagram ---------------------------------------------------------------------
  const actors = names, index = {};
  actors.forEach((a, n) => { index[a] = n; });
  let column = 170;
  for (const s of steps) {
    if (s.crash || s.actor === s.target) continue;
    const spans = Math.abs(index[s.target] - index[s.actor]) || 1;
    column = Math.max(column, Math.ceil((s.what.length * CHAR + 16) / spans));
  }
  column = Math.min(column, 240);
  const x = (a) => LEFT + index[a] * column;
  // Marks sit in a margin of their own, right of every lifeline and of the labels they mark.
  const lastX = LEFT + Math.max(actors.length - 1, 0) * column;
  let notesX = lastX + 40, widest = lastX + 40;
  const ends = steps.map((s) => {
    if (s.crash) return x(s.actor) + 12 + crashWords(s).length * CHAR;
    if (s.actor === s.target) return x(s.actor) + 8 + s.what.length * CHAR;
    return Math.max(x(s.actor), x(s.target));
  });
  for (const [i, end] of ends.entries()) {
    widest = Math.max(widest, end + 20);
    if (steps[i].mark !== undefined) notesX = Math.max(notesX, end + 24);
  }
  for (const s of steps) {
    if (s.mark !== undefined) widest = Math.max(widest, notesX + (s.mark.length + 3) * CHAR);
  }
  // Steps a long run leaves out take one row that says how many they are.
  const ys = [], gaps = [];
  let row = 0;
  for (const [i, s] of steps.entries()) {
    if (i > 0 && s.n > steps[i - 1].n + 1) {
      gaps.push([TOP + row * ROW + ROW / 2, steps[i - 1].n + 2, s.n]);
      row += 1;
    }
    ys.push(TOP + row * ROW + ROW / 2);
    row += 1;
  }
  const height = TOP + (row + 1) * ROW;
  const svg = el("svg", { width: Math.ceil(widest), height: height, "font-size": 12, id: "svg" });
  svg.appendChild(el("defs")).appendChild(
    el("marker", { id: "arrow", markerWidth: 8, markerHeight: 8, refX: 8, refY: 4, orient: "auto" })
  ).appendChild(el("path", { d: "M0,0 L8,4 L0,8 z", fill: "#333" }));
  const rows = [];
  for (const [i, s] of steps.entries()) {
    const y = ys[i];
    const marked = s.mark !== undefined;
    const g = el("g", { class: "row" + (marked ? " violation" : ""), "data-step": i });
    g.appendChild(el("rect", { class: "band", x: 0, y: y - ROW / 2, width: "100%", height: ROW,
                               fill: "transparent" }));
    g.appendChild(el("text", { x: 6, y: y + 4, fill: "#666" }, "t=" + s.time.toFixed(3)));
    const colour = s.crash || marked ? "#c00" : "#222";
    let labelX, label;
    if (s.crash) {
      g.appendChild(el("text", { x: x(s.actor), y: y + 5, "text-anchor": "middle", fill: "#c00",
                                 "font-size": 16, "font-weight": "bold", class: "crash" },
                           "\u2717"));
      labelX = x(s.actor) + 12; label = crashWords(s);
    } else if (s.actor === s.target) {
      g.appendChild(el("circle", { cx: x(s.actor), cy: y, r: 3, fill: colour }));
      labelX = x(s.actor) + 8; label = s.what;
    } else {
      g.appendChild(el("line", { x1: x(s.actor), y1: y, x2: x(s.target), y2: y, stroke: colour,
                                 "marker-end": "url(#arrow)" }));
      labelX = Math.min(x(s.actor), x(s.target)) + 6; label = s.what;
      // An arrow's label fits between its lifelines; the whole step shows on hover and on top.
      const room = Math.max(Math.floor((Math.abs(x(s.target) - x(s.actor)) - 14) / CHAR), 8);
      if (label.length > room) label = label.slice(0, room - 1) + "\u2026";
      if (/^restart/.test(s.what)) {
        g.appendChild(el("text", { x: x(s.target) + 6, y: y + 5, fill: "#0a7a33", "font-size": 15,
                                   "font-weight": "bold", class: "restart" }, "\u21bb"));
      }
    }
    const text = el("text", { x: labelX, y: s.crash || s.actor === s.target ? y + 4 : y - 4,
                              fill: colour, stroke: "white", "stroke-width": 4,
                              "paint-order": "stroke", class: "label" }, label);
    text.appendChild(el("title", {}, line(s)));
    g.appendChild(text);
    if (marked) {
      g.appendChild(el("text", { x: notesX, y: y + 4, fill: "#c00",
                                 stroke: "white", "stroke-width": 4, "paint-order": "stroke",
                                 class: "mark" }, "\u2190 " + s.mark));
    }
    g.addEventListener("click", () => go(i));
    rows.push(g);
  }
  for (const a of actors) {
    svg.appendChild(el("text", { x: x(a), y: 18, "text-anchor": "middle", "font-weight": "bold",
                                 class: "actor" }, a));
    svg.appendChild(el("line", { x1: x(a), y1: 26, x2: x(a), y2: height, stroke: "#bbb",
                                 "stroke-dasharray": "4 3" }));
  }
  rows.forEach((g) => svg.appendChild(g));
  for (const [y, first, end] of gaps) {
    const left = (end - first + 1).toLocaleString("en");
    svg.appendChild(el("text", { x: LEFT, y: y + 4, fill: "#666", class: "gap" },
                       "\u2026 " + left + " steps left out (steps " + first + "-" + end + ")"));
  }
  $("diagram").appendChild(svg);

  // -- the state panels --------------------------------------------------------------------------
  function cell(value) {
    if (value === null || value === undefined) return ["\u2013", "none"];
    if (value === true) return ["yes", "yes"];
    if (value === false) return ["no", ""];
    return [String(value), ""];
  }
  function panelsAt(i) {
    return (data.states[i] || []).map((id) => panels[id]);
  }
  function drawState(i) {
    const box = $("panels");
    box.replaceChildren();
    const before = {};
    if (i > 0) for (const p of panelsAt(i - 1)) before[p.title] = p;
    $("state-title").textContent = steps.length ? "state after step " + (steps[i].n + 1) : "state";
    const shown = panelsAt(i);
    if (!shown.length) box.appendChild(html("p", "note", "nothing to show at this step"));
    for (const p of shown) {
      const was = before[p.title];
      const changed = i > 0 && JSON.stringify(was) !== JSON.stringify(p);
      const div = html("div", "panel" + (changed ? " changed" : ""));
      div.dataset.title = p.title;
      div.appendChild(html("h3", "", p.title));
      if (p.rows.length) {
        const table = html("table");
        const head = table.appendChild(html("thead")).appendChild(html("tr"));
        for (const c of p.columns) head.appendChild(html("th", "", c));
        const body = table.appendChild(html("tbody"));
        const old = new Set((was ? was.rows : []).map((r) => JSON.stringify(r)));
        for (const r of p.rows) {
          const added = i > 0 && !old.has(JSON.stringify(r));
          const tr = body.appendChild(html("tr", added ? "new" : ""));
          r.forEach((v, n) => {
            const [text, cls] = cell(v);
            const td = tr.appendChild(html("td", cls, text));
            td.dataset.column = p.columns[n];
            td.title = text;
          });
        }
        div.appendChild(html("div", "rows")).appendChild(table);
      }
      if (p.note) div.appendChild(html("p", "note", p.note));
      box.appendChild(div);
    }
  }

  // -- moving between steps ----------------------------------------------------------------------
  let current = -1;
  function go(i) {
    i = Math.max(0, Math.min(last, i));
    current = i;
    $("slider").value = i;
    rows.forEach((g, n) => {
      g.classList.toggle("now", n === i);
      g.classList.toggle("future", n > i);
    });
    const here = $("current");
    here.textContent = steps.length ? line(steps[i]) : "no step was recorded";
    const atViolation = steps.length > 0 &&
      (steps[i].mark !== undefined || (i === opening && data.broken));
    here.classList.toggle("at-violation", atViolation);
    $("position").textContent =
      "step " + (steps.length ? steps[i].n + 1 : 0) + " of " + data.total;
    document.body.dataset.step = steps.length ? steps[i].n : 0;
    drawState(i);
    if (rows[i] && rows[i].scrollIntoView) rows[i].scrollIntoView({ block: "nearest" });
  }
  $("first").addEventListener("click", () => go(0));
  $("prev").addEventListener("click", () => go(current - 1));
  $("next").addEventListener("click", () => go(current + 1));
  $("last").addEventListener("click", () => go(last));
  $("violation").addEventListener("click", () => go(opening));
  $("slider").addEventListener("input", (e) => go(Number(e.target.value)));
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const to = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: last }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    go(to);
  });

  // -- copying the replay line -------------------------------------------------------------------
  function copied(ok) {
    $("copied").textContent = ok ? "copied" : "select it and copy it by hand";
  }
  function fallback(text) {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    area.remove();
    copied(ok);
  }
  $("copy").addEventListener("click", () => {
    const text = data.replay;
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(() => copied(true), () => fallback(text));
    } else {
      fallback(text);
    }
  });

  go(opening);
})();
"""
