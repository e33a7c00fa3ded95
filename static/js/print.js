/*
 * The 打印 button of the printable decision (关于命名……的决定).
 *
 * Served from /static: the Content-Security-Policy allows no inline script. Buttons
 * marked [data-print] start hidden, so a browser without scripts shows only the
 * written instructions (Ctrl+P); here they are revealed and open the print dialog.
 * Plain ES5, for the older in-app browsers people open WeChat links in.
 */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  ready(function () {
    if (typeof window.print !== "function") {
      return;
    }
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () {
        window.print();
      });
    }
  });
})();
