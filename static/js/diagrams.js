// Draw ```mermaid blocks (rendered by the server as <pre class="mermaid">) with
// Mermaid in strict security mode, on load and after every htmx swap.
(function () {
  if (!window.mermaid) {
    return;
  }
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: "default",
    suppressErrorRendering: true,
  });

  async function draw(root) {
    const blocks = Array.from(root.querySelectorAll("pre.mermaid:not([data-processed])"));
    for (const block of blocks) {
      try {
        await window.mermaid.run({ nodes: [block] });
      } catch (error) {
        block.setAttribute("data-processed", "error");
        const note = document.createElement("p");
        note.className = "diagram-error";
        note.textContent = "This diagram has an error: " + (error && error.message ? error.message.split("\n")[0] : "it could not be drawn.");
        block.insertAdjacentElement("afterend", note);
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:afterSwap", (event) => draw(event.detail.target));
})();
