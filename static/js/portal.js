// Small progressive enhancements shared by every page. No inline scripts anywhere (CSP).
// Without JavaScript every page still works: the menus are open lists (portal.css, html:not(.js)).
(function () {
  "use strict";
  document.documentElement.classList.add("js"); // js-class.js did already, in <head>

  // <select data-autosubmit> submits its form when changed (organization switcher).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });

  // <form data-once> can be submitted once: a double click never sends two requests.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted === "1") { event.preventDefault(); return; }
      form.dataset.submitted = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    });
  });

  // --- The top menu: disclosure buttons (WAI-ARIA APG "disclosure navigation") ---------------
  // Each button toggles aria-expanded of its list; Escape, a click elsewhere and focus leaving
  // close it; arrow keys, Home and End move inside. A mouse on a wide screen also opens a list
  // by hovering and closes it by leaving; Escape still closes it (WCAG 1.4.13).
  // Below the width the bar needs, the whole menu folds behind the "Menu" button.
  var wide = window.matchMedia("(min-width: 75em)"); // as in portal.css
  var toggle = document.querySelector("[data-menu-toggle]");
  var siteNav = document.querySelector("[data-site-nav]");
  var menu = document.querySelector("[data-menu]");
  var items = menu ? Array.prototype.slice.call(menu.querySelectorAll(".has-sub")) : [];

  function buttonOf(item) { return item.querySelector(":scope > button"); }
  function linksOf(item) { return Array.prototype.slice.call(item.querySelectorAll(":scope > ul a")); }
  function isOpen(item) { return buttonOf(item).getAttribute("aria-expanded") === "true"; }

  function setOpen(item, open, how) {
    buttonOf(item).setAttribute("aria-expanded", open ? "true" : "false");
    item.dataset.openedBy = open ? how || "click" : "";
  }

  function closeAll(except) {
    items.forEach(function (item) { if (item !== except && isOpen(item)) { setOpen(item, false); } });
  }

  function topLevel() {
    return Array.prototype.slice.call(menu.querySelectorAll(":scope > ul > li > a, :scope > ul > li > button"));
  }

  function moveAmong(list, current, key) {
    var index = list.indexOf(current);
    var next = { ArrowDown: index + 1, ArrowRight: index + 1, ArrowUp: index - 1, ArrowLeft: index - 1, Home: 0, End: list.length - 1 }[key];
    if (next === undefined || !list.length) { return false; }
    list[(next + list.length) % list.length].focus();
    return true;
  }

  items.forEach(function (item) {
    var button = buttonOf(item);
    button.addEventListener("click", function () {
      if (isOpen(item) && item.dataset.openedBy === "hover") {
        item.dataset.openedBy = "click"; // a click on a list the mouse opened keeps it open
        return;
      }
      var open = !isOpen(item);
      closeAll(item);
      setOpen(item, open, "click");
    });
    button.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        closeAll(item);
        setOpen(item, true, "keyboard");
        var links = linksOf(item);
        links[event.key === "ArrowDown" ? 0 : links.length - 1].focus();
      }
    });
    item.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen(item)) {
        event.stopPropagation();
        setOpen(item, false);
        button.focus();
        return;
      }
      var links = linksOf(item);
      if (links.indexOf(event.target) >= 0 && ["ArrowDown", "ArrowUp", "Home", "End"].indexOf(event.key) >= 0) {
        event.preventDefault();
        moveAmong(links, event.target, event.key);
      }
    });
    item.addEventListener("focusout", function (event) {
      if (isOpen(item) && !item.contains(event.relatedTarget)) { setOpen(item, false); }
    });
    item.addEventListener("pointerenter", function (event) {
      if (event.pointerType === "mouse" && wide.matches && !isOpen(item)) {
        closeAll(item);
        setOpen(item, true, "hover");
      }
    });
    item.addEventListener("pointerleave", function (event) {
      if (event.pointerType === "mouse" && wide.matches && item.dataset.openedBy === "hover") {
        setOpen(item, false);
      }
    });
  });

  if (menu) {
    // Left and Right move along the top level on a wide screen (the lists open downwards).
    menu.addEventListener("keydown", function (event) {
      var level = topLevel();
      if (wide.matches && level.indexOf(event.target) >= 0 && ["ArrowLeft", "ArrowRight", "Home", "End"].indexOf(event.key) >= 0) {
        event.preventDefault();
        moveAmong(level, event.target, event.key);
      }
    });
  }

  function setNavOpen(open) {
    if (!toggle) { return; }
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    siteNav.classList.toggle("is-open", open);
    if (!open) { closeAll(); }
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      setNavOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    siteNav.addEventListener("keydown", function (event) {
      // Escape with no list open closes the folded menu and gives the focus back to its button.
      if (event.key === "Escape" && !wide.matches && toggle.getAttribute("aria-expanded") === "true") {
        setNavOpen(false);
        toggle.focus();
      }
    });
    toggle.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") { setNavOpen(false); }
    });
  }

  document.addEventListener("keydown", function (event) {
    // Escape closes a list the mouse opened even when the focus is elsewhere (WCAG 1.4.13).
    if (event.key === "Escape") { closeAll(); }
  });
  document.addEventListener("click", function (event) {
    items.forEach(function (item) { if (isOpen(item) && !item.contains(event.target)) { setOpen(item, false); } });
  });
  wide.addEventListener("change", function () { setNavOpen(false); });

  // --- Errors: the summary (or an error message) takes the focus when the page opens ---------
  // Focus on the alert makes a screen reader read it, and the next Tab goes to the fields.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
  // A link of the summary puts the focus in its field (the first input of a group of radios or
  // checkboxes) and shows the field's label too.
  document.querySelectorAll(".error-summary a[data-field]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.dataset.field);
      if (!target) { return; }
      if (!target.matches("input, select, textarea, button")) {
        target = target.querySelector("input, select, textarea") || target;
      }
      event.preventDefault();
      target.focus();
      var label = target.id && document.querySelector("label[for='" + target.id + "']");
      (label || target).scrollIntoView({ block: "center" });
    });
  });

  // --- Wide tables scroll inside their own box ---------------------------------------------
  // A box that scrolls is made a focusable, named region so it can be scrolled by keyboard too
  // (WCAG 2.1.1); one that fits stays out of the Tab order.
  var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-table-scroll]"));
  function labelOf(box) {
    var table = box.querySelector("table");
    var caption = table && table.querySelector("caption");
    if (box.dataset.label) { return box.dataset.label; }
    if (caption) { return caption.textContent.trim(); }
    var heading = box.previousElementSibling;
    while (heading && !/^H[1-6]$/.test(heading.tagName)) { heading = heading.previousElementSibling; }
    return heading ? heading.textContent.trim() : "";
  }
  function markScrollable() {
    boxes.forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", labelOf(box));
      } else if (!scrolls && box.hasAttribute("tabindex")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  if (boxes.length) {
    markScrollable();
    window.addEventListener("resize", markScrollable);
  }
})();
