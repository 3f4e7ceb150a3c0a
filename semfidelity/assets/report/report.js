"use strict";
(function () {
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const cols = D.columns, numeric = new Set(D.numeric), nc = cols.length;
  const keyIdx = cols.indexOf("key"), errIdx = cols.indexOf("error");
  const info = {};
  D.metrics.forEach(function (m) { info[m.name] = m; });
  const el = function (tag, attrs, text) {
    const e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = function (v) { return v === null || v === undefined ? "" : (typeof v === "number" ? Number(v.toPrecision(6)).toString() : String(v)); };
  const byKey = {};
  D.rows.forEach(function (r) { byKey[r[keyIdx]] = r; });

  // ------------------------------------------------------------------ table
  const state = { sort: null, desc: false, page: 0, size: 50, filter: "", errorsOnly: false, view: D.rows };
  const thead = document.querySelector("#table thead"), tbody = document.querySelector("#table tbody");
  const hr = el("tr");
  cols.forEach(function (c) {
    const th = el("th", { "data-col": c, title: info[c] ? (info[c].lower_better === null ? "" : (info[c].lower_better ? "lower is better" : "higher is better")) : "" }, c);
    th.addEventListener("click", function () { sortBy(c); });
    hr.appendChild(th);
  });
  hr.appendChild(el("th", {}, "files"));
  thead.appendChild(hr);

  function parseFilter(text) {
    const tests = [];
    text.trim().split(/\s+/).filter(Boolean).forEach(function (tok) {
      const m = tok.match(/^([A-Za-z0-9_.]+)(<=|>=|<|>|=)(-?[0-9.eE+-]+)$/);
      const ci = m ? cols.indexOf(m[1]) : -1;
      if (m && ci >= 0 && numeric.has(m[1])) {
        const x = parseFloat(m[3]), op = m[2];
        tests.push(function (r) {
          const v = r[ci];
          if (v === null) return false;
          return op === "<" ? v < x : op === ">" ? v > x : op === "<=" ? v <= x : op === ">=" ? v >= x : v === x;
        });
      } else {
        const t = tok.toLowerCase();
        tests.push(function (r) { return String(r[keyIdx]).toLowerCase().includes(t) || (errIdx >= 0 && String(r[errIdx]).toLowerCase().includes(t)); });
      }
    });
    return tests;
  }
  function refresh() {
    const tests = parseFilter(state.filter);
    let view = D.rows.filter(function (r) {
      if (state.errorsOnly && !(errIdx >= 0 && r[errIdx])) return false;
      return tests.every(function (t) { return t(r); });
    });
    if (state.sort !== null) {
      const ci = cols.indexOf(state.sort), num = numeric.has(state.sort), sgn = state.desc ? -1 : 1;
      view = view.slice().sort(function (a, b) {
        const x = a[ci], y = b[ci];
        const ex = x === null || x === "", ey = y === null || y === "";
        if (ex || ey) return ex === ey ? 0 : (ex ? 1 : -1);  // missing values always last
        if (num) return sgn * (x - y);
        return sgn * String(x).localeCompare(String(y));
      });
    }
    state.view = view;
    const pages = Math.max(1, Math.ceil(view.length / state.size));
    state.page = Math.min(state.page, pages - 1);
    render(pages);
  }
  function render(pages) {
    const start = state.page * state.size, frag = document.createDocumentFragment();
    state.view.slice(start, start + state.size).forEach(function (r) {
      const tr = el("tr");
      for (let i = 0; i < nc; i++) {
        const c = cols[i], td = el("td");
        if (i === keyIdx) {
          const b = el("button", { class: "key", type: "button" }, r[i]);
          b.addEventListener("click", function () { openPair(r[keyIdx], null); });
          td.appendChild(b);
        } else {
          td.textContent = fmt(r[i]);
          if (numeric.has(c)) td.className = "num";
          if (i === errIdx) td.className = "err";
        }
        tr.appendChild(td);
      }
      const files = el("td");
      if (r[nc]) {
        files.appendChild(el("a", { href: r[nc] }, "ref"));
        files.appendChild(document.createTextNode(" "));
      }
      files.appendChild(el("a", { href: r[nc + 1] }, "pred"));
      tr.appendChild(files);
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    document.getElementById("pager-info").textContent =
      "page " + (state.page + 1) + " of " + pages + " (" + state.view.length + " of " + D.rows.length + " rows)";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    thead.querySelectorAll("th").forEach(function (th) {
      th.classList.toggle("sorted-asc", th.dataset.col === state.sort && !state.desc);
      th.classList.toggle("sorted-desc", th.dataset.col === state.sort && state.desc);
    });
  }
  function sortBy(c) {
    if (state.sort === c) state.desc = !state.desc; else { state.sort = c; state.desc = false; }
    state.page = 0;
    refresh();
  }
  document.getElementById("filter").addEventListener("input", function (e) { state.filter = e.target.value; state.page = 0; refresh(); });
  document.getElementById("errors-only").addEventListener("change", function (e) { state.errorsOnly = e.target.checked; state.page = 0; refresh(); });
  document.getElementById("page-size").addEventListener("change", function (e) { state.size = parseInt(e.target.value, 10); state.page = 0; refresh(); });
  document.getElementById("prev").addEventListener("click", function () { state.page--; refresh(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; refresh(); });

  // ---------------------------------------------------------------- gallery
  const tabs = document.getElementById("gallery-tabs"), grid = document.getElementById("gallery-grid");
  const metrics = Object.keys(D.gallery);
  function heat(key, metric) {
    const im = D.images[key];
    if (im.maps[metric]) return { src: im.maps[metric], label: metric + " map", bar: im.bars[metric] };
    if (!im.diff) return null;  // no-reference run without a map
    return { src: im.diff, label: "|pred − ref|, 0…" + fmt(im.diff_max), bar: im.diff_bar };
  }
  function showGallery(metric) {
    tabs.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-selected", String(b.dataset.metric === metric)); });
    const ci = cols.indexOf(metric), frag = document.createDocumentFragment();
    D.gallery[metric].forEach(function (key, rank) {
      const im = D.images[key], card = el("div", { class: "card", "data-key": key, tabindex: "0" });
      if (im.missing) {
        card.appendChild(el("div", { class: "cap" }, "#" + (rank + 1) + " " + key + ": images unreadable (" + im.missing + ")"));
      } else {
        const h = heat(key, metric), trio = el("div", { class: "trio" }), lab = el("div", { class: "lab" });
        [[im.ref, "reference"], [im.pred, "prediction"], h && [h.src, h.label]].filter(function (p) { return p && p[0]; }).forEach(function (p) {
          trio.appendChild(el("img", { src: p[0], alt: p[1] + " of " + key, loading: "lazy" }));
          lab.appendChild(el("span", {}, p[1]));
        });
        if (h && h.bar) trio.appendChild(el("img", { src: h.bar, alt: "colour scale", class: "bar" }));
        card.appendChild(trio);
        card.appendChild(lab);
        card.appendChild(el("div", { class: "cap" }, "#" + (rank + 1) + "  " + key + "  " + metric + " = " + fmt(byKey[key][ci])));
        card.addEventListener("click", function () { openPair(key, metric); });
        card.addEventListener("keydown", function (e) { if (e.key === "Enter") openPair(key, metric); });
      }
      frag.appendChild(card);
    });
    grid.replaceChildren(frag);
  }
  metrics.forEach(function (m) {
    const b = el("button", { type: "button", role: "tab", "data-metric": m }, m + (info[m] && info[m].lower_better ? " (highest)" : " (lowest)"));
    b.addEventListener("click", function () { showGallery(m); });
    tabs.appendChild(b);
  });
  if (metrics.length) showGallery(metrics[0]); else grid.textContent = "No scored pairs to show.";

  // ------------------------------------------------------------------ zoom modal
  const modal = document.getElementById("modal"), panes = document.getElementById("modal-panes");
  const z = { s: 1, x: 0, y: 0, drag: null };
  function applyZoom() {
    panes.querySelectorAll("img.view").forEach(function (img) { img.style.transform = "translate(" + z.x + "px," + z.y + "px) scale(" + z.s + ")"; });
    document.getElementById("zoom-level").textContent = z.s.toFixed(z.s < 10 ? 1 : 0) + "×";
  }
  function zoomAt(factor, cx, cy) {
    const s = Math.min(32, Math.max(1, z.s * factor)), k = s / z.s;
    z.x = cx - k * (cx - z.x); z.y = cy - k * (cy - z.y); z.s = s;
    if (s === 1) { z.x = 0; z.y = 0; }
    applyZoom();
  }
  function openPair(key, metric) {
    const r = byKey[key], im = D.images[key];
    document.getElementById("modal-title").textContent = key + (metric ? "  ·  " + metric + " = " + fmt(r[cols.indexOf(metric)]) : "");
    const embedded = im && !im.missing, h = embedded ? heat(key, metric || metrics[0]) : null;
    const views = (embedded
      ? [[im.ref, "reference"], [im.pred, "prediction"], h && [h.src, h.label, h.bar]]
      : [[r[nc], "reference (original file)"], [r[nc + 1], "prediction (original file)"]]
    ).filter(function (v) { return v && v[0]; });
    panes.replaceChildren();
    views.forEach(function (v) {
      const p = el("div", { class: "pane" });
      p.appendChild(el("img", { src: v[0], alt: v[1], draggable: "false", class: "view" }));
      if (v[2]) p.appendChild(el("img", { src: v[2], alt: "colour scale", class: "bar" }));
      p.appendChild(el("span", { class: "plabel" }, v[1]));
      panes.appendChild(p);
    });
    const links = document.getElementById("modal-links");
    links.replaceChildren();
    if (r[nc]) links.appendChild(el("a", { href: r[nc], target: "_blank" }, "open original reference"));
    links.appendChild(el("a", { href: r[nc + 1], target: "_blank" }, "open original prediction"));
    z.s = 1; z.x = 0; z.y = 0; applyZoom();
    modal.hidden = false;
  }
  function closeModal() { modal.hidden = true; panes.replaceChildren(); }
  panes.addEventListener("wheel", function (e) {
    e.preventDefault();
    const b = e.target.closest(".pane").getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - b.left, e.clientY - b.top);
  }, { passive: false });
  panes.addEventListener("mousedown", function (e) { z.drag = [e.clientX - z.x, e.clientY - z.y]; e.preventDefault(); });
  window.addEventListener("mousemove", function (e) { if (z.drag) { z.x = e.clientX - z.drag[0]; z.y = e.clientY - z.drag[1]; applyZoom(); } });
  window.addEventListener("mouseup", function () { z.drag = null; });
  const centre = function () { const p = panes.querySelector(".pane"); return p ? [p.clientWidth / 2, p.clientHeight / 2] : [0, 0]; };
  document.getElementById("zoom-in").addEventListener("click", function () { const c = centre(); zoomAt(2, c[0], c[1]); });
  document.getElementById("zoom-out").addEventListener("click", function () { const c = centre(); zoomAt(0.5, c[0], c[1]); });
  document.getElementById("zoom-reset").addEventListener("click", function () { zoomAt(0, 0, 0); });
  document.getElementById("modal-close").addEventListener("click", closeModal);
  modal.addEventListener("click", function (e) { if (e.target === modal) closeModal(); });
  document.addEventListener("keydown", function (e) {
    if (modal.hidden) return;
    if (e.key === "Escape") closeModal();
    else if (e.key === "+" || e.key === "=") document.getElementById("zoom-in").click();
    else if (e.key === "-") document.getElementById("zoom-out").click();
    else if (e.key === "0") document.getElementById("zoom-reset").click();
  });
  refresh();
  document.body.dataset.ready = "1";
})();
