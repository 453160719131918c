/* Embed every chart of the page with vega-embed (from the local bundle), then set
   window.__chartsReady. A chart's spec is its spec ref in the page's day data file (the
   aggregate, or the venue chosen in the venue switch), filled by liqdata.js; heatmap
   windows are composed from the shared heat tiles first. Timeframe tabs follow the
   WAI-ARIA tabs pattern. */
(function () {
  "use strict";
  var views = {};
  window.__chartViews = views; // for tests: the Vega view of each chart, by element id
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var host = document.querySelector("[data-day-data]");
  var state = { key: host ? host.getAttribute("data-day-data") : null };

  function options() {
    var dark = !!(media && media.matches);
    var opts = {
      renderer: "canvas",
      actions: { export: true, source: false, compiled: false, editor: false },
      config: { background: "transparent" },
      tooltip: { theme: dark ? "dark" : "light" }
    };
    if (dark) { opts.theme = "dark"; }
    return opts;
  }

  function prefixOf(key) { return key.slice(0, key.lastIndexOf("/") + 1); }

  function embed(el, day) {
    var id = el.id; // a chart is named by its element id
    var heat = day.heat && day.heat[id];
    var ref = heat ? heat.spec : day.charts && day.charts[id];
    var fig = el.closest("figure");
    if (!ref) {
      if (views[el.id]) { views[el.id].finalize(); delete views[el.id]; }
      el.textContent = "";
      if (fig) { fig.hidden = true; }
      return Promise.resolve(null);
    }
    if (fig) { fig.hidden = false; }
    var raster = heat ? window.liqData.compose(prefixOf(state.key), heat.raster) : Promise.resolve(null);
    return Promise.all([window.liqData.spec(ref), raster]).then(function (got) {
      el.__rasterMeta = got[1];
      el.__spec = got[0]; // the spec as filled (tests read its data)
      return window.vegaEmbed(el, got[0], options());
    }).then(function (res) {
      // vega-embed's export menu is an icon-only <summary>: give it a name
      Array.prototype.forEach.call(el.querySelectorAll("details > summary"), function (s) {
        s.setAttribute("aria-label", "Chart actions: save as image");
      });
      if (views[el.id]) { views[el.id].finalize(); }
      views[el.id] = res.view;
      // heatmap rasters, their hover values and the layer switch (heatlayers.js)
      if (window.liqmapHeat) { return Promise.resolve(window.liqmapHeat.onEmbedded(el, res.view)).then(function () { return res; }); }
      return res;
    });
  }

  /* The caption of every switch view of a chart that follows the layer switch (spans
     [data-layer-note] in its figcaption; the page prints the first view's): the chart's
     caption pattern filled with the first view's fields, the view's own from the day
     data's "notes" (its name from assets/specs.js when they do not give it), and as lines the labels of the view's level marks
     (reports.cards.liq_map._desc). Only the selected view's is shown. */
  function layerNotes(day) {
    var notes = day.notes || {};
    var shown = window.liqmapHeat && window.liqmapHeat.layer ? window.liqmapHeat.layer() : null;
    return Promise.all(Object.keys(notes).map(function (id) {
      var chart = document.getElementById(id);
      var cap = chart && chart.parentNode.querySelector("figcaption[data-printed-caption]");
      var ref = day.charts && day.charts[id], desc = ref && ref.v ? ref.v.desc : null;
      if (!cap || !desc || !desc.$text) { return null; }
      return window.liqData.resolveValue(ref.v.marks || []).then(function (marks) {
        var views = Object.keys(notes[id]), spans = [];
        views.forEach(function (view, i) {
          var a = Object.assign({}, desc.a, notes[id][view]);
          // a view's name: assets/specs.js ("view <scenario/layer>") unless the notes give it
          if (!notes[id][view].view) { a.view = window.liqData.text({ $text: "view " + view, a: {} }); }
          a.totals = notes[id][view].totals || "";
          var lines = marks.filter(function (m) { return m.k === view; })
            .map(function (m) { return m.label; });
          a.lines = lines.length ? lines.join("; ") : "none";
          var span = document.createElement("span");
          span.setAttribute("data-layer-note", view);
          span.textContent = window.liqData.text({ $text: desc.$text, a: a });
          span.hidden = shown ? view !== shown : i > 0;
          spans.push(span);
        });
        cap.textContent = "";
        spans.forEach(function (s) { cap.appendChild(s); });
      });
    }));
  }

  function embedAll() {
    if (!state.key) { return Promise.resolve([]); }
    return window.liqData.load(state.key).then(function (day) {
      window.liqData.setMonths(day.heat_months);
      // the figures outside the charts follow the venue too (venuefigures.js)
      if (window.liqPrinted) { window.liqPrinted.show(day); }
      return layerNotes(day).then(function () {
        var els = Array.prototype.slice.call(document.querySelectorAll(".chart"));
        return Promise.all(els.map(function (el) { return embed(el, day); }));
      });
    });
  }

  function resizeIn(panel) {
    window.dispatchEvent(new Event("resize"));
    Array.prototype.forEach.call(panel.querySelectorAll(".chart"), function (el) {
      var v = views[el.id];
      if (v) { v.resize().runAsync(); }
    });
  }

  function setupTabs(list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    function select(tab, focus) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(t.getAttribute("aria-controls"));
        if (panel) { panel.hidden = !on; }
      });
      if (focus) { tab.focus(); }
      resizeIn(document.getElementById(tab.getAttribute("aria-controls")));
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (e) {
        var next = null;
        if (e.key === "ArrowRight") { next = tabs[(i + 1) % tabs.length]; }
        else if (e.key === "ArrowLeft") { next = tabs[(i - 1 + tabs.length) % tabs.length]; }
        else if (e.key === "Home") { next = tabs[0]; }
        else if (e.key === "End") { next = tabs[tabs.length - 1]; }
        if (next) { e.preventDefault(); select(next, true); }
      });
    });
  }

  /* The venue switch: every chart of the page redrawn from that venue's day data file. */
  function setVenue(button) {
    var key = button.getAttribute("data-venue-data");
    Array.prototype.forEach.call(document.querySelectorAll("[data-venue-data]"), function (b) {
      if (b.tagName === "BUTTON") { b.setAttribute("aria-pressed", b === button ? "true" : "false"); }
    });
    state.key = key;
    if (host) { host.setAttribute("data-venue-shown", button.getAttribute("data-venue")); }
    window.__chartsReady = false;
    return embedAll().then(
      function () { window.__chartsReady = true; },
      function (err) { window.__chartsError = String(err); console.error(err); }
    );
  }

  /* A tab list built from the panels after it (`.tabpanel[data-tab]`, the page writes no
     buttons: they would do nothing without this script): a tab per panel, "tab-<id>" for
     panel "panel-<id>", the first shown panel selected. */
  function makeTabs(list) {
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", list.getAttribute("data-tabs"));
    var panels = Array.prototype.filter.call(list.parentNode.children, function (el) {
      return el.classList.contains("tabpanel") && el.hasAttribute("data-tab");
    });
    var shown = panels.filter(function (p) { return !p.hidden; })[0] || panels[0];
    panels.forEach(function (panel) {
      var b = document.createElement("button"), on = panel === shown;
      b.type = "button";
      b.id = "tab-" + panel.id.replace(/^panel-/, "");
      b.setAttribute("role", "tab");
      b.setAttribute("aria-controls", panel.id);
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      b.textContent = panel.getAttribute("data-tab");
      list.appendChild(b);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", b.id);
      panel.hidden = !on;
    });
    return list;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), function (list) {
    setupTabs(makeTabs(list));
  });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-venue-data]"), function (b) {
    b.addEventListener("click", function () { setVenue(b); });
  });

  // an archive link may ask for one venue's charts: #venue=<id>
  var asked = /(?:^#|&)venue=([a-z0-9_]+)/.exec(window.location.hash || "");
  var pick = asked && document.querySelector('button[data-venue="' + asked[1] + '"][data-venue-data]');
  if (pick) {
    state.key = pick.getAttribute("data-venue-data");
    Array.prototype.forEach.call(document.querySelectorAll("button[data-venue-data]"), function (b) {
      b.setAttribute("aria-pressed", b === pick ? "true" : "false");
    });
    if (host) { host.setAttribute("data-venue-shown", asked[1]); }
  }

  if (typeof window.vegaEmbed !== "function") {
    console.error("vega bundle missing: charts not rendered");
    return;
  }
  embedAll().then(
    function () { window.__chartsReady = true; },
    function (err) { window.__chartsError = String(err); console.error(err); }
  );
  if (media && media.addEventListener) {
    media.addEventListener("change", function () { embedAll(); });
  }
  window.liqCharts = { setVenue: setVenue, embedAll: embedAll, state: state };
})();
