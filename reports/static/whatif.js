/* The level what-if of a day page: for a price typed in (or clicked on the liquidation
   map), the longs below spot or shorts above it that the model places between spot and
   that price, per venue and in total, summed from each venue's day data (its "whatif":
   the day's mart.liq_map bands, exact). */
(function () {
  "use strict";
  /* The form and its (empty) table are the same on every day page: the page holds only an
     empty [data-whatif-controls] and this script writes them. */
  var slot = document.querySelector("[data-whatif-controls]");
  if (slot) {
    slot.innerHTML =
      '<form class="whatif-form" id="whatif-form"><label>Price <input type="number" step="any" ' +
      'min="0" id="whatif-price" inputmode="decimal" required></label> ' +
      '<button type="submit">Show</button></form>' +
      '<p id="whatif-note" role="status" aria-live="polite"></p>' +
      '<div class="table-wrap" tabindex="0" role="region" aria-label="What-if table">' +
      '<table class="whatif-table" id="whatif-table" hidden><thead><tr><th scope="col">Venue</th>' +
      '<th scope="col">Side</th><th scope="col">Liquidated on the way</th></tr></thead>' +
      "<tbody></tbody></table></div>";
  }
  var form = document.getElementById("whatif-form");
  var host = document.querySelector("[data-day-data]");
  if (!form || !host || !window.liqData) { return; }
  var input = document.getElementById("whatif-price");
  var table = document.getElementById("whatif-table");
  var note = document.getElementById("whatif-note");

  /* [label, data key] of the aggregate first, then each venue with the day. */
  function sources() {
    var out = [], buttons = document.querySelectorAll("button[data-venue-data]");
    Array.prototype.forEach.call(buttons, function (b) {
      out.push([b.textContent, b.getAttribute("data-venue-data"), b.getAttribute("data-venue")]);
    });
    if (!out.length) { out.push(["Total", host.getAttribute("data-day-data"), "all"]); }
    return out;
  }

  /* Liquidated between spot and `price`: {side, usd} from one day file's whatif (its
     lists may be column codings, docs/api.md). */
  function sumTo(coded, price) {
    var col = window.liqData.column;
    var w = { spot: coded.spot, mid: col(coded.mid), l: col(coded.l), s: col(coded.s) };
    var up = price > w.spot, usd = 0;
    for (var i = 0; i < w.mid.length; i++) {
      var m = w.mid[i];
      if (up ? (m > w.spot && m <= price) : (m < w.spot && m >= price)) { usd += up ? w.s[i] : w.l[i]; }
    }
    return { side: up ? "Shorts" : "Longs", usd: usd };
  }

  function cell(tr, text, tag) {
    var c = document.createElement(tag || "td");
    if (tag === "th") { c.scope = "row"; }
    c.textContent = text;
    tr.appendChild(c);
    return c;
  }

  function show(price) {
    if (!(price > 0)) { note.textContent = "Type a price above zero."; return Promise.resolve(); }
    var src = sources();
    return Promise.all(src.map(function (s) { return window.liqData.load(s[1]); })).then(function (files) {
      var body = table.tBodies[0];
      body.innerHTML = "";
      var spot = null;
      files.forEach(function (f, i) {
        if (!f.whatif) { return; }
        spot = spot === null ? f.whatif.spot : spot;
        var r = sumTo(f.whatif, price), tr = document.createElement("tr");
        tr.setAttribute("data-venue", src[i][2]);
        cell(tr, src[i][0], "th");
        cell(tr, r.side);
        var c = cell(tr, window.liqmapHeat.fmtUsd(r.usd));
        c.setAttribute("data-usd", String(r.usd));
        body.appendChild(tr);
      });
      table.hidden = false;
      var pct = spot ? (price / spot - 1) * 100 : 0;
      note.textContent = "To $" + price.toLocaleString("en-US") + " (" + (pct >= 0 ? "+" : "−") +
        Math.abs(pct).toFixed(1) + "% from spot).";
      host.setAttribute("data-whatif-price", String(price));
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    show(parseFloat(input.value));
  });

  /* A click on the liquidation map asks for the price under the pointer. */
  function hookMap() {
    var views = window.__chartViews || {}, v = views.liqmap, el = document.getElementById("liqmap");
    if (!v || !el || el.__whatif === v) { return; }
    el.__whatif = v;
    v.addEventListener("click", function (ev) {
      var canvas = el.querySelector("canvas");
      if (!canvas) { return; }
      var r = canvas.getBoundingClientRect(), o = v.origin(), pad = v.padding();
      var px = ev.clientX - r.left - pad.left - o[0];
      var price = v.scale("x").invert(px);
      if (!(price > 0)) { return; }
      price = Number(price.toPrecision(6));
      input.value = String(price);
      show(price);
    });
  }
  var timer = setInterval(function () { if (window.__chartsReady) { hookMap(); } }, 300);
  window.addEventListener("pagehide", function () { clearInterval(timer); });
  window.liqWhatIf = { show: show };
})();
