/* The venue switch for the figures outside the charts: the headline, the close, what the
   figures add up, the key figures and the rows of the key levels, metrics, scenarios and
   largest-bands tables, the chart cards' tables and captions, set from the chosen venue's
   day data file (its "printed" figures,
   reports/pages/day.py printed_figures: the texts that venue's own page prints) and back
   to the page's own (its HTML, kept before the first switch). Nothing is computed here,
   only shown. */
(function () {
  "use strict";
  var page = document.querySelector("[data-day-data]");

  function setText(sel, text) {
    Array.prototype.forEach.call(document.querySelectorAll(sel), function (el) {
      el.textContent = text;
    });
  }

  /* A body row shaped like the table's head: a row header, then cells (site.css labels them). */
  function newRow(tbody, n) {
    var tr = document.createElement("tr");
    for (var j = 0; j < n; j++) {
      tr.appendChild(document.createElement(j === 0 ? "th" : "td"));
    }
    return tr;
  }

  /* Each row's cells set in place (their attributes kept), rows added or removed to fit. */
  function fillRows(tbody, rows) {
    var trs = tbody.querySelectorAll("tr");
    rows.forEach(function (row, i) {
      var tr = trs[i];
      if (!tr) {
        tr = trs.length ? trs[trs.length - 1].cloneNode(true) : newRow(tbody, row.length);
        tbody.appendChild(tr);
      }
      var cells = tr.querySelectorAll("th, td");
      row.forEach(function (text, j) { if (cells[j]) { cells[j].textContent = text; } });
    });
    for (var k = rows.length; k < trs.length; k++) { tbody.removeChild(trs[k]); }
  }

  function note(box, text, split) {
    if (!text) { return; }
    var p = document.createElement("p");
    p.className = "kpi-note";
    if (split) { p.setAttribute("data-venue-split", split); }
    p.textContent = text;
    box.appendChild(p);
  }

  /* Each key figure's value and its notes (split by venue, scenario spread, change). */
  function fillKpis(section, kpis) {
    kpis.forEach(function (k) {
      var value = section.querySelector('[data-metric="' + k[0] + '"]');
      if (!value) { return; }
      value.textContent = k[1];
      var box = value.parentNode;
      Array.prototype.forEach.call(box.querySelectorAll(".kpi-note"), function (n) {
        box.removeChild(n);
      });
      note(box, k[2], k[0]);
      note(box, k[3] ? "Scenarios: " + k[3] : "", null);
      note(box, k[4], null);
    });
  }

  var PARTS = '[data-printed], [data-printed-rows], p.venues[data-venues], ' +
    '[data-notice="venues-missing"], figcaption[data-printed-caption], [data-aggregate-only]';
  var own = null; // the page's own figures, as printed, before any switch

  /* The page's venue's figures are its HTML: kept before the first switch, put back on
     the way back. */
  function keep() {
    if (own) { return; }
    own = Array.prototype.map.call(document.querySelectorAll(PARTS), function (el) {
      return { el: el, html: el.innerHTML, hidden: el.hidden };
    });
  }

  function restore() {
    if (!own) { return; }
    own.forEach(function (p) { p.el.innerHTML = p.html; p.el.hidden = p.hidden; });
  }

  /* Links to a venue's own data file ([data-venue-href], "{venue}" in it) point to the
     venue shown. */
  function setLinks(venue) {
    Array.prototype.forEach.call(document.querySelectorAll("a[data-venue-href]"), function (a) {
      var href = a.getAttribute("data-venue-href").replace("{venue}", venue);
      a.setAttribute("href", href);
    });
  }

  /* A table's rows: a list of rows, or {$rows: columns} with each column in a column
     coding (reports.datafiles.coded_rows). */
  function tableRows(v) {
    if (!v || Array.isArray(v)) { return v || []; }
    var cols = v.$rows.map(window.liqData.column), out = [];
    for (var i = 0; i < (cols.length ? cols[0].length : 0); i++) {
      out.push(cols.map(function (c) { return c[i]; }));
    }
    return out;
  }

  /* Show the figures of day data file `day` (its venue's): the page's own venue from the
     page, another from the file's "printed"; a file written before the printed figures
     existed leaves the page as it is. */
  function show(day) {
    var mine = page ? page.getAttribute("data-page-venue") : null;
    if (day) { setLinks(day.venue); }
    if (!day || day.venue === mine) {
      restore();
      if (page && day) { page.setAttribute("data-printed-venue", day.venue); }
      return;
    }
    var printed = day.printed;
    if (!printed) { return; }
    keep();
    setText('[data-printed="headline"]', printed.headline);
    setText('[data-printed="spot"]', printed.spot);
    setText("p.venues[data-venues]", printed.label); // what the figures add up
    Array.prototype.forEach.call(document.querySelectorAll('[data-printed="kpis"]'), function (s) {
      fillKpis(s, printed.kpis);
    });
    // a table the venue has no rows for is left empty
    Array.prototype.forEach.call(document.querySelectorAll("[data-printed-rows]"), function (tbody) {
      fillRows(tbody, tableRows(printed.rows[tbody.getAttribute("data-printed-rows")]));
    });
    // each chart's caption: its spec's description; a chart with a caption per switch
    // view (the map's, from the day data's "notes") is captioned by charts.js layerNotes
    Array.prototype.forEach.call(document.querySelectorAll("figcaption[data-printed-caption]"), function (f) {
      var id = f.parentNode.querySelector(".chart").id; // the chart beside the caption
      if (day.notes && day.notes[id]) { return; }
      var ref = day.charts && day.charts[id];
      var desc = ref && ref.v ? ref.v.desc : null;
      // a description may be a text pattern's fields (liqdata.js `text`)
      if (desc && desc.$text && window.liqData) { desc = window.liqData.text(desc); }
      if (typeof desc === "string") { f.textContent = desc; }
    });
    // the missing-venue notice and the split by venue are the aggregate's alone
    Array.prototype.forEach.call(
      document.querySelectorAll('[data-notice="venues-missing"], [data-aggregate-only]'),
      function (n) { n.hidden = true; });
    if (page) { page.setAttribute("data-printed-venue", day.venue); }
  }

  window.liqPrinted = { show: show };
})();
