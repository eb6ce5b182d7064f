// Small progressive enhancements; every page works without this file.
const assets = document.currentScript.dataset;

document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const text = status === 403 ? "You are not allowed to do that." : "Something went wrong; reload the page and try again.";
  window.alert(text);
});

// Links that throw away typed work ask first.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-confirm]");
  if (link && !window.confirm(link.dataset.confirm)) {
    event.preventDefault();
  }
});

// A page's message ("Saved.", "Moved on.") speaks of what was done before: once an
// in-place change is sent, it is out of date, and the change brings its own word.
document.addEventListener("htmx:afterRequest", (event) => {
  const verb = event.detail.requestConfig && event.detail.requestConfig.verb;
  if (event.detail.successful && verb && verb.toLowerCase() !== "get") {
    document.querySelectorAll("#main > .messages").forEach((messages) => messages.remove());
  }
});

// Forms that take something from someone (a teammate's story) ask first.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Forms marked data-reset-on-success (comments) empty themselves once htmx has
// sent them, so the next comment starts blank; a refused one keeps what was typed.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  const refused = event.detail.xhr && event.detail.xhr.getResponseHeader("X-Form-Refused");
  if (event.detail.successful && !refused && form.matches && form.matches("form[data-reset-on-success]")) {
    form.reset();
  }
});

// The review page refreshes its threads every few seconds; never while someone
// is typing a reply or an edit inside them, so that nothing typed is lost.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.elt && event.detail.elt.id === "review-poller") {
    const typing = Array.from(document.querySelectorAll(".thread textarea, .thread input[type=text]"))
      .some((field) => field.value.trim() !== "");
    if (typing) {
      event.detail.shouldSwap = false;
    }
  }
});

// Times marked data-relative read "5 minutes ago" and keep up; the page itself
// shows the date and time, which is what stays without this file.
const relativeTime = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" });
const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

function showRelative(root) {
  root.querySelectorAll("time[data-relative]").forEach((time) => {
    const when = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) {
      return;
    }
    if (!time.title) {
      time.title = time.textContent.trim();
    }
    const seconds = (when.getTime() - Date.now()) / 1000;
    const [unit, size] = units.find(([, size]) => Math.abs(seconds) >= size) || ["second", 1];
    time.textContent = Math.abs(seconds) < 60 ? "just now" : relativeTime.format(Math.round(seconds / size), unit);
  });
}

document.addEventListener("DOMContentLoaded", () => showRelative(document));
document.addEventListener("htmx:load", (event) => showRelative(event.detail.elt));
setInterval(() => showRelative(document), 60000);

// Diagrams: the code that draws them (js/diagrams.js, which loads Mermaid into a
// frame) is fetched only once the page shows one, at load or in a swapped-in part.
let diagramsRequested = false;

function loadDiagrams(root) {
  if (diagramsRequested || !(root.matches("pre.mermaid") || root.querySelector("pre.mermaid"))) {
    return;
  }
  diagramsRequested = true;
  const script = document.createElement("script");
  script.src = assets.diagrams;
  script.dataset.frame = assets.diagramFrame;
  document.head.append(script);
}

document.addEventListener("DOMContentLoaded", () => loadDiagrams(document.body));
document.addEventListener("htmx:load", (event) => loadDiagrams(event.detail.elt));
