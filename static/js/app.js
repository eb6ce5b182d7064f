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
