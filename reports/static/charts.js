/* Embed every inline chart spec with vega-embed (from the local bundle), then set
   window.__chartsReady. Timeframe tabs follow the WAI-ARIA tabs pattern. */
(function () {
  "use strict";
  var views = {};
  window.__chartViews = views; // for tests: the Vega view of each chart, by element id
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

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

  function specOf(el) {
    var shared = el.getAttribute("data-shared-spec");
    if (shared) {  // the symbol's long views, from <SYMBOL>/heat-long.js
      var s = window.LIQMAP_SHARED;
      return s && s.specs && s.specs[shared] ? s.specs[shared] : null;
    }
    return JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent);
  }

  function embed(el) {
    var spec = specOf(el);
    if (!spec) {
      el.textContent = "This view is not available (heat-long.js missing).";
      return Promise.resolve(null);
    }
    return window.vegaEmbed(el, spec, options()).then(function (res) {
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

  function embedAll() {
    if (window.LIQMAP_SHARED && window.LIQMAP_SHARED.asOf) {
      Array.prototype.forEach.call(document.querySelectorAll("[data-shared-asof]"), function (s) {
        s.textContent = window.LIQMAP_SHARED.asOf;
      });
    }
    var els = Array.prototype.slice.call(
      document.querySelectorAll(".chart[data-spec], .chart[data-shared-spec]"));
    return Promise.all(els.map(embed));
  }

  function resizeIn(panel) {
    window.dispatchEvent(new Event("resize"));
    var sel = ".chart[data-spec], .chart[data-shared-spec]";
    Array.prototype.forEach.call(panel.querySelectorAll(sel), function (el) {
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

  Array.prototype.forEach.call(document.querySelectorAll('[role="tablist"]'), setupTabs);

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
})();
