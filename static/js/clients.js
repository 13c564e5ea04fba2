// Client form helpers: list rows, redirect-URI checks as you type, private_key_jwt fields.
// Event delegation on document, so htmx-boosted page swaps need no re-binding. The server validates again.
(function () {
  "use strict";
  var LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

  function check(input) {
    var editor = input.closest("[data-list-editor]");
    var note = input.parentElement.querySelector(".row-note");
    if (!editor || !note) return;
    var value = input.value.trim();
    var problem = "", warning = "";
    if (value && editor.dataset.kind === "uri") {
      var url = null;
      try { url = new URL(value); } catch (e) { problem = "Not an absolute URI (e.g. https://app.example.com/callback)."; }
      if (url) {
        if (value.indexOf("#") !== -1) problem = "Remove the fragment (#…): redirect URIs cannot have one.";
        else if ((url.protocol === "http:" || url.protocol === "https:") && !url.host) problem = "Add a host name.";
        else if (url.protocol === "http:" && LOOPBACK.indexOf(url.hostname) === -1) warning = "Plain http outside loopback: codes can be intercepted.";
        if (value.indexOf("*") !== -1) warning = "Wildcards are taken literally: Hydra matches redirect URIs exactly.";
      }
      var same = Array.prototype.filter.call(editor.querySelectorAll("input"), function (i) { return i.value.trim() === value; });
      if (!problem && same.length > 1) problem = "Duplicate entry.";
    }
    note.textContent = problem || warning;
    note.className = "row-note " + (problem ? "error" : warning ? "warning" : "");
    input.setAttribute("aria-invalid", problem ? "true" : "false");
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-list-editor] input")) {
      var editor = event.target.closest("[data-list-editor]");
      editor.querySelectorAll("input").forEach(check);
    }
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest(".add-row");
    if (add) {
      var rows = add.parentElement.querySelector(".list-rows");
      var last = rows.lastElementChild;
      var row = last.cloneNode(true);
      row.querySelector("input").value = "";
      row.querySelector(".row-note").textContent = "";
      rows.appendChild(row);
      row.querySelector("input").focus();
      return;
    }
    var remove = event.target.closest(".remove-row");
    if (remove) {
      var list = remove.closest(".list-rows");
      var item = remove.closest(".list-row");
      var editor = remove.closest("[data-list-editor]");
      if (list.children.length > 1) item.remove(); else item.querySelector("input").value = "";
      editor.querySelectorAll("input").forEach(check);
      var first = list.querySelector("input");
      if (first) first.focus();
    }
  });

  function toggleDependents() {
    document.querySelectorAll("[data-show-when]").forEach(function (block) {
      var parts = block.dataset.showWhen.split("=");
      var chosen = document.querySelector('input[name="' + parts[0] + '"]:checked');
      var hasValue = Array.prototype.some.call(block.querySelectorAll("input, textarea"), function (i) { return i.value; });
      block.hidden = !(chosen && chosen.value === parts[1]) && !hasValue && !block.querySelector(".error");
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches('input[type="radio"]')) toggleDependents();
  });
  document.addEventListener("DOMContentLoaded", toggleDependents);
  document.addEventListener("htmx:afterSettle", toggleDependents);
})();
