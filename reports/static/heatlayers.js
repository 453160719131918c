/* Heatmap rasters, their hover values and the leverage-layer switch.

   Every heatmap window is a viridis PNG (one per model/leverage layer, precomputed by the
   site build from the marts) described by a JSON block:
     {"unit", "default", "layers": {key: {"url", "vmax", "t0", "tstep", "cols",
                                           "p0", "pstep", "rows"}}}
   The hover value is read from the PNG pixel under the pointer, so the crosshair's tag (and
   the visually hidden status line for assistive technology) states exactly the number the
   colour encodes, in the legend's unit: level / 255 × vmax. Zoom and pan are the spec's own
   (a scale-bound interval selection); reading through the view's scales follows them.
   The layer switch swaps the image, the legend maximum and the level lines (signal "layer")
   of every heatmap that offers the view, filters the liquidation map's rows and lines (signal
   "layer") and shows the caption of the selected view ([data-layer-note]); nothing is
   computed here, only selected. */
(function () {
  "use strict";
  // Vega's "viridis" scheme, 256 steps: the palette the site build writes the PNGs with.
  var VIRIDIS_HEX =
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769" +
    "48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a" +
    "472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85" +
    "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b" +
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d" +
    "33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e" +
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e" +
    "26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d" +
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88" +
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81" +
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74" +
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863" +
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d" +
    "84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32" +
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a" +
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725";
  var palette = null; // "r,g,b" -> level
  var decoded = {}; // url -> Promise({w, h, idx})
  var state = { layer: null };

  function paletteIndex() {
    if (palette) { return palette; }
    palette = {};
    for (var i = 0; i < 256; i++) {
      var h = VIRIDIS_HEX.substr(i * 6, 6);
      palette[parseInt(h.substr(0, 2), 16) + "," + parseInt(h.substr(2, 2), 16) + "," +
              parseInt(h.substr(4, 2), 16)] = i;
    }
    return palette;
  }

  function decode(url) {
    if (!decoded[url]) {
      decoded[url] = new Promise(function (resolve, reject) {
        var img = new Image();
        img.onload = function () {
          var c = document.createElement("canvas");
          c.width = img.naturalWidth; c.height = img.naturalHeight;
          var ctx = c.getContext("2d");
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(img, 0, 0);
          var px = ctx.getImageData(0, 0, c.width, c.height).data;
          var pal = paletteIndex(), idx = new Uint8Array(c.width * c.height);
          for (var i = 0; i < idx.length; i++) {
            var k = px[4 * i] + "," + px[4 * i + 1] + "," + px[4 * i + 2];
            idx[i] = pal[k] === undefined ? 0 : pal[k];
          }
          resolve({ w: c.width, h: c.height, idx: idx });
        };
        img.onerror = reject;
        img.src = url;
      });
    }
    return decoded[url];
  }

  /* Compact dollars with 3 significant digits, like the charts' '$.3s' (B for billions). */
  function fmtUsd(v) {
    if (!isFinite(v)) { return "n/a"; }
    var a = Math.abs(v), units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0] * 0.9995) {
        return "$" + Number((v / units[i][0]).toPrecision(3)) + units[i][1];
      }
    }
    return "$" + Number(v.toPrecision(3));
  }

  function fmtPrice(p) { return "$" + Math.round(p).toLocaleString("en-US"); }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function fmtTime(ms) {
    var d = new Date(ms);
    var p2 = function (n) { return (n < 10 ? "0" : "") + n; };
    return p2(d.getUTCDate()) + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + " " +
      p2(d.getUTCHours()) + ":" + p2(d.getUTCMinutes());
  }

  /* The window's composed raster layers (set by charts.js from the shared heat tiles). */
  function metaOf(el) {
    return el.__rasterMeta || null;
  }

  function currentLayer(meta) {
    if (state.layer && meta.layers[state.layer]) { return state.layer; }
    return meta.default;
  }

  function tipFor(el) {
    var tip = el.parentNode.querySelector(".heat-tip");
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "heat-tip";
      tip.setAttribute("role", "status");
      tip.hidden = true;
      el.parentNode.appendChild(tip);
    }
    return tip;
  }

  /* The value under plot coordinates (px, py) of a raster window: {col, row, level, value}. */
  function valueAt(view, meta, px, py) {
    var g = meta.layers[currentLayer(meta)];
    var t = +view.scale("x").invert(px), p = view.scale("y").invert(py);
    var col = Math.floor((t - g.t0) / g.tstep);
    var row = Math.floor((p - g.p0) / g.pstep);
    if (col < 0 || row < 0 || col >= g.cols || row >= g.rows) { return null; }
    return decode(g.url).then(function (img) {
      var level = img.idx[(g.rows - 1 - row) * img.w + col];
      return { col: col, row: row, level: level, value: level / 255 * g.vmax, g: g };
    });
  }

  /* The crosshair's params (reports/charts/heatmap_spec.py crosshair_layers): null hides
     it; a spec written before the crosshair has no such signals. */
  function cross(view, t, p, txt) {
    try {
      view.signal("cross_t", t).signal("cross_p", p).signal("cross_v", txt || "");
    } catch (e) { return; }
    view.runAsync();
  }

  /* The legend's unit, short for the crosshair's tag: "Mean notional per $250 band" gives
     "per $250 band" (the legend above the chart names the whole unit). */
  function tagUnit(unit) {
    var m = /^Mean notional (per .*)$/.exec(unit);
    return m ? m[1] : "(" + unit + ")";
  }

  function hover(el, view, meta) {
    var tip = tipFor(el), seq = 0;
    function hide() { seq += 1; tip.hidden = true; cross(view, null, null, ""); }
    view.addEventListener("mousemove", function (ev) {
      var canvas = el.querySelector("canvas");
      if (!canvas) { return; }
      // plot coordinates: the canvas box minus padding and the view's origin (as Vega does)
      var r = canvas.getBoundingClientRect(), o = view.origin(), pad = view.padding();
      var px = ev.clientX - r.left - pad.left - o[0], py = ev.clientY - r.top - pad.top - o[1];
      if (px < 0 || py < 0 || px > view.width() || py > view.height()) { hide(); return; }
      var t = +view.scale("x").invert(px), p = view.scale("y").invert(py), mine = ++seq;
      var got = valueAt(view, meta, px, py);
      if (!got) { tip.hidden = true; cross(view, t, p, "no value here"); return; }
      got.then(function (v) {
        if (mine !== seq) { return; } // the pointer has moved on
        var g = v.g, t0 = g.t0 + v.col * g.tstep, p0 = g.p0 + v.row * g.pstep;
        var val = (v.level === 255 ? "≥ " : "") + fmtUsd(v.value);
        cross(view, t, p, val + " " + tagUnit(meta.unit));
        // the same reading for assistive technology, with the cell's extent
        tip.innerHTML = "";
        [["Time", fmtTime(t0) + " to " + fmtTime(t0 + g.tstep) + " UTC"],
         ["Liquidation price", fmtPrice(p0) + " to " + fmtPrice(p0 + g.pstep)],
         [meta.unit, val]].forEach(function (kv) {
          var line = document.createElement("div");
          var b = document.createElement("strong");
          b.textContent = kv[0] + ": ";
          line.appendChild(b);
          var s = document.createElement("span");
          s.textContent = kv[1];
          if (kv[0] === meta.unit) { s.setAttribute("data-heat-value", String(v.value)); }
          line.appendChild(s);
          tip.appendChild(line);
        });
        tip.hidden = false;
      });
    });
    view.addEventListener("mouseout", hide);
    el.addEventListener("mouseleave", hide);
  }

  function showLayer(el, view, meta) {
    var key = currentLayer(meta), layer = meta.layers[key];
    var img = [{ url: layer.url, x: layer.t0, x2: layer.t0 + layer.cols * layer.tstep,
                 y: layer.p0, y2: layer.p0 + layer.rows * layer.pstep }];
    view.data("heatimg", img);
    view.signal("vmax", layer.vmax);
    // the level lines follow the view (a spec built before the lines had views has no signal)
    try { view.signal("layer", key); } catch (e) { /* no per-view lines */ }
    el.setAttribute("data-layer", key);
    return view.runAsync();
  }

  /* Called by charts.js after each chart is embedded (and re-embedded on a theme change). */
  function onEmbedded(el, view) {
    var meta = metaOf(el);
    if (meta) {
      var th = document.querySelector("input.heat-threshold");
      if (th && th.value !== "100" && window.liqData) { window.liqData.threshold(meta, parseFloat(th.value) / 100); }
      if (!el.__hover) { hover(el, view, meta); el.__hover = true; }
      decode(meta.layers[currentLayer(meta)].url);
      return showLayer(el, view, meta);
    }
    if (el.hasAttribute("data-layered")) {
      return view.signal("layer", state.layer || el.getAttribute("data-layered")).runAsync();
    }
    return null;
  }

  function setLayer(key) {
    state.layer = key;
    var views = window.__chartViews || {};
    Array.prototype.forEach.call(document.querySelectorAll(".chart"), function (el) {
      var v = views[el.id];
      if (!v) { return; }
      var meta = metaOf(el);
      if (meta) { showLayer(el, v, meta); }
      else if (el.hasAttribute("data-layered")) { v.signal("layer", key).runAsync(); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-layer-note]"), function (n) {
      n.hidden = n.getAttribute("data-layer-note") !== key;
    });
  }

  /* The colour threshold slider: the top of every heatmap's colour scale, as a share of the
     window's 99th percentile; colour, legend and hover values follow it. */
  function setupThreshold(input) {
    var out = document.getElementById(input.getAttribute("aria-describedby"));
    function apply() {
      var share = parseFloat(input.value) / 100;
      if (out) { out.textContent = input.value + "% of the 99th percentile"; }
      var views = window.__chartViews || {};
      var jobs = [];
      Array.prototype.forEach.call(document.querySelectorAll(".chart-heat"), function (el) {
        var meta = metaOf(el), v = views[el.id];
        if (!meta || !v) { return; }
        window.liqData.threshold(meta, share);
        jobs.push(showLayer(el, v, meta));
      });
      document.documentElement.setAttribute("data-heat-threshold", input.value);
      return Promise.all(jobs);
    }
    input.addEventListener("input", apply);
    state.applyThreshold = apply;
  }

  function setupSwitch(form) {
    function read() {
      var s = form.querySelector('input[name="scenario"]:checked');
      var l = form.querySelector('input[name="layer"]:checked');
      return (s ? s.value : "base") + "/" + (l ? l.value : "all");
    }
    form.addEventListener("change", function () { setLayer(read()); });
    state.layer = read();
  }

  /* The model/leverage switch and the colour-top slider: the same on every day page, so the
     page holds only an empty [data-heat-controls] and this script writes them. */
  var CONTROLS =
    '<form class="layer-switch" aria-label="Model and leverage layer">' +
    '<fieldset><legend>Leverage</legend>' +
    '<label><input type="radio" name="layer" value="all" checked> All</label> ' +
    '<label><input type="radio" name="layer" value="high"> High (\u2265 50x)</label> ' +
    '<label><input type="radio" name="layer" value="mid"> Mid (10x\u201350x)</label> ' +
    '<label><input type="radio" name="layer" value="low"> Low (\u2264 10x)</label></fieldset>' +
    '<fieldset><legend>Model</legend>' +
    '<label><input type="radio" name="scenario" value="base" checked> Base</label> ' +
    '<label><input type="radio" name="scenario" value="never_close"> Never close (vendor-style)</label>' +
    '</fieldset></form>' +
    '<p class="heat-threshold-row"><label for="heat-threshold">Colour top</label> ' +
    '<input type="range" class="heat-threshold" id="heat-threshold" min="5" max="100" step="5" ' +
    'value="100" aria-describedby="heat-threshold-value"> ' +
    '<output id="heat-threshold-value" for="heat-threshold">100% of the 99th percentile</output></p>' +
    '<p class="caveat-inline">The switch moves the 24h and 1w heatmaps and the liquidation map; ' +
    "the 1m, 3m and 1y heatmaps do not take the switch (base model, all leverage).</p>";
  Array.prototype.forEach.call(document.querySelectorAll("[data-heat-controls]"), function (el) {
    el.innerHTML = CONTROLS;
  });
  Array.prototype.forEach.call(document.querySelectorAll("form.layer-switch"), setupSwitch);
  Array.prototype.forEach.call(document.querySelectorAll("input.heat-threshold"), setupThreshold);
  window.liqmapHeat = { onEmbedded: onEmbedded, setLayer: setLayer, valueAt: valueAt,
                        metaOf: metaOf, decode: decode, fmtUsd: fmtUsd,
                        layer: function () { return state.layer; },
                        VIRIDIS_HEX: VIRIDIS_HEX };
})();
