/* Progressive enhancement only: every page works without this file.
   Loaded from our own origin (the Content-Security-Policy allows nothing else). */
(function () {
  "use strict";

  // Errors: move focus to the summary so screen readers read it out at once.
  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) {
    summary.focus();
  }

  // Live preview: post the form to the server and show its rendering. The
  // letter is never rendered here, so the preview cannot disagree with what is sent.
  var form = document.getElementById("sign-form");
  var preview = document.getElementById("letter-preview");
  if (!form || !preview || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var latest = 0;

  function openStates() {
    return Array.prototype.map.call(preview.querySelectorAll("details"), function (d) {
      return d.open;
    });
  }

  // Replace the preview with the server's fragment, but keep the own-words
  // live region (its first element) as the same node and change only its
  // content: screen readers announce a live region that changes, not one
  // that is replaced.
  function swap(html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html; // our own server's escaped HTML fragment
    var live = preview.querySelector("#own-words");
    var next = fresh.content.querySelector("#own-words");
    if (!live || !next) {
      preview.replaceChildren(fresh.content);
      return;
    }
    if (live.innerHTML !== next.innerHTML) {
      live.innerHTML = next.innerHTML;
    }
    next.remove();
    while (live.nextSibling) {
      live.nextSibling.remove();
    }
    while (live.previousSibling) {
      live.previousSibling.remove();
    }
    preview.appendChild(fresh.content);
  }

  function refresh() {
    var request = ++latest;
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("preview failed: " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (request !== latest) {
          return; // a newer keystroke's preview is on its way
        }
        var open = openStates();
        swap(html);
        Array.prototype.forEach.call(preview.querySelectorAll("details"), function (d, i) {
          if (i < open.length) {
            d.open = open[i];
          }
        });
        preview.setAttribute("data-updated", String(request));
      })
      .catch(function () {
        // Leave the last preview; the "Preview my letter" button still works.
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  // The area choice of a campaign by postcode sits in the preview (its radio
  // buttons belong to the form through form="sign-form"): choosing refreshes too.
  preview.addEventListener("change", schedule);
})();
