// Small progressive enhancements; every page works without this file.
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
