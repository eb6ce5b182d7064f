// Runs inside the sandboxed diagram frame (planning/views/diagrams.py): draws each
// diagram source the page sends with Mermaid and sends the SVG back. Mermaid's ES
// module build loads only the code of the diagram kinds it is asked to draw.
(function () {
  "use strict";
  // The frame's own origin is opaque; the page that embeds it is on the origin the
  // frame was served from (frame-ancestors 'self'), and it is the only one we answer.
  const pageOrigin = window.location.origin;
  let mermaid = null;
  let drawn = 0;
  let queue = Promise.resolve();

  async function loadMermaid() {
    if (mermaid === null) {
      // An absolute URL: in this opaque origin, a relative one has no base to resolve against.
      const url = new URL(document.documentElement.dataset.mermaid, window.location.href);
      mermaid = (await import(url.href)).default;
      mermaid.initialize({
        startOnLoad: false,
        securityLevel: "strict",
        theme: "default",
        suppressErrorRendering: true,
      });
    }
    return mermaid;
  }

  async function draw(source) {
    const renderer = await loadMermaid();
    drawn += 1;
    const { svg, diagramType } = await renderer.render("diagram-" + drawn, source);
    const holder = document.createElement("div");
    holder.innerHTML = svg;
    document.body.append(holder);
    const element = holder.querySelector("svg");
    const box = element.viewBox.baseVal;
    const size = box && box.width ? box : element.getBBox();
    const width = Math.ceil(size.width);
    const height = Math.ceil(size.height);
    // An image has the size of its SVG: give it the diagram's own, not "100%".
    element.setAttribute("width", String(width));
    element.setAttribute("height", String(height));
    element.removeAttribute("style");
    // XML, not HTML: labels hold XHTML (<br/>) that an SVG image must parse.
    const markup = new XMLSerializer().serializeToString(element);
    holder.remove();
    return { svg: markup, width, height, kind: diagramType };
  }

  // The whole message: a parse error names its line on the first and says what was
  // expected on the last (the page picks them out, js/diagrams.js).
  function errorText(error) {
    const message = error && error.message ? String(error.message) : "";
    return message.slice(0, 2000) || "it could not be drawn";
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== pageOrigin) {
      return;
    }
    const { id, source } = event.data || {};
    if (typeof id !== "string" || typeof source !== "string") {
      return;
    }
    // One at a time: Mermaid keeps state while it draws.
    queue = queue.then(async () => {
      let answer;
      try {
        answer = { id, ...(await draw(source)) };
      } catch (error) {
        answer = { id, error: errorText(error) };
      }
      window.parent.postMessage(answer, pageOrigin);
    });
  });

  window.parent.postMessage({ ready: true }, pageOrigin);
})();
