/* The index's screener: sort by a column (the symbols' rows; each symbol keeps its venue
   rows beneath it), filter by symbol and heavier side, expand a symbol to its venues, and
   the "now" column from the nowcast. */
(function () {
  "use strict";
  var table = document.getElementById("screener");
  if (!table) { return; }
  var groups = Array.prototype.slice.call(table.tBodies);
  var filter = document.getElementById("screener-filter");
  var side = document.getElementById("screener-side");
  var count = document.getElementById("screener-count");
  var state = { col: null, dir: 1 };

  function keyOf(body, col) {
    var row = body.rows[0];
    if (col === "symbol") { return body.getAttribute("data-symbol"); }
    var cell = row.querySelector('[data-col="' + col + '"]');
    var v = cell && cell.getAttribute("data-v");
    return v === null || v === undefined ? null : parseFloat(v);
  }

  function sortBy(col) {
    state.dir = state.col === col ? -state.dir : 1;
    state.col = col;
    var sorted = groups.slice().sort(function (a, b) {
      var x = keyOf(a, col), y = keyOf(b, col);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }  // missing values last, either direction
      if (y === null) { return -1; }
      return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
    });
    sorted.forEach(function (b) { table.appendChild(b); });
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th"), function (th) {
      var b = th.querySelector("button");
      th.setAttribute("aria-sort", b && b.getAttribute("data-sort") === col
        ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function applyFilter() {
    var text = (filter && filter.value || "").trim().toUpperCase();
    var want = side ? side.value : "";
    var shown = 0;
    groups.forEach(function (b) {
      var ok = (!text || b.getAttribute("data-symbol").indexOf(text) >= 0) &&
               (!want || b.getAttribute("data-side") === want);
      b.hidden = !ok;
      if (ok) { shown++; }
    });
    if (count) { count.textContent = shown + " of " + groups.length + " symbols"; }
  }

  /* The "now" column: each symbol's nowcast (now/now.js, rewritten by every hourly
     refresh): near-spot imbalance and price, as of when, provisional, and stale since when
     the last refresh failed; empty for a symbol without a nowcast. */
  function fillNow() {
    var now = (window.LIQMAP_NOW && window.LIQMAP_NOW.symbols) || {};
    Array.prototype.forEach.call(table.querySelectorAll("td[data-now]"), function (td) {
      var n = now[td.getAttribute("data-now")];
      td.textContent = "";
      td.removeAttribute("data-v");
      td.classList.toggle("now-stale", !!(n && n.stale_since));
      if (!n) { td.textContent = "—"; td.title = "no nowcast has run"; return; }
      var a = document.createElement("a");
      a.href = n.href;
      a.textContent = n.imbalance + " · " + n.price;
      td.appendChild(a);
      var when = document.createElement("span");
      when.className = "muted now-asof";
      when.textContent = " as of " + n.as_of + ", provisional";
      td.appendChild(when);
      if (n.stale_since) {
        var st = document.createElement("span");
        st.className = "now-stale-since";
        st.textContent = " stale since " + n.stale_since;
        if (n.stale) { st.title = n.stale; }
        td.appendChild(st);
      }
      if (n.v !== null && n.v !== undefined) { td.setAttribute("data-v", String(n.v)); }
    });
  }
  fillNow();

  Array.prototype.forEach.call(table.tHead.querySelectorAll("button[data-sort]"), function (b) {
    b.addEventListener("click", function () { sortBy(b.getAttribute("data-sort")); });
  });
  Array.prototype.forEach.call(table.querySelectorAll("button.expand"), function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("aria-expanded") !== "true";
      b.setAttribute("aria-expanded", open ? "true" : "false");
      b.textContent = open ? "−" : "+";
      var body = b.closest("tbody");
      Array.prototype.forEach.call(body.querySelectorAll("tr.venue-row"), function (r) { r.hidden = !open; });
    });
  });
  if (filter) { filter.addEventListener("input", applyFilter); }
  if (side) { side.addEventListener("change", applyFilter); }
  applyFilter();
  window.liqScreener = { sortBy: sortBy, applyFilter: applyFilter, fillNow: fillNow };
})();
