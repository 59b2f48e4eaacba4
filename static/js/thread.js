// The conversation page's behaviour. Loaded as a file: the Content-Security-Policy forbids inline scripts.
// - Remote images in bodies arrive as links ("Load image from <host>"); a click swaps the link for the image,
//   and a thread refreshed by the poll keeps the images the user chose to load.
// - Clicking "Reply" or "Note" (or their shortcuts r / n, via keys.js) moves the focus to the textarea.
// - Ctrl+Enter (Cmd+Enter) in the textarea sends; after a send the new composer has the focus.
// - After a snooze the snooze menu folds away.
// - A thread the user scrolled up in stays where it was when the poll swaps in a change.
(function () {
  "use strict";
  if (window.threadJsLoaded) return; // included by the conversation page and the inbox alike
  window.threadJsLoaded = true;

  // htmx would add a <style> element for its indicators, which the CSP (style-src 'self') refuses. This runs
  // before htmx's own start-up; base.html's <meta name="htmx-config"> makes it unnecessary once it is there.
  if (window.htmx) window.htmx.config.includeIndicatorStyles = false;

  var loadedImages = new Set();
  var keptScroll = null;

  function showImage(link) {
    var img = document.createElement("img");
    img.src = link.dataset.src;
    img.alt = link.dataset.alt || "";
    img.className = "loaded-image";
    link.replaceWith(img);
  }

  function threadScroller() {
    return document.querySelector("#conversation-live .thread-scroll");
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.remote-image");
    if (link && !(event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0)) {
      event.preventDefault();
      loadedImages.add(link.dataset.src);
      showImage(link);
      return;
    }
    if (event.target.closest("#composer .modes input[type=radio]")) {
      var body = document.getElementById("composer-body");
      if (body && !body.disabled) body.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "composer-body") {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("htmx:load", function (event) {
    event.target.querySelectorAll("a.remote-image").forEach(function (link) {
      if (loadedImages.has(link.dataset.src)) showImage(link);
    });
  });

  // After a send the composer is new: keep typing in it. After a snooze, fold the menu away (hx-preserve keeps
  // it across the region's swaps, open or not).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "composer" || event.detail.elt && event.detail.elt.id === "composer") {
      var body = document.getElementById("composer-body");
      if (body && !body.disabled) body.focus();
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var menu = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#snooze-menu");
    if (menu && event.detail.successful) {
      menu.open = false;
      menu.querySelector("form").reset();
    }
  });

  // The thread is a column-reverse scroller: scrollTop 0 is the newest part, negative is further up.
  document.addEventListener("htmx:beforeSwap", function () {
    var scroller = threadScroller();
    keptScroll = scroller ? scroller.scrollTop : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var scroller = threadScroller();
    if (scroller && keptScroll !== null && keptScroll < -40) scroller.scrollTop = keptScroll;
    keptScroll = null;
  });
})();
