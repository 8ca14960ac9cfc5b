/* OneCity page behaviour: small, dependency-free progressive enhancements (pages work without it).
 *
 * - data-confirm="Sentence?" on a <form> or a submit button: asks before submitting (htmx: use hx-confirm).
 * - data-countdown="60" on an element: counts down the seconds in its text; when it reaches 0 the element
 *   gets class "is-done", fires "onecity:countdown-done", and the elements named by
 *   data-countdown-enable="#css-selector" are enabled, those named by data-countdown-expire get "is-expired".
 * - data-keynav on a .table: ↑/↓ or j/k move between the rows' first links, Enter follows.
 * - data-autosubmit on a filter <form>: submits when a select or checkbox changes.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function startCountdown(el) {
    if (el.__onecityCountdown) return;
    el.__onecityCountdown = true;
    var remaining = parseInt(el.getAttribute("data-countdown"), 10) || 0;
    var deadline = Date.now() + remaining * 1000;
    function each(selector, fn) {
      if (!selector) return;
      document.querySelectorAll(selector).forEach(fn);
    }
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      el.textContent = String(left);
      if (left <= 0) {
        el.classList.add("is-done");
        each(el.getAttribute("data-countdown-enable"), function (t) { t.disabled = false; t.removeAttribute("aria-disabled"); });
        each(el.getAttribute("data-countdown-expire"), function (t) { t.classList.add("is-expired"); });
        el.dispatchEvent(new CustomEvent("onecity:countdown-done", { bubbles: true }));
        return;
      }
      window.setTimeout(tick, 250);
    }
    tick();
  }

  function keynav(table) {
    if (table.__onecityKeynav) return;
    table.__onecityKeynav = true;
    table.addEventListener("keydown", function (event) {
      var keys = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 };
      var step = keys[event.key];
      if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
      var links = Array.prototype.slice.call(table.querySelectorAll("tbody tr a:first-of-type"));
      var index = links.indexOf(document.activeElement);
      var next = links[Math.min(links.length - 1, Math.max(0, index + step))];
      if (next) { event.preventDefault(); next.focus(); }
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-countdown]").forEach(startCountdown);
    root.querySelectorAll("table[data-keynav]").forEach(keynav);
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.__onecityAuto) return;
      form.__onecityAuto = true;
      form.addEventListener("change", function (event) {
        if (event.target.matches("select, input[type=checkbox], input[type=radio], input[type=date]")) {
          form.requestSubmit ? form.requestSubmit() : form.submit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  // Content swapped in by htmx gets the same behaviour.
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();

/* data-history-back on a button: goes back one page (error pages). */
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-history-back]");
  if (!button) return;
  event.preventDefault();
  if (window.history.length > 1) { window.history.back(); } else { window.location.href = "/"; }
});
