// The proposal page's keyboard and confirmation dialogs. Everything here is a shortcut to a form
// or a link already on the page: without this file the page works the same (a confirmation page
// stands in for the dialogs). Loaded as a file, never inline, so the CSP can forbid inline script.
"use strict";

(function () {
  const cards = () => Array.from(document.querySelectorAll("article.card"));

  function current() {
    const active = document.activeElement;
    return active ? active.closest("article.card") : null;
  }

  function focusCard(card) {
    if (!card) return;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "start", behavior: "instant" });
    history.replaceState(null, "", "#" + card.id);
  }

  function move(step) {
    const all = cards();
    if (!all.length) return;
    const at = all.indexOf(current());
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    focusCard(all[next]);
  }

  function press(card, selector) {
    const button = card && card.querySelector(selector);
    if (button && !button.disabled) button.click();
  }

  function amend(card) {
    if (!card) return;
    const details = card.querySelector("details.amend");
    if (!details) return;
    details.open = true;
    const field = details.querySelector("textarea[name=text], textarea, input:not([type=hidden])");
    if (field) field.focus();
  }

  function openDialog(id) {
    const dialog = document.getElementById(id);
    if (dialog && !dialog.open && typeof dialog.showModal === "function") {
      dialog.showModal();
      return true;
    }
    return false;
  }

  // A button that names a dialog asks there first; its own form (no confirm=yes) is the fallback.
  document.addEventListener("click", function (event) {
    const trigger = event.target.closest("[data-dialog]");
    if (trigger && !trigger.disabled && openDialog(trigger.dataset.dialog)) event.preventDefault();
  });

  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    // Ctrl/Cmd+Enter saves the form being typed in (an amendment, What's new).
    if (typing(target) && event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.form) {
      event.preventDefault();
      target.form.requestSubmit();
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return; // a dialog has the keyboard (Esc closes it)
    const card = current();
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      a: () => press(card, "button.accept"),
      r: () => press(card, "button.reject"),
      e: () => amend(card),
      u: () => press(document, "#undo"),
      p: () => press(document, ".actionbar button.approve"),
      "?": () => openDialog("keys"),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // Back on the page after an action: the card it points at has the keyboard.
  document.addEventListener("DOMContentLoaded", function () {
    const match = /^#(edit-\d+|edits)$/.exec(location.hash);
    const target = match && document.getElementById(match[1]);
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "start", behavior: "instant" });
    }
    const error = document.querySelector(".card .error, #whats-new .error");
    if (error) {
      const form = error.closest("form");
      const field = form && form.querySelector("textarea, input:not([type=hidden])");
      if (field) field.focus();
    }
  });
})();
