// Deadlines count down on the page, in the page's language; without JavaScript the page says
// the time left when it was served.
(function () {
  "use strict";
  var language = document.documentElement.lang || "en";
  function amount(unit, count) {
    return new Intl.NumberFormat(language, {
      style: "unit",
      unit: unit,
      unitDisplay: "long",
    }).format(count);
  }
  function tick() {
    var clocks = document.querySelectorAll(".countdown[data-deadline]");
    Array.prototype.forEach.call(clocks, function (clock) {
      var seconds = Math.floor((Date.parse(clock.dataset.deadline) - Date.now()) / 1000);
      if (seconds <= 0) {
        clock.textContent = clock.dataset.passed;
        return;
      }
      var parts = [
        [Math.floor(seconds / 86400), "day"],
        [Math.floor((seconds % 86400) / 3600), "hour"],
        [Math.floor((seconds % 3600) / 60), "minute"],
      ]
        .filter(function (part) { return part[0] > 0; })
        .slice(0, 2)
        .map(function (part) { return amount(part[1], part[0]); });
      clock.textContent = clock.dataset.template.replace(
        "{time}", parts.length ? parts.join(" ") : amount("minute", 1)
      );
    });
  }
  tick();
  window.setInterval(tick, 30000);
})();
