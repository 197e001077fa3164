/* cnncalc --format html: lays out the data written by cnncalc/render/html.py (no figure is
   worked out here; bar lengths are the figures' shares of their totals). The graph is laid
   out by dagre (inlined above). */
(function () {
  "use strict";
  var started = performance.now();
  var D = JSON.parse(document.getElementById("cnncalc-data").textContent);
  var L = D.layers, B = D.blocks, NF = D.figures.length;
  var app = document.getElementById("app");
  var blockOf = new Map(B.map(function (b) { return [b.n, b]; }));
  var anc = L.map(function (l) {
    if (!l.b) return [];
    var p = l.b.split("."), out = [];
    for (var k = 1; k <= p.length; k++) out.push(p.slice(0, k).join("."));
    return out;
  });
  var collapsed = new Set();
  function collapseTo(depth) {
    collapsed.clear();
    if (depth != null) B.forEach(function (b) { if (b.k === depth) collapsed.add(b.n); });
  }
  collapseTo(D.depth);
  var maxDepth = B.reduce(function (m, b) { return Math.max(m, b.k); }, 0);
  var sort = { col: null, desc: true };
  var selected = null;

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function blockParentCollapsed(name) {  // a strict ancestor of block ``name`` is collapsed
    var p = name.split(".");
    for (var k = 1; k < p.length; k++) if (collapsed.has(p.slice(0, k).join("."))) return true;
    return false;
  }
  function unitOf(i) {
    var a = anc[i];
    for (var k = 0; k < a.length; k++) if (collapsed.has(a[k])) return "b:" + a[k];
    return "l:" + i;
  }
  function units() {  // the drawn units in network order: {key, name, kind, row data}
    var seen = new Set(), out = [];
    for (var i = 0; i < L.length; i++) {
      var u = unitOf(i);
      if (seen.has(u)) continue;
      seen.add(u);
      if (u[0] === "l") out.push({ key: u, name: L[i].n, kind: "layer", d: L[i], idx: i });
      else { var b = blockOf.get(u.slice(2)); out.push({ key: u, name: b.n, kind: "block", d: b, idx: i }); }
    }
    return out;
  }

  /* ---- totals card, checks, warnings ---- */
  var card = el("section", "card");
  D.card.forEach(function (c) {
    var box = el("div", "total");
    box.appendChild(el("div", "label", c[0]));
    box.appendChild(el("div", "value", c[1]));
    box.appendChild(el("div", "detail", c[2]));
    card.appendChild(box);
  });
  app.appendChild(card);
  app.appendChild(el("p", "conventions", D.conventions));
  if (D.checks.items.length || D.checks.error) {
    var cs = el("details", "checks");
    var failed = D.checks.items.filter(function (c) { return !c.ok; }).length;
    cs.open = failed > 0 || !!D.checks.error;
    cs.appendChild(el("summary", null, "expect: and budget: " + (D.checks.error ? "cannot be read" :
      failed ? failed + " of " + D.checks.items.length + " fail" : "all " + D.checks.items.length + " hold")));
    var ul = el("ul");
    if (D.checks.error) ul.appendChild(el("li", "bad", "✗ " + D.checks.error));
    D.checks.items.forEach(function (c) { ul.appendChild(el("li", c.ok ? "ok" : "bad", (c.ok ? "✓ " : "✗ ") + c.text)); });
    cs.appendChild(ul);
    app.appendChild(cs);
  }
  if (D.warnings.length) {
    var ws = el("details", "warnings");
    ws.open = D.warnings.length <= 3;
    ws.appendChild(el("summary", null, "⚠ " + D.warnings.length + (D.warnings.length === 1 ? " warning" : " warnings")));
    var wl = el("ul");
    D.warnings.forEach(function (w) { wl.appendChild(el("li", null, w)); });
    ws.appendChild(wl);
    app.appendChild(ws);
  }

  /* ---- bar charts ---- */
  var charts = el("section", "charts");
  app.appendChild(charts);
  function drawCharts(us) {
    charts.textContent = "";
    for (var f = 0; f < NF; f++) {
      var box = el("div", "chart");
      box.appendChild(el("h3", null, D.figures[f] + " per " + (collapsed.size ? "row" : "layer")));
      var max = 0;
      us.forEach(function (u) { max = Math.max(max, u.d.f[f][0]); });
      var W = 360, H = 90, bw = W / us.length, parts = [];
      us.forEach(function (u, j) {
        var v = u.d.f[f][0], h = max ? Math.max(v ? 1 : 0, H * v / max) : 0;
        parts.push('<rect data-unit="' + esc(u.key) + '" x="' + (j * bw).toFixed(2) + '" y="' + (H - h).toFixed(2) +
          '" width="' + Math.max(bw - (bw > 3 ? 1 : 0), 0.5).toFixed(2) + '" height="' + h.toFixed(2) +
          '"><title>' + esc(u.name + ": " + u.d.f[f][2]) + "</title></rect>");
      });
      box.insertAdjacentHTML("beforeend", '<svg class="bars" viewBox="0 0 ' + W + " " + H +
        '" preserveAspectRatio="none">' + parts.join("") + "</svg>");
      var top = us.slice().sort(function (a, b) { return b.d.f[f][0] - a.d.f[f][0]; }).slice(0, 5)
        .filter(function (u) { return u.d.f[f][0] > 0; });
      var ol = el("ol", "top");
      top.forEach(function (u) {
        var li = el("li");
        li.dataset.unit = u.key;
        li.appendChild(el("span", "nm", u.name));
        li.appendChild(el("span", "fig", u.d.f[f][1]));
        ol.appendChild(li);
      });
      box.appendChild(ol);
      charts.appendChild(box);
    }
  }
  charts.addEventListener("click", function (e) {
    var t = e.target.closest("[data-unit]");
    if (t) select(t.dataset.unit, true, true);
  });

  /* ---- table and graph side by side ---- */
  var panes = el("section", "panes");
  var left = el("div", "tablepane"), right = el("div", "graphpane");
  panes.appendChild(left);
  panes.appendChild(right);
  app.appendChild(panes);

  var tools = el("div", "tools");
  if (B.length) {
    var lab = el("label", null, "blocks: ");
    var pick = el("select");
    pick.id = "depth";
    var opt = el("option", null, "all expanded");
    opt.value = "";
    pick.appendChild(opt);
    for (var k = 1; k <= maxDepth; k++) {
      opt = el("option", null, "collapsed at depth " + k);
      opt.value = String(k);
      pick.appendChild(opt);
    }
    pick.value = D.depth == null ? "" : String(Math.min(D.depth, maxDepth));
    pick.addEventListener("change", function () {
      collapseTo(pick.value ? Number(pick.value) : null);
      refresh();
    });
    lab.appendChild(pick);
    tools.appendChild(lab);
  }
  tools.appendChild(el("span", "hint", "click a heading to sort, a row or a node to find it in the other"));
  left.appendChild(tools);

  var table = el("table", "layers");
  var heads = [["#", "order"], ["layer", "name"], ["type", "type"], ["output", "shape"]]
    .concat(D.figures.map(function (f, i) { return [f, "f" + i]; })).concat([["RF", "rf"]]);
  var thead = el("thead"), htr = el("tr");
  heads.forEach(function (h) {
    var th = el("th", h[1][0] === "f" || h[1] === "rf" || h[1] === "order" ? "num" : null, h[0]);
    th.dataset.sort = h[1];
    th.title = "sort by " + h[0];
    htr.appendChild(th);
  });
  thead.appendChild(htr);
  table.appendChild(thead);
  var tbody = el("tbody");
  table.appendChild(tbody);
  var tfoot = el("tfoot"), ftr = el("tr");
  ftr.appendChild(el("td"));
  ftr.appendChild(el("td", null, "total"));
  ftr.appendChild(el("td"));
  ftr.appendChild(el("td"));
  D.totals.forEach(function (t) { var td = el("td", "num", t[1]); td.title = t[2]; ftr.appendChild(td); });
  ftr.appendChild(el("td"));
  tfoot.appendChild(ftr);
  table.appendChild(tfoot);
  left.appendChild(table);

  function makeRow(d, kind, order, depth, short) {
    var tr = el("tr", kind === "block" ? "blk" : null);
    tr.dataset[kind === "block" ? "block" : "layer"] = d.n;
    tr.appendChild(el("td", "num dim", String(order)));
    var name = el("td", "name");
    name.style.paddingLeft = (4 + 14 * depth) + "px";
    if (kind === "block") {
      var btn = el("button", "toggle");
      btn.type = "button";
      btn.title = "collapse or expand this block";
      name.appendChild(btn);
    }
    name.appendChild(el("span", null, short));
    name.title = d.n;
    d.w.forEach(function (w) { var x = el("div", "warn", "⚠ " + w); x.title = w; name.appendChild(x); });
    tr.appendChild(name);
    tr.appendChild(el("td", "type", d.t));
    tr.appendChild(el("td", "shape", d.s));
    for (var f = 0; f < NF; f++) {
      var td = el("td", "num fig"), total = D.totals[f][0];
      var share = total ? 100 * d.f[f][0] / total : 0;
      var bar = el("div", "bar");
      bar.style.width = share.toFixed(2) + "%";
      td.appendChild(bar);
      td.appendChild(el("span", null, d.f[f][1]));
      td.title = d.f[f][2] + (total ? " (" + share.toFixed(1) + "% of the total)" : "");
      tr.appendChild(td);
    }
    tr.appendChild(el("td", "num", d.rf));
    if (d.w.length) tr.classList.add("warned");
    return tr;
  }
  // every row, in network order: a block's row comes before its first layer
  var rows = [], opened = new Set(), byKey = new Map();
  L.forEach(function (l, i) {
    anc[i].forEach(function (a, k) {
      if (opened.has(a)) return;
      opened.add(a);
      var b = blockOf.get(a);
      var parent = k ? anc[i][k - 1] : "";
      var r = { kind: "block", key: "b:" + a, d: b, order: rows.length, el: null };
      r.el = makeRow(b, "block", "", k, parent ? a.slice(parent.length + 1) : a);
      rows.push(r);
      byKey.set(r.key, r);
    });
    var short = l.b && l.n.indexOf(l.b + ".") === 0 ? l.n.slice(l.b.length + 1) : l.n;
    var r = { kind: "layer", key: "l:" + i, d: l, idx: i, order: rows.length, el: makeRow(l, "layer", i, anc[i].length, short) };
    rows.push(r);
    byKey.set(r.key, r);
  });

  function rowState(r) {  // "unit" (a drawn unit), "group" (an expanded block's heading) or "hidden"
    if (r.kind === "layer") return unitOf(r.idx) === r.key ? "unit" : "hidden";
    if (blockParentCollapsed(r.d.n)) return "hidden";
    return collapsed.has(r.d.n) ? "unit" : "group";
  }
  function sortValue(r) {
    var c = sort.col;
    if (c === "name") return r.d.n;
    if (c === "type") return r.d.t;
    if (c === "shape") return r.d.s;
    if (c === "rf") return parseFloat(r.d.rf) || 0;
    return r.d.f[Number(c.slice(1))][0];
  }
  function drawTable() {
    var order = rows.slice();
    rows.forEach(function (r) {
      var s = rowState(r);
      r.el.hidden = s === "hidden" || (s === "group" && sort.col !== null);
      r.el.classList.toggle("collapsed", r.kind === "block" && collapsed.has(r.d.n));
      r.el.classList.toggle("unit", s === "unit");
    });
    if (sort.col !== null) {
      order.sort(function (a, b) {
        var x = sortValue(a), y = sortValue(b);
        var c = typeof x === "string" ? (x < y ? -1 : x > y ? 1 : 0) : x - y;  // names by code point
        return (sort.desc ? -c : c) || a.order - b.order;
      });
    }
    tbody.replaceChildren.apply(tbody, order.map(function (r) { return r.el; }));
    Array.prototype.forEach.call(htr.children, function (th) {
      var on = th.dataset.sort === sort.col || (sort.col === null && th.dataset.sort === "order");
      th.classList.toggle("sorted", on);
      th.dataset.dir = on && sort.col !== null ? (sort.desc ? "desc" : "asc") : "";
    });
  }
  htr.addEventListener("click", function (e) {
    var th = e.target.closest("th");
    if (!th) return;
    var c = th.dataset.sort;
    if (c === "order") sort = { col: null, desc: true };
    else if (sort.col === c) sort.desc = !sort.desc;
    else sort = { col: c, desc: c[0] === "f" || c === "rf" };
    drawTable();
  });
  tbody.addEventListener("click", function (e) {
    var tr = e.target.closest("tr");
    if (!tr) return;
    var key = tr.dataset.block != null ? "b:" + tr.dataset.block : keyOfLayer.get(tr.dataset.layer);
    if (e.target.closest("button.toggle")) {
      var n = tr.dataset.block;
      if (collapsed.has(n)) collapsed.delete(n); else collapsed.add(n);
      if (pickDepth()) pickDepth().value = "";
      refresh();
      select(key, false, true);
      return;
    }
    if (tr.dataset.block != null && !collapsed.has(tr.dataset.block)) {
      select("c:" + tr.dataset.block, false, true);  // an expanded block: its cluster
      return;
    }
    select(key, false, true);
  });
  function pickDepth() { return document.getElementById("depth"); }
  var keyOfLayer = new Map(L.map(function (l, i) { return [l.n, "l:" + i]; }));

  /* ---- the graph ---- */
  var CH = 6.4, NODE_H = 36, BIG = 300, HUGE = 2000;
  function textWidth(s) { return s.length * CH; }
  var layoutMs = 0;
  var nodes = new Map();  // unit key → [svg element, x, y]
  function drawGraph(us) {
    nodes.clear();
    if (us.length > HUGE) {  // dagre would take minutes: the table only, and a way to a smaller graph
      right.innerHTML = "";
      right.appendChild(el("p", "toobig", "The graph is not drawn: " + us.length + " nodes (at most " + HUGE +
        "). Collapse blocks (the blocks menu, or --depth) to draw it."));
      return;
    }
    // a flat graph: dagre's compound (cluster) layout is 3-5x slower; expanded blocks are drawn
    // afterwards as boxes around their nodes
    var g = new dagre.graphlib.Graph({ multigraph: false });
    var big = us.length > BIG;
    g.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 26, edgesep: 6, marginx: 14, marginy: 14,
                 ranker: big ? "longest-path" : "network-simplex" });
    g.setDefaultEdgeLabel(function () { return {}; });
    us.forEach(function (u) {
      var title = shortName(u), sub = u.d.t;
      g.setNode(u.key, { width: Math.max(textWidth(title), textWidth(sub)) + 16, height: NODE_H, u: u,
                         title: title, sub: sub });
    });
    var seen = new Set();
    L.forEach(function (l, i) {
      var t = unitOf(i);
      l.in.forEach(function (j, k) {
        var s = unitOf(j), key = s + ">" + t;
        if (s === t || seen.has(key)) return;
        seen.add(key);
        // the shape this input carries (a split's part, or the output); labels are placed after
        // layout: as dagre label nodes they cost ~1.5x
        g.setEdge(s, t, { label: l.is[k] });
      });
    });
    var t0 = performance.now();
    // beyond BIG units, dagre's crossing reduction is skipped and ranks are longest paths:
    // ResNet-152's 516 layers lay out in about a third of the time (chains of blocks have few
    // crossings to reduce)
    dagre.layout(g, { disableOptimalOrderHeuristic: big });
    layoutMs = performance.now() - t0;
    var gw = g.graph().width, gh = g.graph().height, parts = [];
    var boxes = new Map();  // expanded block → [x0, y0, x1, y1] around its nodes
    g.nodes().forEach(function (k) {
      var n = g.node(k), u = n.u;
      var path = u.kind === "layer" ? anc[u.idx] : anc[u.idx].slice(0, anc[u.idx].indexOf(u.d.n));
      path.forEach(function (p, depth) {
        var levels = path.length - depth, pad = 6 * levels, b = boxes.get(p);  // room for each label above
        var x0 = n.x - n.width / 2 - pad, y0 = n.y - n.height / 2 - 15 * levels, x1 = n.x + n.width / 2 + pad,
            y1 = n.y + n.height / 2 + pad;
        if (!b) boxes.set(p, [x0, y0, x1, y1]);
        else { b[0] = Math.min(b[0], x0); b[1] = Math.min(b[1], y0); b[2] = Math.max(b[2], x1); b[3] = Math.max(b[3], y1); }
      });
    });
    boxes.forEach(function (b, p) {
      parts.push('<g class="cluster" data-cluster="' + esc(p) + '"><rect x="' + b[0].toFixed(1) + '" y="' + b[1].toFixed(1) +
        '" width="' + (b[2] - b[0]).toFixed(1) + '" height="' + (b[3] - b[1]).toFixed(1) + '" rx="6"/><text x="' +
        (b[0] + 6).toFixed(1) + '" y="' + (b[1] + 11).toFixed(1) + '">' + esc(p + " · " + blockOf.get(p).t) + "</text></g>");
    });
    g.edges().forEach(function (e) {
      var ed = g.edge(e), pts = ed.points;
      var d = "M" + pts.map(function (p) { return p.x.toFixed(1) + "," + p.y.toFixed(1); }).join("L");
      parts.push('<path class="edge" d="' + d + '"/>');
      // the shape beside the edge, just below the node it leaves
      var a = pts[0], b2 = pts[1] || a, lx = a.x + (b2.x - a.x) * 0.5, ly = a.y + Math.min(11, (b2.y - a.y) * 0.5);
      parts.push('<text class="elabel" x="' + (lx + 4).toFixed(1) + '" y="' + (ly + 3).toFixed(1) + '">' + esc(ed.label) + "</text>");
    });
    g.nodes().forEach(function (k) {
      var n = g.node(k);
      if (!n.u) return;
      var u = n.u, x = n.x - n.width / 2, y = n.y - n.height / 2;
      var cls = "node " + u.kind + (/^(add|concat|multiply|mul|sum|average|maximum|subtract)\b/.test(u.d.t) ? " merge" : "") +
        (u.d.w.length ? " warned" : "");
      parts.push('<g class="' + cls + '" data-' + (u.kind === "block" ? "block" : "layer") + '="' + esc(u.name) +
        '" data-unit="' + u.key + '" transform="translate(' + x.toFixed(1) + "," + y.toFixed(1) + ')"><title>' +
        esc(u.name + " — " + u.d.t + " → " + u.d.s) + '</title><rect width="' + n.width.toFixed(1) + '" height="' +
        NODE_H + '" rx="' + (u.kind === "block" ? 2 : 6) + '"/><text class="t1" x="8" y="15">' + esc(n.title) +
        '</text><text class="t2" x="8" y="29">' + esc(n.sub) + "</text></g>");
    });
    right.innerHTML = '<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="' + Math.ceil(gw) + '" height="' +
      Math.ceil(gh) + '" viewBox="0 0 ' + Math.ceil(gw) + " " + Math.ceil(gh) + '">' +
      '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0L8,4L0,8z"/></marker></defs>' + parts.join("") + "</svg>";
    nodes.clear();
    right.querySelectorAll("g.node, g.cluster").forEach(function (n) {
      var k = n.dataset.unit || "c:" + n.dataset.cluster;
      nodes.set(k, n);
    });
  }
  function shortName(u) {
    if (u.kind === "block") return u.name;
    var l = u.d;
    // inside an expanded block drawn as a cluster, the cluster names the block
    return l.b && l.n.indexOf(l.b + ".") === 0 ? l.n.slice(l.b.length + 1) : l.n;
  }
  right.addEventListener("click", function (e) {
    var n = e.target.closest("g.node");
    if (n) { select(n.dataset.unit, true, false); return; }
    var c = e.target.closest("g.cluster");
    if (c) select("c:" + c.dataset.cluster, true, false);
  });

  function select(key, scrollRow, scrollNode) {
    if (selected) {
      var old = byKey.get(selected.replace(/^c:/, "b:"));
      if (old) old.el.classList.remove("sel");
      var on = nodes.get(selected);
      if (on) on.classList.remove("sel");
    }
    selected = key;
    var r = byKey.get(key.replace(/^c:/, "b:"));
    if (r) {
      r.el.classList.add("sel");
      if (scrollRow && !r.el.hidden) r.el.scrollIntoView({ block: "nearest" });
    }
    var n = nodes.get(key);
    if (n) {
      n.classList.add("sel");
      if (scrollNode) {
        var box = n.getBBox(), m = n.getCTM ? n.transform.baseVal.consolidate() : null;
        var x = (m ? m.matrix.e : 0) + (n.classList.contains("cluster") ? box.x : 0);
        var y = (m ? m.matrix.f : 0) + (n.classList.contains("cluster") ? box.y : 0);
        right.scrollTo({ left: Math.max(0, x - right.clientWidth / 2 + box.width / 2),
                         top: Math.max(0, y - right.clientHeight / 3) });
      }
    }
  }

  function refresh() {
    var us = units();
    drawTable();
    drawGraph(us);
    drawCharts(us);
    if (selected) select(selected, false, false);
  }
  refresh();
  var ms = performance.now() - started;
  document.body.dataset.renderMs = ms.toFixed(1);
  window.cnncalcReport = { renderMs: ms, layoutMs: layoutMs, sinceNavigation: performance.now(), select: function (k) { select(k, true, true); }, refresh: refresh };
})();
