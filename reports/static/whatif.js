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

  /* A day file's what-if bands {spot, mid, l, s} (a Promise): its own (lists in column
     codings, docs/api.md), or with "sum_of" the named venues' day files' bands added band
     by band, venue after venue (reports.datafiles.whatif_bands). */
  function bandsOf(f) {
    var col = window.liqData.column, w = f.whatif;
    if (!w.sum_of) {
      return Promise.resolve({ spot: w.spot, mid: col(w.mid), l: col(w.l), s: col(w.s) });
    }
    var keys = w.sum_of.map(function (v) { return f.symbol + "/" + v + "/day-" + f.day; });
    return Promise.all(keys.map(window.liqData.load)).then(function (parts) {
      var sums = {}, mids = [];
      parts.forEach(function (p) {
        var mid = col(p.whatif.mid), l = col(p.whatif.l), s = col(p.whatif.s);
        for (var i = 0; i < mid.length; i++) {
          var k = String(mid[i]);
          if (!sums[k]) { sums[k] = [0, 0]; mids.push(mid[i]); }
          sums[k][0] += l[i];
          sums[k][1] += s[i];
        }
      });
      mids.sort(function (a, b) { return a - b; });
      return { spot: w.spot, mid: mids,
               l: mids.map(function (m) { return sums[String(m)][0]; }),
               s: mids.map(function (m) { return sums[String(m)][1]; }) };
    });
  }

  /* Liquidated between spot and `price`: {side, usd} from a day file's what-if bands. */
  function sumTo(w, price) {
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
      return Promise.all(files.map(function (f) { return f.whatif ? bandsOf(f) : null; }));
    }).then(function (bands) {
      var body = table.tBodies[0];
      body.innerHTML = "";
      var spot = null;
      bands.forEach(function (w, i) {
        if (!w) { return; }
        spot = spot === null ? w.spot : spot;
        var r = sumTo(w, price), tr = document.createElement("tr");
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
