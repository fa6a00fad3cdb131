// A hand-in pack's admin page: follow the build's progress without reloading.
// Without JavaScript the page works as it is: its "Refresh" link reloads it.
(function () {
  "use strict";
  function follow(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    var refresh = box.querySelector("[data-progress-refresh]");
    var download = document.querySelector("[data-progress-download]");
    function show(state) {
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
      var line = state.status_label + ": " + state.percent + "%";
      if (state.rows_total) {
        line += " (" + state.rows_done.toLocaleString("en-GB") + " of " +
          state.rows_total.toLocaleString("en-GB") + " rows)";
      }
      text.textContent = state.error ? line + ". " + state.error : line;
      if (state.download_url && download) {
        download.href = state.download_url;
        download.textContent = "Download the zip (" + state.size + ")";
        download.hidden = false;
      }
      if (state.finished && refresh) refresh.hidden = true;
      return state.finished;
    }
    function poll() {
      fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (state) { if (!show(state)) setTimeout(poll, 1000); })
        .catch(function () { setTimeout(poll, 5000); });
    }
    poll();
  }
  document.addEventListener("DOMContentLoaded", function () {
    // Only on the pack's own page: the list has one per row and stays as it is.
    var boxes = document.querySelectorAll(".readonly .handin-progress");
    if (boxes.length === 1) follow(boxes[0]);
  });
})();
