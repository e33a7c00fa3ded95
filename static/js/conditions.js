/*
 * The nomination form's recommendation conditions (推荐条件), checked as the clerk types.
 *
 * Without scripts the form's 检查条件 button asks the server and the page comes back
 * with the panel filled in. Here the same server rules are asked in the background: the
 * form's fields (not its files) go to data-check-url, and the answer replaces the panel
 * (#conditions-status, a polite live region). Served from /static (the CSP allows no
 * inline script). Plain ES5.
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
    var panel = document.querySelector("[data-check-url]");
    var form = panel && panel.closest ? panel.closest("form") : null;
    if (!panel || !form || !window.fetch || !window.FormData || !window.DOMParser) {
      return;
    }
    var url = panel.getAttribute("data-check-url");
    var timer = null;
    var sent = 0;

    function fields() {
      var data = new FormData();
      var elements = form.elements;
      for (var i = 0; i < elements.length; i++) {
        var el = elements[i];
        if (!el.name || el.type === "file" || el.type === "submit" || el.disabled) {
          continue;
        }
        if ((el.type === "radio" || el.type === "checkbox") && !el.checked) {
          continue;
        }
        data.append(el.name, el.value);
      }
      return data;
    }

    function check() {
      var mine = ++sent;
      fetch(url, { method: "POST", body: fields(), credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          var status = document.getElementById("conditions-status");
          if (!html || mine !== sent || !status) {
            return;
          }
          // Parsed, not assigned as markup: the fragment is the server's own template.
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("conditions-status");
          if (!fresh) {
            return;
          }
          // The live region stays; only its content changes, so it is announced.
          while (status.firstChild) {
            status.removeChild(status.firstChild);
          }
          while (fresh.firstChild) {
            status.appendChild(document.importNode(fresh.firstChild, true));
            fresh.removeChild(fresh.firstChild);
          }
        })
        .catch(function () {
          /* the 检查条件 button still works */
        });
    }

    function later() {
      if (timer) {
        clearTimeout(timer);
      }
      timer = setTimeout(check, 400);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
  });
})();
