/* Small progressive enhancements shared by every page. The pages work without this file. */
(function () {
  "use strict";
  var wide = window.matchMedia ? window.matchMedia("(min-width: 1000px)") : null;

  // On a phone the search filters start folded so the results come first; on a wide screen they
  // are a sidebar and always open. The server renders them open, so without script nothing hides.
  function foldFilters() {
    var drawer = document.querySelector(".facet-drawer");
    if (drawer && wide) {
      drawer.open = wide.matches;
    }
  }

  document.addEventListener("DOMContentLoaded", foldFilters);
  document.addEventListener("htmx:after:swap", foldFilters);
  if (wide && wide.addEventListener) {
    wide.addEventListener("change", foldFilters);
  }
})();
