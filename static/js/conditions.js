/*
 * The nomination form's recommendation conditions (推荐条件), checked as the clerk types.
 *
 * Without scripts the form's 检查条件 button asks the server and the page comes back
 * with the panel filled in. Here the same server rules are asked in the background: the
 * form's fields (not its files or long texts) go to data-check-url, and the answer
 * replaces the content of the panel (#conditions-status, a polite live region). Served from /static (the CSP allows no
 * inline script). Plain ES5 but for fetch, which older browsers skip.
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
    if (!panel || !form || !window.fetch || !window.DOMParser) {
      return;
    }
    var url = panel.getAttribute("data-check-url");
    var timer = null;
    var sent = 0;

    // The figures, choices and answers the rules read: not the long texts, the files
    // or the CSRF token (the check is a GET that changes nothing).
    function query() {
      var parts = [];
      var elements = form.elements;
      for (var i = 0; i < elements.length; i++) {
        var el = elements[i];
        if (!el.name || el.disabled || el.name === "_csrf_token") {
          continue;
        }
        if (el.type === "file" || el.type === "submit" || el.tagName === "TEXTAREA") {
          continue;
        }
        if ((el.type === "radio" || el.type === "checkbox") && !el.checked) {
          continue;
        }
        parts.push(encodeURIComponent(el.name) + "=" + encodeURIComponent(el.value));
      }
      return parts.join("&");
    }

    function check() {
      var mine = ++sent;
      fetch(url + "?" + query(), { credentials: "same-origin" })
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
