/* The site's shared data (reports/datafiles.py): data files are scripts that assign to
   window.LIQMAP_DATA[key], loaded on demand with <script src> (works from file://), chart
   specs filled from assets/specs.js, and heatmap windows composed from the shared monthly
   heat tiles (reports/heat_tiles.py) into the viridis PNG layers heatlayers.js shows. */
(function () {
  "use strict";
  var D = window.LIQMAP_DATA = window.LIQMAP_DATA || {};
  var pending = {};
  var LOG_DECADES = 5;
  var VIRIDIS = null;

  function siteRoot() {
    var el = document.querySelector("[data-site-root]");
    return el ? el.getAttribute("data-site-root") : "";
  }

  /* A packed file's object (reports.day_packs): `data` still to inflate. */
  function packed(f) { return typeof f.data === "string" && typeof f.bytes === "number"; }

  /* The data script `key` (a Promise of what it assigns; a packed document unpacked, a
     month file of day documents as it is); rejects naming the file. */
  function loadScript(key) {
    if (D[key] && !packed(D[key])) { return Promise.resolve(D[key]); }
    if (!pending[key]) {
      pending[key] = new Promise(function (resolve, reject) {
        if (D[key]) { resolve(D[key]); return; } // assigned by the page's own <script>
        var s = document.createElement("script");
        s.src = siteRoot() + "data/" + key + ".js";
        s.onload = function () {
          if (D[key]) { resolve(D[key]); } else { reject(new Error("data file " + key + ".js assigns nothing")); }
        };
        s.onerror = function () { reject(new Error("data file missing: data/" + key + ".js")); };
        document.head.appendChild(s);
      }).then(function (f) {
        if (!packed(f) || f.kind === "days") { return f; }
        return inflate(f).then(function (bytes) {
          D[key] = JSON.parse(new TextDecoder().decode(bytes));
          return D[key];
        });
      });
    }
    return pending[key];
  }

  /* ---- month files of day documents (reports/day_packs.py, docs/api.md) ---- */
  var BITS = 15, OFFSET = 0x800;
  var unpacked = {};

  /* The bytes a month file's `data` carries: 15 bits per character, U+0800 + value. */
  function packedBytes(text, n) {
    var out = new Uint8Array(n), acc = 0, bits = 0, j = 0;
    for (var i = 0; i < text.length && j < n; i++) {
      acc = (acc << BITS) | (text.charCodeAt(i) - OFFSET);
      bits += BITS;
      while (bits >= 8 && j < n) { bits -= 8; out[j++] = (acc >>> bits) & 255; }
      acc &= (1 << bits) - 1;
    }
    return out;
  }

  /* The payload's day documents (reports.day_packs.decode): a line "<double bytes>
     <codes>", the JSON text and a newline, the doubles' bytes in 8 planes, then the $sig
     codes' 3 bytes in 3 planes; the JSON's placeholders take them in text order. */
  function dayDocs(payload) {
    var cut1 = payload.indexOf(10), cut2 = payload.indexOf(10, cut1 + 1);
    var head = new TextDecoder().decode(payload.subarray(0, cut1)).split(" ");
    var n64 = Number(head[0]), nsig = Number(head[1]), per = n64 / 8, at64 = 0, atSig = 0;
    var f64 = payload.subarray(cut2 + 1, cut2 + 1 + n64);
    var sig = payload.subarray(cut2 + 1 + n64, cut2 + 1 + n64 + 3 * nsig);
    var text = new TextDecoder().decode(payload.subarray(cut1 + 1, cut2))
      .replace(/\{"\$f64":(\d+)\}|\{"\$sig":\[([34]),(\d+)\]\}/g, function (m, nb, w, nc) {
        var s = "", i;
        if (nb !== undefined) {
          for (i = 0; i < Number(nb); i++, at64++) { s += String.fromCharCode(f64[(at64 % 8) * per + (at64 >> 3)]); }
          return '{"$f64":"' + btoa(s) + '"}';
        }
        w = Number(w);
        for (i = 0; i < Number(nc); i++, atSig++) {
          var code = sig[atSig] * 65536 + sig[nsig + atSig] * 256 + sig[2 * nsig + atSig];
          for (var j = w - 1; j >= 0; j--) { s += SIG.charAt(Math.floor(code / Math.pow(64, j)) % 64); }
        }
        return '{"$sig":[' + w + ',"' + s + '"]}';
      });
    var body = JSON.parse(text), taken = body.paths.map(function () { return 0; });
    return body.shape.map(function (sh) {
      var doc = {};
      body.shapes[sh].forEach(function (i) {
        var path = body.paths[i], node = doc;
        for (var p = 0; p < path.length - 1; p++) {
          if (!node[path[p]]) { node[path[p]] = {}; }
          node = node[path[p]];
        }
        node[path[path.length - 1]] = body.values[i][taken[i]++];
      });
      return doc;
    });
  }

  /* A packed file's payload: its `data` inflated by the browser (deflate-raw). */
  function inflate(f) {
    var raw = new Blob([packedBytes(f.data, f.bytes)]);
    var stream = raw.stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Response(stream).arrayBuffer().then(function (buf) { return new Uint8Array(buf); });
  }

  /* A month file's days, each put in D under its day key. */
  function loadPack(key) {
    if (!unpacked[key]) {
      unpacked[key] = loadScript(key).then(inflate).then(function (payload) {
        var prefix = key.slice(0, key.lastIndexOf("/") + 1);
        dayDocs(payload).forEach(function (doc) { D[prefix + "day-" + doc.day] = doc; });
      });
    }
    return unpacked[key];
  }

  /* The data file `key` (a Promise of its object); a day's document comes from its month
     file. Rejects naming the file when missing. */
  function load(key) {
    if (D[key]) { return Promise.resolve(D[key]); }
    var m = /^(.*\/)day-(\d{4}-\d{2})-\d{2}$/.exec(key);
    if (!m) { return loadScript(key); }
    var pack = m[1] + "days-" + m[2];
    return loadPack(pack).then(function () {
      if (D[key]) { return D[key]; }
      throw new Error("day " + key.slice(-10) + " missing from data/" + pack + ".js");
    });
  }

  /* reports.charts.spec._sig: `width` characters per value, m * 10^e (powers as literals) */
  var SIG = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var SIG_M = { 3: 4096, 4: 32768 };
  var POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
               1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
  function unsig(width, text) {
    var out = [], big = SIG_M[width];
    for (var j = 0; j < text.length; j += width) {
      var code = 0;
      for (var i = 0; i < width; i++) { code = code * 64 + SIG.indexOf(text.charAt(j + i)); }
      if (code >= 45 * big) { // a run of zeros (reports.charts.spec.SIG_RUNS)
        for (var z = code - 45 * big + 2; z > 0; z--) { out.push(0); }
        continue;
      }
      var e = Math.floor(code / big) - 22, m = code % big - big / 2;
      out.push(e >= 0 ? m * POW10[e] : m / POW10[-e]);
    }
    return out;
  }

  function csvNum(v) { return v === null || v === undefined ? "" : String(v); }

  /* The values of one column of a {$cols} value, in any of its codings
     (reports.charts.spec._column, docs/api.md). */
  function column(c) {
    if (Array.isArray(c)) { return c; }
    var out = [], i, j;
    if (c.$rle) {
      c.$rle.forEach(function (run) { for (var r = 0; r < run[1]; r++) { out.push(run[0]); } });
    } else if (c.$seq) {
      for (i = 0; i < c.$seq[2]; i++) { out.push(c.$seq[0] + i * c.$seq[1]); }
    } else if (c.$delta) {
      var acc = c.$delta[0], deltas = column(c.$delta[1]);
      out.push(acc);
      for (i = 0; i < deltas.length; i++) { acc = acc + deltas[i]; out.push(acc); }
    } else if (c.$rep) {
      var inner = column(c.$rep[0]);
      for (j = 0; j < c.$rep[1]; j++) { out = out.concat(inner); }
    } else if (c.$dict) {
      var keys = c.$dict[0];
      out = column(c.$dict[1]).map(function (k) { return keys[k]; });
    } else if (c.$each) {
      column(c.$each[0]).forEach(function (v) { for (var r = 0; r < c.$each[1]; r++) { out.push(v); } });
    } else if (c.$dec) {
      var scale = [1, 10, 100, 1e3, 1e4, 1e5, 1e6][c.$dec[0]];
      out = column(c.$dec[1]).map(function (v) { return v / scale; });
    } else if (c.$sig !== undefined) {
      out = unsig(c.$sig[0], c.$sig[1]);
    } else if (c.$nulls || c.$zeros) {
      var parts = c.$nulls || c.$zeros, gap = c.$nulls ? null : 0;
      var held = column(parts[1]), h = 0;
      parts[0].forEach(function (count, r) {
        for (var q = 0; q < count; q++) { out.push(r % 2 === 0 ? held[h++] : gap); }
      });
    } else if (c.$f64 !== undefined) { // little-endian IEEE doubles, base64
      var bin = atob(c.$f64), dv = new DataView(new ArrayBuffer(bin.length));
      for (i = 0; i < bin.length; i++) { dv.setUint8(i, bin.charCodeAt(i)); }
      for (i = 0; i < bin.length; i += 8) { out.push(dv.getFloat64(i, true)); }
    } else {
      throw new Error("unknown column coding " + Object.keys(c).join(","));
    }
    return out;
  }

  /* A chart value, with shared references replaced by their rows. */
  function resolveValue(v) {
    if (v && typeof v === "object" && !Array.isArray(v) && v.$cols) {
      var keys = v.$cols[0], columns = v.$cols[1].map(column);
      var n = columns.length ? columns[0].length : 0, rows = [];
      for (var i = 0; i < n; i++) {
        var o = {};
        for (var k = 0; k < keys.length; k++) { o[keys[k]] = columns[k][i]; }
        rows.push(o);
      }
      return Promise.resolve(rows);
    }
    if (v && typeof v === "object" && !Array.isArray(v) && v.$table) {
      var cols = v.$table[0];
      return Promise.resolve(v.$table[1].map(function (r) {
        var o = {};
        cols.forEach(function (c, i) { o[c] = r[i]; });
        return o;
      }));
    }
    if (v && typeof v === "object" && !Array.isArray(v) && v.$text) {
      return Promise.resolve(text(v));
    }
    if (v && typeof v === "object" && !Array.isArray(v) && v.$stack) {
      // stacked segments (reports.charts.spec.stacked): consecutive stacks of n[i] rows,
      // each row's bottom v0 the top v1 of the row before it in its stack, 0 for the first
      return resolveValue(v.$stack).then(function (rows) {
        var i = 0;
        column(v.n).forEach(function (n) {
          var below = 0;
          for (var j = i; j < i + n; j++) { rows[j].v0 = below; below = rows[j].v1; }
          i += n;
        });
        return rows;
      });
    }
    if (v && typeof v === "object" && !Array.isArray(v) && v.$series) {
      return load(v.$series).then(function (f) {
        var s = f.series[v.name], cols = s.cols.slice(1), out = [];
        s.rows.forEach(function (r) {
          if (r[0] >= v.from && r[0] <= v.to) { out.push(r.slice(1)); }
        });
        if (v.as === "csv") {
          return [cols.join(",")].concat(out.map(function (r) { return r.map(csvNum).join(","); })).join("\n");
        }
        return out.map(function (r) {
          var o = {};
          cols.forEach(function (c, i) { o[c] = r[i]; });
          return o;
        });
      });
    }
    if (v && typeof v === "object" && !Array.isArray(v) && v.$moves) {
      // the last n swings of the shared moves file known on the page's day, then the
      // running one (reports.cards.moves.resolve_moves): never a swing confirmed later
      return load(v.$moves).then(function (f) {
        var known = f.moves.rows.filter(function (r) { return r[1] <= v.day; });
        return moveRows(known.slice(Math.max(0, known.length - v.n)).concat(v.run));
      });
    }
    if (v && typeof v === "object" && !Array.isArray(v) && v.$marks) {
      return load(v.$marks).then(function (f) { return levelMarks(f.levels, v); });
    }
    if (v && typeof v === "object" && !Array.isArray(v) && (v.$candles || v.$closes)) {
      return ohlcBetween(v.$candles || v.$closes, v.from - HOUR, v.to).then(function (q) {
        if (v.$candles) {
          return candles(q, v.w, v.from, v.to).filter(function (c) { return c.x2 > v.lo && c.x < v.hi; });
        }
        return closes(q, v.from, v.to, v.max).filter(function (p) { return p.x >= v.lo && p.x <= v.hi; });
      });
    }
    return Promise.resolve(v);
  }

  var HOUR = 3600000;

  /* The moves chart's rows of swings [start, known, label, ml, ms, rl, rs, collected]
     (reports.cards.moves.entry_rows). */
  function moveRows(entries) {
    var rows = [], labels = {};
    var anyCollected = entries.some(function (e) { return e[7] !== "not collected"; });
    entries.forEach(function (e, i) {
      var label = e[2];
      if (e[7] !== "complete" && anyCollected) { label += " (" + e[7] + ")"; }
      while (labels[label]) { label += " "; }
      labels[label] = true;
      [["Longs liquidated", "longs", e[3], e[5]], ["Shorts liquidated", "shorts", e[4], e[6]]]
        .forEach(function (s) {
          [["Modelled", s[2]], ["Realized", s[3]]].forEach(function (k) {
            if (k[1] === null || k[1] === undefined) { return; }
            rows.push({ label: label, order: i, start: e[0], side: s[0], kind: k[0],
                        series: k[0] + " " + s[1], collected: e[7], v: k[1] });
          });
        });
    });
    return rows;
  }

  /* ---- level marks: reports.key_levels (_marks, _label_places, resolve_marks) and the
     price and percentage formats of reports.notation, giving the same text ---- */
  var MINUS = "\u2212";
  var LABEL_GAP = 0.05;
  var POW10_NEG = [1, 0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11];
  var EXACT_HALF = "5" + new Array(25).join("0"); // a 5 and 24 zeros

  /* |x| with n decimals as Python formats it: the exact value rounded, a half to even
     (toFixed takes it away from zero); the sign in front ("-0.0" for a tiny negative). */
  function pyFixed(x, n) {
    var a = Math.abs(x), s = a.toFixed(n);
    if (n + 25 <= 100) {
      var long = a.toFixed(n + 25);
      if (long.slice(-25) === EXACT_HALF) {
        var cut = long.slice(0, long.length - 25);
        if (cut.charAt(cut.length - 1) === ".") { cut = cut.slice(0, -1); }
        if ((cut.charCodeAt(cut.length - 1) - 48) % 2 === 0) { s = cut; }
      }
    }
    return (x < 0 || Object.is(x, -0) ? "-" : "") + s;
  }

  function pyRound(x, n) { return Number(pyFixed(x, n)); }

  /* Python's format(x, ".<p>g") */
  function pyG(x, p) {
    if (x === 0) { return Object.is(x, -0) ? "-0" : "0"; }
    var a = Math.abs(x), e = Math.floor(Math.log10(a)), s, digits;
    for (var tries = 0; tries < 3; tries++) {
      s = pyFixed(a, Math.max(0, p - 1 - e));
      digits = s.replace(".", "").replace(/^0+/, "");
      if (p - 1 - e < 0) { digits = digits.slice(0, digits.length + (p - 1 - e)); }
      if (digits.length > p) { e += 1; } else if (digits.length < p) { e -= 1; } else { break; }
    }
    var out;
    if (e < -4 || e >= p) {
      var m = digits.charAt(0) + "." + digits.slice(1);
      m = m.replace(/0+$/, "").replace(/\.$/, "");
      out = m + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
    } else {
      out = s.indexOf(".") >= 0 ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
    }
    return (x < 0 ? "-" : "") + out;
  }

  function grouped(s) {
    return s.replace(/^\d+/, function (int) { return int.replace(/\B(?=(\d{3})+(?!\d))/g, ","); });
  }

  function halfUp(x, step) {
    var v = Math.floor(Math.abs(x) / step + 0.5) * step;
    return x < 0 ? -v : v;
  }

  /* reports.notation.shown_price / fmt_price under a price scale of `dec` decimals */
  function shownPrice(x, dec) {
    var a = Math.abs(x);
    if (a >= 10000) { return halfUp(x, 100); }
    if (a >= 1000) { return halfUp(x, 10); }
    if (dec !== null) { return pyRound(halfUp(x, POW10_NEG[dec]), dec); }
    if (a >= 1) { return pyRound(halfUp(x, 0.01), 2); }
    return Number(pyG(x, 4));
  }

  function fmtPrice(x, dec) {
    var v = shownPrice(x, dec), sign = v < 0 ? MINUS : "", a = Math.abs(v);
    if (a >= 1000) { return sign + "$" + grouped(pyFixed(a, 0)); }
    if (dec !== null) { return sign + "$" + grouped(pyFixed(a, dec)); }
    if (a >= 1) { return sign + "$" + grouped(pyFixed(a, 2)); }
    return sign + "$" + pyG(a, 4);
  }

  function fmtPct(x) {
    var s = pyFixed(x * 100, 1);
    return (s.charAt(0) === "-" ? s : "+" + s).replace("-", MINUS) + "%";
  }

  function labelPlaces(marks, lo, hi) {
    marks.forEach(function (m) { m.ly = m.c; });
    if (lo === null || hi === null || !(hi > lo)) { return; }
    var gap = (hi - lo) * LABEL_GAP;
    [marks.filter(function (m) { return m.kind === "spot"; }),
     marks.filter(function (m) { return m.kind !== "spot"; })].forEach(function (column) {
      var ceiling = hi - gap;
      column.slice().sort(function (a, b) { return b.c - a.c; }).forEach(function (m) {
        m.ly = Math.min(m.c, ceiling);
        ceiling = m.ly - gap;
      });
      var floor = lo + gap / 2;
      if (column.some(function (m) { return m.ly < floor; })) {
        var lowest = Math.min.apply(null, column.map(function (m) { return m.ly; }));
        var lift = floor - lowest;
        column.forEach(function (m) { m.ly = Math.min(m.ly + lift, hi - gap); });
      }
    });
  }

  /* One view's marks from its row of the day file's levels (reports.key_levels._marks). */
  function viewMarks(row, lo, hi, dec) {
    var spot = row[1], marks = [], nd = dec === null ? 2 : Math.max(2, dec + 1);
    if (spot !== null) { marks.push({ c: spot, price: spot, kind: "spot", side: "", label: "Now" }); }
    [["above", "shorts", row[2], row[3]], ["below", "longs", row[4], row[5]]].forEach(function (s) {
      if (s[2] !== null) {
        marks.push({ c: s[2], price: s[2], kind: "nearest", side: s[0], label: "Nearest " + s[1] });
      }
      if (s[3] !== null) {
        marks.push({ c: s[3], price: s[3], kind: "p90", side: s[0],
                     label: "90% " + s[1] + (row[6] ? " in window" : "") });
      }
    });
    marks.forEach(function (m) {
      var text = m.label + " " + fmtPrice(m.price, dec);
      if (m.kind !== "spot" && spot !== null && spot) { text += " (" + fmtPct(m.price / spot - 1) + ")"; }
      if (lo !== null && m.price < lo) { m.c = lo; text = "\u2193 " + text; }
      else if (hi !== null && m.price > hi) { m.c = hi; text = "\u2191 " + text; }
      m.label = text;
    });
    labelPlaces(marks, lo, hi);
    marks.forEach(function (m) {
      m.c = pyRound(m.c, nd); m.price = pyRound(m.price, nd); m.ly = pyRound(m.ly, nd);
    });
    return marks;
  }

  /* A {$marks: key, views, lo, hi, f} value: the level marks of the chosen views of the
     day file's `levels`, with fields f (reports.key_levels.resolve_marks). */
  function levelMarks(levels, v) {
    var lo = v.lo === undefined ? null : v.lo, hi = v.hi === undefined ? null : v.hi;
    var dec = levels.dec === undefined ? null : levels.dec, out = [];
    v.views.forEach(function (i) {
      var row = levels.rows[i];
      viewMarks(row, lo, hi, dec).forEach(function (m, j) {
        m.row = j; m.k = row[0];
        var o = {};
        v.f.forEach(function (f) { o[f] = m[f]; });
        out.push(o);
      });
    });
    return out;
  }

  /* A {$text: name, a: fields} value: the text pattern of assets/specs.js with its {field}s
     filled (reports.charts.spec.fill_text). */
  function text(v) {
    var pattern = window.LIQMAP_TEXTS && window.LIQMAP_TEXTS[v.$text];
    if (pattern === undefined) { throw new Error("text pattern missing: " + v.$text + " (assets/specs.js)"); }
    return pattern.replace(/\{([a-z_]+)\}/g, function (m, k) { return v.a[k]; });
  }

  /* Hourly OHLC of the heat months between t0 and t1 (x = hour start), in time order. */
  function ohlcBetween(prefix, t0, t1) {
    var keys = monthsBetween(t0, t1).map(function (m) { return prefix + "heat-" + m; });
    return Promise.all(keys.map(function (k) { return load(k).catch(function () { return null; }); }))
      .then(function (files) {
        var out = { x: [], o: [], h: [], l: [], c: [] };
        files.forEach(function (f) {
          if (!f) { return; }
          ["x", "o", "h", "l", "c"].forEach(function (k) { out[k] = out[k].concat(column(f.ohlc[k])); });
        });
        return out;
      });
  }

  /* reports.charts.raster.candles: hourly bars merged into w-hour candles aligned to t1. */
  function candles(q, w, t0, t1) {
    var width = w * HOUR, groups = {}, order = [];
    for (var i = 0; i < q.x.length; i++) {
      var x = q.x[i];
      if (x < t0 || x >= t1 || q.c[i] === null || !isFinite(q.c[i])) { continue; }
      var g = Math.floor((t1 - 1 - x) / width);
      if (!groups[g]) { groups[g] = []; order.push(g); }
      groups[g].push(i);
    }
    order.sort(function (a, b) { return b - a; });
    return order.map(function (g) {
      var ix = groups[g].slice().sort(function (a, b) { return q.x[a] - q.x[b]; });
      var left = t1 - (g + 1) * width, h = -Infinity, l = Infinity;
      ix.forEach(function (i) { h = Math.max(h, q.h[i]); l = Math.min(l, q.l[i]); });
      return { x: left, x2: left + width, o: q.o[ix[0]], h: h, l: l, c: q.c[ix[ix.length - 1]] };
    });
  }

  /* reports.datafiles.thinned_closes: hourly closes, every n-th hour aligned to t1. */
  function closes(q, t0, t1, most) {
    var xs = [], cs = [];
    for (var i = 0; i < q.x.length; i++) {
      var x = q.x[i] + HOUR;
      if (x >= t0 && x <= t1) { xs.push(x); cs.push(q.c[i]); }
    }
    var step = Math.max(1, Math.ceil(xs.length / most)), out = [];
    for (var j = 0; j < xs.length; j++) {
      if (step > 1 && j + 1 < xs.length &&
          Math.floor((t1 - xs[j]) / (step * HOUR)) === Math.floor((t1 - xs[j + 1]) / (step * HOUR))) {
        continue;
      }
      out.push({ x: xs[j], c: cs[j] });
    }
    return out;
  }

  /* The whole spec of a spec ref {"t", "v", "n"} (reports/charts/spec.py). */
  function spec(ref) {
    var tpl = window.LIQMAP_SPECS && window.LIQMAP_SPECS[ref.t];
    if (!tpl) { return Promise.reject(new Error("chart template missing: " + ref.t + " (assets/specs.js)")); }
    var names = Object.keys(ref.v || {});
    return Promise.all(names.map(function (k) { return resolveValue(ref.v[k]); })).then(function (vals) {
      var text = tpl;
      Object.keys(ref.n || {}).forEach(function (k) { text = text.split("__N_" + k + "__").join(String(ref.n[k])); });
      names.forEach(function (k, i) { text = text.split('"__P_' + k + '__"').join(JSON.stringify(vals[i])); });
      if (text.indexOf("__P_") >= 0 || text.indexOf("__N_") >= 0) {
        throw new Error("unfilled placeholder in chart " + ref.t);
      }
      return JSON.parse(text);
    });
  }

  /* ---- heat tiles ---- */
  var tileCache = {};
  function tileValues(tile) {
    if (!tileCache[tile.png]) {
      tileCache[tile.png] = new Promise(function (resolve, reject) {
        var img = new Image();
        img.onload = function () {
          var c = document.createElement("canvas");
          c.width = img.naturalWidth; c.height = img.naturalHeight;
          var ctx = c.getContext("2d");
          ctx.drawImage(img, 0, 0);
          var px = ctx.getImageData(0, 0, c.width, c.height).data;
          var vals = new Float64Array(tile.cols * tile.rows), lut = new Float64Array(256);
          for (var l = 1; l < 256; l++) { lut[l] = tile.top * Math.pow(10, (l - 255) * LOG_DECADES / 254); }
          for (var y = 0; y < tile.rows; y++) {
            var b = tile.rows - 1 - y;
            for (var x = 0; x < tile.cols; x++) {
              vals[x * tile.rows + b] = lut[px[4 * (y * c.width + x)]];
            }
          }
          resolve(vals);
        };
        img.onerror = function () { reject(new Error("heat tile image not decodable")); };
        img.src = tile.png;
      });
    }
    return tileCache[tile.png];
  }

  var available = null; // the heat months the page may read (its day data's heat_months)
  function setMonths(list) { available = list || null; }

  function monthsBetween(t0, t1) {
    var out = [], d = new Date(t0), end = new Date(t1 - 1);
    var y = d.getUTCFullYear(), m = d.getUTCMonth();
    while (y < end.getUTCFullYear() || (y === end.getUTCFullYear() && m <= end.getUTCMonth())) {
      out.push(y + "-" + (m < 9 ? "0" : "") + (m + 1));
      m += 1; if (m === 12) { m = 0; y += 1; }
    }
    return available ? out.filter(function (k) { return available.indexOf(k) >= 0; }) : out;
  }

  function viridis() {
    if (!VIRIDIS) {
      var hex = window.liqmapHeat.VIRIDIS_HEX;
      VIRIDIS = new Uint8Array(768);
      for (var i = 0; i < 768; i++) { VIRIDIS[i] = parseInt(hex.substr(2 * i, 2), 16); }
    }
    return VIRIDIS;
  }

  /* numpy's default (linear) percentile of the non-zero cells, at 3 significant digits. */
  function vmaxOf(grid) {
    var nz = [];
    for (var i = 0; i < grid.length; i++) { if (grid[i] > 0) { nz.push(grid[i]); } }
    if (!nz.length) { return 1; }
    nz.sort(function (a, b) { return a - b; });
    var pos = 0.99 * (nz.length - 1), lo = Math.floor(pos), f = pos - lo;
    var v = lo + 1 < nz.length ? nz[lo] + (nz[lo + 1] - nz[lo]) * f : nz[lo];
    return Number(v.toPrecision(3));
  }

  /* A grid as the viridis PNG (data URL): level = value / vmax × 255, highest price on top. */
  function colour(grid, g, vmax) {
    var pal = viridis(), cv = document.createElement("canvas");
    cv.width = g.cols; cv.height = g.rows;
    var ctx = cv.getContext("2d"), im = ctx.createImageData(g.cols, g.rows);
    for (var c2 = 0; c2 < g.cols; c2++) {
      for (var r2 = 0; r2 < g.rows; r2++) {
        var lv = Math.round(Math.min(1, Math.max(0, grid[c2 * g.rows + r2] / vmax)) * 255);
        var o = 4 * ((g.rows - 1 - r2) * g.cols + c2);
        im.data[o] = pal[3 * lv]; im.data[o + 1] = pal[3 * lv + 1];
        im.data[o + 2] = pal[3 * lv + 2]; im.data[o + 3] = 255;
      }
    }
    ctx.putImageData(im, 0, 0);
    return cv.toDataURL("image/png");
  }

  /* The colour threshold: every composed layer recoloured with its top at `share` of its
     99th percentile (a lower top brings out the smaller clusters). */
  function threshold(meta, share) {
    Object.keys(meta.layers).forEach(function (k) {
      var layer = meta.layers[k];
      if (!layer.grid) { return; }
      var vmax = Number((layer.p99 * share).toPrecision(3));
      if (vmax === layer.vmax) { return; }
      layer.vmax = vmax;
      layer.url = colour(layer.grid, layer, vmax);
    });
  }

  /* One layer of a window: its grid from the tiles (mean over time, sum over price bins),
     coloured on its own 99th percentile (level = value / vmax × 255, viridis). */
  function composeLayer(prefix, src, g) {
    var t1 = g.t0 + g.cols * g.tstep;
    var keys = monthsBetween(g.t0, t1).map(function (m) { return prefix + "heat-" + m; });
    return Promise.all(keys.map(function (k) { return load(k).catch(function () { return null; }); }))
      .then(function (files) {
        var tiles = files.map(function (f) {
          return f ? (src === "base/all" ? f.base : (f.views || {})[src]) : null;
        }).filter(Boolean);
        return Promise.all(tiles.map(tileValues)).then(function (all) {
          var grid = new Float64Array(g.cols * g.rows);
          var per = 1;
          tiles.forEach(function (tile, n) {
            var vals = all[n];
            per = g.tstep / tile.step;
            var rowOf = new Int32Array(tile.rows);
            for (var b = 0; b < tile.rows; b++) {
              var centre = tile.p0 + (b + 0.5) * tile.pw;
              var r = Math.floor((centre - g.p0) / g.pstep);
              rowOf[b] = r >= 0 && r < g.rows ? r : -1;
            }
            for (var tc = 0; tc < tile.cols; tc++) {
              var t = tile.t0 + tc * tile.step;
              if (t < g.t0 || t >= t1) { continue; }
              var c = Math.floor((t - g.t0) / g.tstep), base = tc * tile.rows;
              for (var bb = 0; bb < tile.rows; bb++) {
                var v = vals[base + bb];
                if (v && rowOf[bb] >= 0) { grid[c * g.rows + rowOf[bb]] += v; }
              }
            }
          });
          for (var i = 0; i < grid.length; i++) { grid[i] /= per; }
          var vmax = vmaxOf(grid);
          var out = { url: colour(grid, g, vmax), vmax: vmax, t0: g.t0, tstep: g.tstep,
                      cols: g.cols, p0: g.p0, pstep: g.pstep, rows: g.rows };
          // kept for the colour threshold (recolour), out of the layer's enumerable fields
          Object.defineProperty(out, "grid", { value: grid, enumerable: false });
          Object.defineProperty(out, "p99", { value: vmax, enumerable: false });
          return out;
        });
      });
  }

  /* A window's raster description with every layer composed (heatlayers.js reads it). A
     layer holds only what differs from the window's shared `grid` (reports.charts.raster
     shared_grid; a file written before has whole layers and no grid). */
  function compose(prefix, raster) {
    var keys = Object.keys(raster.layers);
    return Promise.all(keys.map(function (k) {
      return composeLayer(prefix, k, Object.assign({}, raster.grid || {}, raster.layers[k]));
    }))
      .then(function (layers) {
        var out = { unit: raster.unit, default: raster.default, layers: {} };
        keys.forEach(function (k, i) { out.layers[k] = layers[i]; });
        return out;
      });
  }

  window.liqData = { threshold: threshold, setMonths: setMonths, load: load, spec: spec, compose: compose, resolveValue: resolveValue,
                     text: text, fmtPrice: fmtPrice, fmtPct: fmtPct, levelMarks: levelMarks,
                     column: column,
                     monthsBetween: monthsBetween };
})();
