// Client form: add/remove rows of the list editors. Loaded only by the client form page.
// The redirect-URI rules are not here: each list editor asks console:clients:check_uris (hx-post on the editor,
// see components/list_widget.html), which answers every row's note from the server's own validation code.
// Event delegation on document; the guard keeps a second load (boosted navigation) from binding twice.
(function () {
  "use strict";
  if (window.trussClientForm) return;
  window.trussClientForm = true;

  // Row notes and labels are numbered by position, so the server's answer lands on the right row.
  function renumber(editor) {
    editor.querySelectorAll(".list-row").forEach(function (row, index) {
      var note = row.querySelector(".row-note");
      var input = row.querySelector("input");
      note.id = editor.id + "-note-" + index;
      input.setAttribute("aria-describedby", note.id);
      input.setAttribute("aria-label", "Entry " + (index + 1));
      row.querySelector(".remove-row").setAttribute("aria-label", "Remove entry " + (index + 1));
    });
    if (window.htmx && editor.hasAttribute("hx-post")) window.htmx.trigger(editor, "rows-changed");
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest(".add-row");
    if (add) {
      var editor = add.closest("[data-list-editor]");
      var rows = editor.querySelector(".list-rows");
      var row = rows.lastElementChild.cloneNode(true);
      var input = row.querySelector("input");
      input.value = "";
      input.removeAttribute("aria-invalid");
      row.querySelector(".row-note").textContent = "";
      row.querySelector(".row-note").className = "row-note";
      rows.appendChild(row);
      renumber(editor);
      input.focus();
      return;
    }
    var remove = event.target.closest(".remove-row");
    if (remove) {
      var list = remove.closest(".list-rows");
      var item = remove.closest(".list-row");
      var owner = remove.closest("[data-list-editor]");
      if (list.children.length > 1) item.remove(); else item.querySelector("input").value = "";
      renumber(owner);
      var first = list.querySelector("input");
      if (first) first.focus();
    }
  });

  // After the check answered (its notes swapped in out of band), each row's input says whether it has a problem
  // (aria-invalid), so the state is announced, not only coloured.
  function sync() {
    document.querySelectorAll("[data-list-editor] .list-row").forEach(function (row) {
      var note = row.querySelector(".row-note");
      var input = row.querySelector("input");
      if (note && note.classList.contains("error")) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }
  ["htmx:afterRequest", "htmx:afterSettle", "htmx:oobAfterSwap"].forEach(function (name) {
    document.addEventListener(name, function () { window.setTimeout(sync, 0); });
  });
})();
