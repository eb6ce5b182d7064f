// The artifact editor: CodeMirror over the form's textarea. The textarea stays the
// form field, and the whole editor without JavaScript; CodeMirror mirrors its text
// into it, so the live preview (htmx on the textarea) and every submit send it.
// What is typed is kept as a draft in this browser until it is saved, and is
// offered back after a reload, a lost session or a visit elsewhere.
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { markdown, markdownLanguage } from "@codemirror/lang-markdown";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { tags } from "@lezer/highlight";

const form = document.getElementById("artifact-editor");
const field = form && form.querySelector("textarea[name=body]");

// Colours that keep 4.5:1 on white: Markdown's marks quieter than its text.
const markdownStyle = HighlightStyle.define([
  { tag: tags.heading, fontWeight: "700", color: "#1d2330" },
  { tag: tags.strong, fontWeight: "700" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strikethrough, textDecoration: "line-through" },
  { tag: [tags.link, tags.url], color: "#2f4ac0" },
  { tag: tags.monospace, color: "#8a3c00" },
  { tag: [tags.processingInstruction, tags.meta, tags.contentSeparator], color: "#5d6677" },
  { tag: tags.quote, color: "#4a5263", fontStyle: "italic" },
  { tag: [tags.keyword, tags.operator], color: "#7a2a9a" },
  { tag: [tags.string, tags.labelName], color: "#1f6f3a" },
  { tag: tags.comment, color: "#5d6677", fontStyle: "italic" },
]);

const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
// Where drafts are kept; a browser that refuses storage gets none, and still the warning.
const store = (() => {
  try {
    window.localStorage.getItem("squad-planner:probe");
    return window.localStorage;
  } catch {
    return { length: 0, key: () => null, getItem: () => null, setItem() {}, removeItem() {} };
  }
})();
// Drafts of any artifact not opened again for this long are dropped.
const DRAFT_DAYS = 30;
const SAVE_KEYS = isMac ? "⌘S" : "Ctrl+S";

function readDraft(key) {
  try {
    const draft = JSON.parse(store.getItem(key));
    return draft && typeof draft.body === "string" ? draft : null;
  } catch {
    return null;
  }
}

function draftsStartingWith(prefix) {
  const found = [];
  for (let i = 0; i < store.length; i += 1) {
    const key = store.key(i);
    if (key && key.startsWith(prefix)) {
      const draft = readDraft(key);
      if (draft) {
        found.push({ key, ...draft });
      }
    }
  }
  return found.sort((a, b) => b.savedAt - a.savedAt);
}

function dropOldDrafts() {
  const oldest = Date.now() - DRAFT_DAYS * 86400000;
  draftsStartingWith("squad-planner:draft:")
    .filter((draft) => !(draft.savedAt > oldest))
    .forEach((draft) => store.removeItem(draft.key));
}

function ago(time) {
  const minutes = Math.round((Date.now() - time) / 60000);
  if (minutes < 1) {
    return "just now";
  }
  const format = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" });
  if (minutes < 60) {
    return format.format(-minutes, "minute");
  }
  if (minutes < 60 * 48) {
    return format.format(-Math.round(minutes / 60), "hour");
  }
  return format.format(-Math.round(minutes / 1440), "day");
}

function start() {
  const prefix = form.dataset.draftPrefix + ":";
  const revisionField = form.querySelector("input[name=base_revision]");
  const saveButton = form.querySelector("button[value=save]");
  const status = form.querySelector(".editor-status");
  const offer = form.querySelector(".draft-offer");
  const preview = document.getElementById("preview");
  // The text as the page came: saved, unless the server sent back text typed before.
  const pageText = field.value;
  let unsavedOnArrival = form.hasAttribute("data-unsaved");
  let leaving = false;
  let draftTimer = null;

  const draftKey = () => prefix + revisionField.value;
  const isDirty = () => unsavedOnArrival || view.state.doc.toString() !== pageText;

  function showStatus() {
    if (!status) {
      return;
    }
    status.textContent = isDirty()
      ? `Unsaved changes, kept as a draft in this browser · ${SAVE_KEYS} saves`
      : `${SAVE_KEYS} saves`;
  }

  function keepDraft() {
    clearTimeout(draftTimer);
    draftTimer = null;
    try {
      if (isDirty()) {
        const body = view.state.doc.toString();
        store.setItem(draftKey(), JSON.stringify({ body, savedAt: Date.now(), revision: revisionField.value }));
      } else {
        store.removeItem(draftKey());
      }
    } catch {
      // Storage full or refused (private mode): the page still warns before leaving.
    }
  }

  // The textarea carries the text: a submit sends it, and the preview follows its input.
  function mirror() {
    field.value = view.state.doc.toString();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  const view = new EditorView({
    parent: field.parentElement,
    state: EditorState.create({
      doc: pageText,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightActiveLine(),
        history(),
        drawSelection(),
        highlightSelectionMatches(),
        markdown({ base: markdownLanguage }),
        syntaxHighlighting(markdownStyle),
        EditorView.lineWrapping,
        keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap]),
        EditorView.cspNonce.of(document.querySelector("script[type=importmap]").nonce || ""),
        EditorView.contentAttributes.of({ "aria-labelledby": "body-label", "aria-multiline": "true", spellcheck: "true" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            mirror();
            showStatus();
            clearTimeout(draftTimer);
            draftTimer = setTimeout(keepDraft, 300);
          }
        }),
      ],
    }),
  });
  field.insertAdjacentElement("afterend", view.dom);
  field.classList.add("editor-mirrored");
  field.setAttribute("aria-hidden", "true");
  field.tabIndex = -1;
  if (preview) {
    preview.dataset.editorLines = "true";
  }
  document.querySelector(`label[for="${field.id}"]`).addEventListener("click", (event) => {
    event.preventDefault();
    view.focus();
  });

  function replaceText(text) {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  }

  dropOldDrafts();
  // A draft from an earlier visit: the same text as the page's is saved already and
  // is dropped; another is offered, newest first, with the revision it started from.
  const drafts = draftsStartingWith(prefix).filter((draft) => {
    if (draft.body === pageText) {
      store.removeItem(draft.key);
      return false;
    }
    return true;
  });
  if (drafts.length > 0 && offer) {
    const draft = drafts[0];
    const changedSince = draft.revision !== revisionField.value;
    offer.querySelector(".draft-offer-text").textContent =
      `This browser kept text you had not saved, from ${ago(draft.savedAt)}.` +
      (changedSince
        ? ` It started from revision ${draft.revision || 0}; the artifact has changed since, and saving it will show you both versions to merge.`
        : "");
    offer.hidden = false;
    offer.addEventListener("click", (event) => {
      const choice = event.target.closest("[data-draft]");
      if (!choice) {
        return;
      }
      if (choice.dataset.draft === "restore") {
        // Saved against the revision it started from, so that a change made since is
        // shown as a conflict to merge rather than overwritten.
        revisionField.value = draft.revision;
        replaceText(draft.body);
        keepDraft();
        view.focus();
      } else {
        drafts.forEach((each) => store.removeItem(each.key));
      }
      offer.hidden = true;
    });
  }
  if (unsavedOnArrival) {
    keepDraft();
  }
  showStatus();

  form.addEventListener("submit", () => {
    mirror();
    keepDraft();
    leaving = true;
  });
  // Back on a page that did not leave (or from the back-forward cache): warn again.
  window.addEventListener("pageshow", () => {
    leaving = false;
  });

  window.addEventListener("beforeunload", (event) => {
    if (isDirty() && !leaving) {
      keepDraft();
      event.preventDefault();
      event.returnValue = "";
    }
  });
  window.addEventListener("pagehide", () => {
    if (draftTimer !== null) {
      keepDraft();
    }
  });

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
      event.preventDefault();
      if (!leaving) {
        form.requestSubmit(saveButton);
      }
    }
  });

  // A link that throws the text away on purpose (the conflict page's "Discard
  // mine…", once confirmed in app.js) takes the draft with it and does not ask again.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-discards-draft]");
    if (link && !event.defaultPrevented) {
      clearTimeout(draftTimer);
      draftTimer = null;
      unsavedOnArrival = false;
      draftsStartingWith(prefix).forEach((each) => store.removeItem(each.key));
      leaving = true;
    }
  });

  // A diagram error in the preview names its line; its button puts the cursor there.
  document.addEventListener("click", (event) => {
    const go = event.target.closest("#preview [data-goto-line]");
    if (!go) {
      return;
    }
    const number = Math.min(Math.max(1, Number(go.dataset.gotoLine) || 1), view.state.doc.lines);
    const line = view.state.doc.line(number);
    view.dispatch({ selection: { anchor: line.from, head: line.to }, scrollIntoView: true });
    view.focus();
  });

  form.editorView = view;
}

if (form && field) {
  start();
}
