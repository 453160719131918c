/* Day pages are immutable: rendered once, never rewritten. So the "next day" link a page was
   rendered with ("Latest report" while it was the newest day) is upgraded here from
   window.LIQMAP_DAYS, the published days that every build rewrites into assets/days.js.
   Without JavaScript (or without days.js) the server-rendered link stays. */
(function () {
  "use strict";
  var nav = document.querySelector("nav.daynav[data-day]");
  var days = window.LIQMAP_DAYS;
  if (!nav || !Array.isArray(days)) { return; }
  var day = nav.getAttribute("data-day");
  var root = nav.getAttribute("data-root") || "";
  var iso = /^\d{4}-\d{2}-\d{2}$/;
  var next = null;
  days.forEach(function (d) {
    if (typeof d === "string" && iso.test(d) && d > day && (next === null || d < next)) {
      next = d;
    }
  });
  var link = nav.querySelector('a[data-nav="next"]');
  if (!next || !link) { return; }
  link.setAttribute("href", root + next + "/index.html");
  link.setAttribute("rel", "next");
  link.textContent = next + " \u2192";
})();
