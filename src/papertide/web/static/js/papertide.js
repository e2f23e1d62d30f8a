/* papertide's own script: small progressive enhancements on top of htmx.
   Loaded from our origin (CSP: script-src 'self'); no inline handlers anywhere. */
(function () {
  "use strict";

  // "Copy" buttons: <button data-copy="#element-id">. The text of the target goes to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) return;
    navigator.clipboard.writeText(target.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // An htmx action refused: a lapsed session goes to log in (and back); anything else is shown.
  var toastTimer = null;
  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 5000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      return;
    }
    var text = new DOMParser().parseFromString(xhr.responseText || "", "text/html").body.textContent.trim();
    toast(text || "Something went wrong (" + xhr.status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () { toast("Could not reach the server. Check your connection."); });

  // Forms marked data-reset-on-success clear themselves once htmx has posted them (a comment, a
  // reply; a reply's box folds up again). A form inside the dialog closes it once it has done its work.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!event.detail.successful || !form.matches) return;
    if (form.matches("form[data-reset-on-success]")) {
      form.reset();
      var box = form.closest("details");
      if (box) box.open = false;
      var placeholder = document.getElementById("no-comments");
      if (placeholder) placeholder.remove();
    }
    // The comment count beside the heading counts what the page shows, new comments included.
    var total = document.querySelector("[data-testid=comment-total]");
    if (total && event.detail.successful) {
      var shown = document.querySelectorAll("#comment-list .comment-shown").length;
      total.textContent = shown;
      total.hidden = shown === 0;
    }
    var dialog = form.closest("dialog");
    if (dialog && form.matches("form") && dialog.open) dialog.close();
  });

  // Confirmations (delete a comment, hide a paper, block someone) are pages of their own; with
  // htmx they load into the page's <dialog> (hx-target="#dialog-body"), which opens as a modal.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "dialog-body") return;
    var dialog = document.getElementById("dialog");
    if (!dialog.open) dialog.showModal();
    var first = dialog.querySelector("input:not([type=hidden]), textarea, button[type=submit]");
    if (first) first.focus();
  });
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    var dialog = closer && closer.closest("dialog");
    if (dialog) { event.preventDefault(); dialog.close(); }
  });
  // A click on the backdrop (outside the dialog's box) closes it, as Escape does.
  document.addEventListener("click", function (event) {
    if (event.target.id === "dialog" && event.target.open) event.target.close();
  });

  // "/" focuses the search box, as on most sites with one (not while typing somewhere else).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) return;
    var box = document.getElementById("q") || document.getElementById("top-q");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  });

  // Search as you type: htmx replaces the address with each query (hx-replace-url), so typing
  // adds nothing to the history. One entry is added when the reader is done with a query: they
  // stop typing for a while, submit it, leave the field, or open a result. Back then returns to
  // the page before that query rather than stepping through it word by word.
  var SEARCH_PAUSE_MS = 2000;
  // Entries carry htmx's state, so that Back to one makes htmx load it again.
  var searchBefore = null; // the address before the query being typed, or null
  var searchTimer = null;
  function searchForm(element) { return element && element.closest && element.closest("form[data-search-history]"); }
  function commitSearch() {
    clearTimeout(searchTimer);
    if (searchBefore === null) return;
    var query = window.location.href;
    if (query !== searchBefore) {
      history.replaceState({ htmx: true }, "", searchBefore);
      history.pushState({ htmx: true }, "", query);
    }
    searchBefore = null;
  }
  document.addEventListener("input", function (event) {
    if (!searchForm(event.target)) return;
    clearTimeout(searchTimer);
    if (searchBefore === null) searchBefore = window.location.href;
  });
  document.addEventListener("change", function (event) {
    if (searchForm(event.target) && searchBefore === null) searchBefore = window.location.href;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (searchBefore === null || !searchForm(event.detail.requestConfig && event.detail.requestConfig.elt)) return;
    var submitted = event.detail.requestConfig.triggeringEvent && event.detail.requestConfig.triggeringEvent.type === "submit";
    clearTimeout(searchTimer);
    if (submitted) commitSearch(); else searchTimer = setTimeout(commitSearch, SEARCH_PAUSE_MS);
  });
  // Filters left empty stay out of the address: "?q=video", not "?q=video&date_from=&date_to=&org=".
  document.addEventListener("htmx:configRequest", function (event) {
    if (!searchForm(event.detail.elt)) return;
    var parameters = event.detail.parameters;
    Object.keys(parameters).forEach(function (name) { if (parameters[name] === "") delete parameters[name]; });
  });
  document.addEventListener("focusout", function (event) { if (searchForm(event.target)) commitSearch(); });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#results a")) commitSearch();
  }, true);

  // Select inputs with data-autosubmit submit their form on change (e.g. search filters).
  // Forms marked data-progress="Asking arXiv…" (submit a paper) say so while the server works,
  // and are not sent twice; coming Back to the page (bfcache) makes them ready again.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-progress]") || event.defaultPrevented) return;
    var status = form.querySelector("[data-progress-status]");
    if (status) { status.textContent = form.getAttribute("data-progress"); status.hidden = false; }
    form.setAttribute("aria-busy", "true");
    var button = form.querySelector("button[type=submit]");
    if (button) setTimeout(function () { button.disabled = true; }, 0);  // after the form's data is taken
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-progress]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      var status = form.querySelector("[data-progress-status]");
      if (status) status.hidden = true;
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = false;
    });
  });

  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) {
      if (window.htmx && field.form.hasAttribute("hx-get")) {
        window.htmx.trigger(field.form, "submit");
      } else {
        field.form.requestSubmit();
      }
    }
  });
})();
