/* The archive's venue switch: each row's figures from that venue's shared daily series
   (data/<SYMBOL>/<venue>/daily.js), and day links that open on that venue's charts. */
(function () {
  "use strict";
  var group = document.getElementById("archive-venues");
  if (!group) { return; }
  var root = group.getAttribute("data-site-root");
  var D = window.LIQMAP_DATA = window.LIQMAP_DATA || {};
  var original = {};

  function load(key) {
    if (D[key]) { return Promise.resolve(D[key]); }
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = root + "data/" + key + ".js";
      s.onload = function () { resolve(D[key]); };
      s.onerror = function () { reject(new Error("data file missing: data/" + key + ".js")); };
      document.head.appendChild(s);
    });
  }

  function usd(v) {
    if (v === null || v === undefined) { return "n/a"; }
    var a = Math.abs(v), units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0] * 0.9995) { return "$" + Number((v / units[i][0]).toPrecision(3)) + units[i][1]; }
    }
    return "$" + Number(v.toPrecision(3));
  }

  function price(v) {
    if (v === null || v === undefined) { return "n/a"; }
    var d = v >= 1000 ? 0 : v >= 1 ? 2 : 5;
    return "$" + v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  /* The site's imbalance notation (reports.notation.imbalance). */
  function ratio(s, l) {
    if (!(s > 0 && l > 0)) { return s > 0 ? "shorts only" : l > 0 ? "longs only" : "n/a"; }
    if (s === l) { return "1:1 even"; }
    var r = Math.max(s, l) / Math.min(s, l);
    return (r >= 9.95 ? r.toFixed(0) : r.toFixed(1)) + ":1 " + (s > l ? "shorts" : "longs");
  }

  function show(button) {
    var venue = button.getAttribute("data-venue"), key = button.getAttribute("data-daily");
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    return load(key).then(function (f) {
      var s = f.series.hist, cols = s.cols, byDay = {};
      s.rows.forEach(function (r) { byDay[r[0]] = r; });
      var at = function (r, c) { return r[cols.indexOf(c)]; };
      Array.prototype.forEach.call(document.querySelectorAll("tr[data-day]"), function (tr) {
        var day = tr.getAttribute("data-day"), r = byDay[day];
        var link = tr.querySelector("a");
        if (!original[day]) {
          original[day] = { href: link.getAttribute("href"), cells: {} };
          Array.prototype.forEach.call(tr.querySelectorAll("td[data-col]"), function (td) {
            original[day].cells[td.getAttribute("data-col")] = td.textContent;
          });
        }
        link.setAttribute("href", original[day].href + (venue === "all" ? "" : "#venue=" + venue));
        tr.setAttribute("data-venue-shown", venue);
        Array.prototype.forEach.call(tr.querySelectorAll("td[data-col]"), function (td) {
          var c = td.getAttribute("data-col");
          if (venue === "all") { td.textContent = original[day].cells[c]; return; }
          if (!r) { td.textContent = "—"; return; }
          td.textContent = c === "c" ? price(at(r, "c")) : c === "ratio" ? ratio(at(r, "S"), at(r, "L")) : usd(at(r, c));
        });
      });
      group.setAttribute("data-shown", venue);
    });
  }

  Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () { show(b); });
  });
  window.liqArchive = { show: show };
})();
