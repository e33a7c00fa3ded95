// The idle end of a staff session (PORTAL_SESSION_IDLE_MINUTES): a warning a minute
// before, with a button that keeps the session alive; at the end, the login page.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (!box) return;
  var idle = parseInt(box.getAttribute("data-idle-seconds"), 10) * 1000;
  if (!(idle > 0)) return;
  var warnAt = Math.max(idle - 60000, 0);
  var warnTimer = null;
  var endTimer = null;

  function loginPage() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/login?next=" + encodeURIComponent(here));
  }

  function arm() {
    box.hidden = true;
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    warnTimer = window.setTimeout(function () {
      box.hidden = false;
      document.getElementById("session-keep").focus();
    }, warnAt);
    endTimer = window.setTimeout(loginPage, idle + 1000);
  }

  document.getElementById("session-keep").addEventListener("click", function () {
    fetch("/staff/session/alive", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 204) arm();
        else loginPage();
      })
      .catch(loginPage);
  });
  arm();
})();
