// Comments on a block of an artifact (DESIGN §8). Click a block, its "Comment" link,
// or select text in it, and the artifact's comment form moves beside that block with
// the block chosen in its list (and the selected text as the quote). Without this
// file the same form names the block from that list.
(function () {
  "use strict";
  const QUOTE_LENGTH = 200;
  const homes = new Map();

  function formFor(kind) {
    return document.getElementById("comment-form-" + kind);
  }

  function choose(block, quote) {
    const kind = block.dataset.kind;
    const form = formFor(kind);
    const place = document.getElementById("block-comments-" + kind + "-" + block.dataset.block);
    const select = form && form.querySelector("select[name=anchor_block]");
    if (!form || !place || !select) {
      return;
    }
    if (!homes.has(form)) {
      const mark = document.createComment("the comment form's place");
      form.before(mark);
      homes.set(form, mark);
    }
    // A click that follows a selection in the same block keeps the quote just taken.
    const same = form.classList.contains("is-anchored") && select.value === block.dataset.block;
    if (quote !== undefined || !same) {
      form.querySelector("input[name=anchor_quote]").value = (quote || "").replace(/\s+/g, " ").trim().slice(0, QUOTE_LENGTH);
    }
    select.value = block.dataset.block;
    place.append(form);
    form.classList.add("is-anchored");
    document.querySelectorAll(".review-block.is-chosen").forEach((other) => other.classList.remove("is-chosen"));
    block.classList.add("is-chosen");
    form.querySelector("textarea").focus({ preventScroll: true });
  }

  function sendHome(form) {
    const mark = homes.get(form);
    if (mark && mark.parentNode) {
      mark.after(form);
    }
    form.classList.remove("is-anchored");
  }

  function blockOf(node) {
    const element = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    return element ? element.closest(".review-block") : null;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest(".block-comment-link");
    if (link) {
      event.preventDefault();
      choose(blockOf(link));
      return;
    }
    const block = blockOf(event.target);
    const selected = window.getSelection();
    if (!block || (selected && !selected.isCollapsed)) {
      return;
    }
    if (event.target.closest("a, button, input, select, textarea, summary, details")) {
      return;
    }
    choose(block);
  });

  // Selecting words in a block comments on that block, quoting them.
  document.addEventListener("mouseup", () => {
    const selected = window.getSelection();
    if (!selected || selected.isCollapsed || !selected.rangeCount) {
      return;
    }
    const range = selected.getRangeAt(0);
    const block = blockOf(range.commonAncestorContainer);
    if (block) {
      choose(block, selected.toString());
    }
  });

  // Choosing a block from the list moves the form beside it too.
  document.addEventListener("change", (event) => {
    const select = event.target;
    if (!select.matches || !select.matches(".block-choice")) {
      return;
    }
    const form = select.form;
    form.querySelector("input[name=anchor_quote]").value = "";
    const kind = form.querySelector("input[name=artifact_kind]").value;
    const block = document.getElementById("block-" + kind + "-" + select.value);
    if (block) {
      choose(block);
      select.focus();
    } else {
      sendHome(form);
    }
  });

  // A thread is swapped whole (after a comment, or by the poller): take the forms out
  // first, and put back beside its block a form that still names one.
  function beforeSwap() {
    homes.forEach((_mark, form) => {
      if (form.classList.contains("is-anchored")) {
        sendHome(form);
        form.dataset.wasAnchored = "true";
      }
    });
  }
  document.addEventListener("htmx:beforeSwap", beforeSwap);
  document.addEventListener("htmx:oobBeforeSwap", beforeSwap);
  document.addEventListener("htmx:afterSettle", () => {
    homes.forEach((_mark, form) => {
      if (form.dataset.wasAnchored !== "true") {
        return;
      }
      delete form.dataset.wasAnchored;
      const select = form.querySelector("select[name=anchor_block]");
      const kind = form.querySelector("input[name=artifact_kind]").value;
      const block = select.value !== "" && document.getElementById("block-" + kind + "-" + select.value);
      if (block && form.querySelector("textarea").value.trim() !== "") {
        const quote = form.querySelector("input[name=anchor_quote]").value;
        choose(block, quote);
      }
    });
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (homes.has(form) && event.detail.successful && !event.detail.xhr.getResponseHeader("X-Form-Refused")) {
      form.querySelector("input[name=anchor_quote]").value = "";
      form.querySelector("select[name=anchor_block]").value = "";
    }
  });
})();
