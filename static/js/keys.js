// Keyboard shortcuts for the whole dashboard, and the inbox list's roving tabindex.
// No inline scripts anywhere (the Content-Security-Policy forbids them): every page gets this file.
//
//   j / k (or ↓ / ↑ in the list)  next / previous conversation; Enter opens it (it is a link)
//   x                             select the focused conversation for a bulk action
//   r n a e s                     focus or press the control marked data-shortcut="<key>" on the open conversation
//   /                             focus the search box;  ?  show the list of shortcuts (#keyboard-help)
//
// Shortcuts never fire while typing in a field. With <body data-shortcuts="off"> (the staff user's preference,
// WCAG 2.1.4) single-character keys do nothing; the arrow keys inside the list still move.
(function () {
  "use strict";

  var ROW = "[data-roving] [data-row-link]";
  var PANE_KEYS = ["r", "n", "a", "e", "s"];
  var saved = null; // the list's checked boxes and focused row, kept across its refresh

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(ROW));
  }

  function shortcutsOn() {
    return document.body.getAttribute("data-shortcuts") !== "off";
  }

  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") return true;
    if (tag !== "input") return false;
    return ["checkbox", "radio", "button", "submit", "reset", "image"].indexOf((el.type || "").toLowerCase()) < 0;
  }

  function rowId(link) {
    var li = link && link.closest("li");
    return li ? li.getAttribute("data-id") : null;
  }

  // One row is in the tab order (tabindex 0): the one last focused or opened, else the first.
  function initRoving(currentId) {
    var links = rows();
    if (!links.length) return;
    var current = links.filter(function (l) { return rowId(l) === currentId; })[0] ||
      links.filter(function (l) { return l.getAttribute("tabindex") === "0"; })[0] || links[0];
    links.forEach(function (link) {
      link.setAttribute("tabindex", link === current ? "0" : "-1");
      // With shortcuts on, "x" selects a row, so the 50 checkboxes stay out of the tab order; with them off,
      // Tab must reach every checkbox.
      var box = link.closest("li").querySelector("input[type=checkbox]");
      if (box) box.setAttribute("tabindex", shortcutsOn() ? "-1" : "0");
    });
  }

  function currentRow() {
    var active = document.activeElement;
    if (active && active.matches && active.matches(ROW)) return active;
    return document.querySelector(ROW + '[tabindex="0"]');
  }

  function focusRow(link) {
    rows().forEach(function (l) { l.setAttribute("tabindex", l === link ? "0" : "-1"); });
    link.focus();
    link.scrollIntoView({ block: "nearest" });
  }

  function move(delta) {
    var links = rows();
    if (!links.length) return false;
    var active = document.activeElement;
    var current = currentRow();
    // The first j (or ↓) from outside the list lands on the current row rather than skipping it.
    if (!(active && active.matches && active.matches(ROW))) {
      focusRow(current || links[0]);
      return true;
    }
    var i = links.indexOf(current) + delta;
    focusRow(links[Math.max(0, Math.min(links.length - 1, i))]);
    return true;
  }

  function toggleSelected() {
    var link = currentRow();
    var box = link && link.closest("li").querySelector("input[type=checkbox]");
    if (!box) return false;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  // r, n, a, e, s: the open conversation marks its controls; fields get focus, buttons and links are pressed.
  function paneAction(key) {
    var pane = document.getElementById("conversation-pane");
    var selector = '[data-shortcut="' + key + '"]';
    var el = (pane && pane.querySelector(selector)) || (!pane && document.querySelector(selector));
    if (!el || el.disabled) return false;
    el.focus();
    if (!typing(el)) el.click();
    return true;
  }

  function focusSearch() {
    var box = document.querySelector('[data-shortcut="/"]');
    if (!box) return false;
    box.focus();
    if (box.select) box.select();
    return true;
  }

  function openHelp() {
    var dialog = document.getElementById("keyboard-help");
    if (!dialog || dialog.open || !dialog.showModal) return false;
    dialog.showModal();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    var inList = event.target.matches && event.target.matches(ROW);
    var handled = false;
    if (inList && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      handled = move(event.key === "ArrowDown" ? 1 : -1);
    } else if (inList && (event.key === "Home" || event.key === "End")) {
      var links = rows();
      focusRow(event.key === "Home" ? links[0] : links[links.length - 1]);
      handled = true;
    } else if (shortcutsOn()) {
      if (event.key === "j") handled = move(1);
      else if (event.key === "k") handled = move(-1);
      else if (event.key === "x") handled = toggleSelected();
      else if (event.key === "/") handled = focusSearch();
      else if (event.key === "?") handled = openHelp();
      else if (PANE_KEYS.indexOf(event.key) >= 0) handled = paneAction(event.key);
    }
    if (handled) event.preventDefault();
  });

  // A row that was clicked (or opened with Enter) becomes the list's current row.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(ROW);
    if (link) {
      rows().forEach(function (l) {
        l.setAttribute("tabindex", l === link ? "0" : "-1");
        l.closest("li").classList.toggle("is-open", l === link);
      });
    }
    var opener = event.target.closest && event.target.closest("[data-open-help]");
    if (opener) openHelp();
  });

  // The list refreshes itself: keep the checked boxes, the current row and the focus across the swap.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "conversation-list") return;
    var focused = document.activeElement && target.contains(document.activeElement) ? document.activeElement : null;
    var current = target.querySelector(ROW + '[tabindex="0"]');
    var open = target.querySelector("li.is-open");
    saved = {
      checked: Array.prototype.map.call(target.querySelectorAll("input[type=checkbox]:checked"), function (box) {
        return box.name + "=" + box.value;
      }),
      focusedRow: focused && focused.matches(ROW) ? rowId(focused) : null,
      currentId: current ? rowId(current) : null,
      openId: open ? open.getAttribute("data-id") : null,
    };
  });

  document.addEventListener("htmx:afterSettle", function () {
    var list = document.getElementById("conversation-list");
    var state = saved;
    saved = null;
    if (list && state) {
      list.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (state.checked.indexOf(box.name + "=" + box.value) >= 0) box.checked = true;
      });
      var open = state.openId && list.querySelector('li[data-id="' + CSS.escape(state.openId) + '"]');
      if (open) open.classList.add("is-open");
    }
    initRoving(state ? state.currentId : null);
    if (state && state.focusedRow) {
      var row = list.querySelector('li[data-id="' + CSS.escape(state.focusedRow) + '"] [data-row-link]');
      if (row) row.focus({ preventScroll: true });
    }
  });

  // A bulk run ended: its rows are done with, so the selection goes before the list refreshes.
  document.body.addEventListener("inbox-changed", function () {
    document.querySelectorAll("#bulk-form input[type=checkbox]:checked").forEach(function (box) {
      box.checked = false;
    });
  });

  document.querySelectorAll("[data-open-help]").forEach(function (button) { button.hidden = false; });
  initRoving(null);
})();
