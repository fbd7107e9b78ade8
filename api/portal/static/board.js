// The secretariat's board: the grid is replaced as the server sends it (server-sent events).
// Without JavaScript the page still works; it is refreshed by hand.
(function () {
  "use strict";
  var grid = document.getElementById("grid");
  if (!grid || !window.EventSource) {
    return;
  }
  var source = new EventSource(grid.getAttribute("data-stream"));
  source.addEventListener("grid", function (event) {
    grid.innerHTML = event.data;
  });
})();
