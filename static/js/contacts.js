// The contacts pages' behaviour (and the tag field's, wherever templates/dashboard/tags/tag_input.html is used).
// Loaded as a file: the Content-Security-Policy forbids inline scripts and handlers.
// - Tag autocomplete: htmx puts a list of buttons (data-tag) under the field; a click, or Enter on one, puts the
//   name in the field (and submits its form when the field has data-submit-on-pick). ↓ / ↑ move through the
//   list, Escape closes it, and it closes when the focus leaves the field and its list.
// - The conversion dialog: the Convert / Merge forms' answer (what will happen) is swapped into #confirm-body,
//   which opens #confirm-dialog; [data-close-dialog] buttons close it.
// - "Select every contact on this page": shown only with JavaScript, it checks the rows' boxes.
(function () {
  "use strict";
  if (window.contactsJsLoaded) return;
  window.contactsJsLoaded = true;
  if (window.htmx) window.htmx.config.includeIndicatorStyles = false;

  function optionsBox(input) {
    return document.getElementById(input.id + "-options");
  }

  function inputFor(box) {
    return box ? document.getElementById(box.id.replace(/-options$/, "")) : null;
  }

  function closeList(box) {
    if (box) box.innerHTML = "";
  }

  function pick(button) {
    var box = button.closest(".tag-options-box");
    var input = inputFor(box);
    if (!input) return;
    input.value = button.dataset.tag;
    closeList(box);
    input.dataset.listClosed = "1"; // the focus below asks for the list again: keep it closed
    input.focus();
    if (input.hasAttribute("data-submit-on-pick") && input.form) input.form.requestSubmit();
  }

  function options(box) {
    return Array.prototype.slice.call(box.querySelectorAll("button.tag-option"));
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest(".tag-options-box button.tag-option");
    if (option) {
      event.preventDefault();
      pick(option);
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[data-tag-input]")) {
      var box = optionsBox(el);
      if (event.key === "ArrowDown" && box && options(box).length) {
        event.preventDefault();
        options(box)[0].focus();
      } else if (event.key === "Escape" && box) {
        if (box.innerHTML) event.preventDefault();
        closeList(box);
        el.dataset.listClosed = "1"; // until the next keystroke: a late answer stays closed
      }
      return;
    }
    var option = el.closest && el.closest(".tag-options-box button.tag-option");
    if (!option) return;
    var list = options(option.closest(".tag-options-box"));
    var at = list.indexOf(option);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = at + (event.key === "ArrowDown" ? 1 : -1);
      if (next < 0) inputFor(option.closest(".tag-options-box")).focus();
      else if (next < list.length) list[next].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      var box2 = option.closest(".tag-options-box");
      inputFor(box2).focus();
      closeList(box2);
    }
  });

  // Close the list once the focus has left the field and its options (checked after the focus has moved).
  document.addEventListener("focusout", function (event) {
    var wrapper = event.target.closest && event.target.closest(".tag-input");
    if (!wrapper) return;
    setTimeout(function () {
      if (!wrapper.contains(document.activeElement)) closeList(wrapper.querySelector(".tag-options-box"));
    }, 150);
  });

  // An answer that arrives after the user left the field (or pressed Escape, or submitted) is not shown.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.classList || !target.classList.contains("tag-options-box")) return;
    var input = inputFor(target);
    if (!input || document.activeElement !== input || input.dataset.listClosed === "1") event.detail.shouldSwap = false;
  });
  function reopen(event) {
    if (event.target.matches && event.target.matches("input[data-tag-input]")) delete event.target.dataset.listClosed;
  }
  document.addEventListener("input", reopen);
  document.addEventListener("pointerdown", reopen);
  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll(".tag-options-box").forEach(closeList);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "confirm-body") {
      var dialog = document.getElementById("confirm-dialog");
      if (dialog && !dialog.open) dialog.showModal();
    }
  });

  function setUpCheckAll(root) {
    var all = root.querySelector ? root.querySelector("[data-check-all]") : null;
    if (all) all.hidden = false;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-check-all]")) {
      var table = event.target.closest("table");
      table.querySelectorAll("input.row-check").forEach(function (box) { box.checked = event.target.checked; });
    }
  });

  document.addEventListener("DOMContentLoaded", function () { setUpCheckAll(document); });
  document.addEventListener("htmx:load", function (event) { setUpCheckAll(event.target); });
})();
