// Draws ```mermaid blocks (rendered by the server as <pre class="mermaid">), on load
// and after every htmx swap. Mermaid writes inline styles as it draws, which the
// page's Content-Security-Policy refuses, so it runs in a sandboxed frame of its
// own (static/js/diagram-frame.js): the page sends it each diagram's source and
// shows the SVG it sends back as an image, with the source kept beside it.
// app.js loads this file once a page shows a diagram.
(function () {
  "use strict";
  const frameUrl = document.currentScript.dataset.frame;
  const KINDS = {
    flowchart: "Flowchart",
    "flowchart-v2": "Flowchart",
    "flowchart-elk": "Flowchart",
    sequence: "Sequence diagram",
    class: "Class diagram",
    classDiagram: "Class diagram",
    state: "State diagram",
    stateDiagram: "State diagram",
    er: "Entity relationship diagram",
    gantt: "Gantt chart",
    pie: "Pie chart",
    journey: "User journey",
    gitGraph: "Git graph",
    mindmap: "Mind map",
    timeline: "Timeline",
    architecture: "Architecture diagram",
    block: "Block diagram",
  };
  // Drawn diagrams by source, so that the editor's live preview, which swaps in a
  // fresh copy of every diagram at each pause in typing, shows them at once.
  const drawings = new Map();
  const DRAWINGS_KEPT = 50;
  const waiting = new Map();
  let frame = null;
  let ready = null;
  let frameReady = null;
  let sent = 0;

  function openFrame() {
    if (frame === null) {
      ready = new Promise((resolve) => {
        frameReady = resolve;
      });
      frame = document.createElement("iframe");
      frame.className = "diagram-frame";
      frame.setAttribute("sandbox", "allow-scripts");
      frame.setAttribute("aria-hidden", "true");
      frame.setAttribute("tabindex", "-1");
      frame.title = "Diagram renderer";
      frame.src = frameUrl;
      document.body.append(frame);
    }
    return ready;
  }

  function describe(kind, source) {
    const name = KINDS[kind] || "Diagram";
    // The first line declares the kind; the next one says what the diagram starts with.
    const lines = source.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("%%"));
    const first = lines[1] || "";
    const shown = first.length > 80 ? first.slice(0, 79) + "…" : first;
    return shown ? `${name}: ${shown}` : name;
  }

  function showDiagram(block, drawing) {
    if (!block.isConnected) {
      return;
    }
    const figure = document.createElement("figure");
    figure.className = "diagram";
    const image = document.createElement("img");
    image.className = "diagram-image";
    image.width = drawing.width;
    image.height = drawing.height;
    image.alt = describe(drawing.kind, block.textContent);
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(drawing.svg);
    const details = document.createElement("details");
    details.className = "diagram-source";
    const summary = document.createElement("summary");
    summary.textContent = "Diagram source";
    block.replaceWith(figure);
    details.append(summary, block);
    figure.append(image, details);
    block.dataset.processed = "drawn";
  }

  // Mermaid's parse errors read "Parse error on line 3:", the text around it, a
  // caret, then "Expecting 'SEMI', …, got 'EOF'". The note says the line in the
  // Markdown (the block's data-line is its fence's) and what was expected; in the
  // editor the line is a button that puts the cursor there (js/artifact-editor.js).
  function showError(block, message) {
    block.dataset.processed = "error";
    const lines = message.split("\n").map((line) => line.trim()).filter(Boolean);
    const found = /^(?:Parse|Lexical) error on line (\d+)/.exec(lines[0] || "");
    const fence = Number(block.dataset.line);
    const note = document.createElement("p");
    note.className = "diagram-error";
    if (!found) {
      const first = (lines[0] || "it could not be drawn").replace(/:\s*$/, "");
      note.textContent = "This diagram has an error: " + first + (/[.!?]$/.test(first) ? "" : ".");
      block.insertAdjacentElement("afterend", note);
      return;
    }
    // At the end of the text Mermaid names the line after the last: the unfinished one is the last.
    const inDiagram = Math.min(Number(found[1]), block.textContent.replace(/\n+$/, "").split("\n").length);
    const line = fence > 0 ? fence + inDiagram : inDiagram;
    const where = fence > 0 ? "line " + line : "line " + inDiagram + " of the diagram";
    let what = lines.length > 1 ? lines[lines.length - 1] : "";
    if (what === lines[0] || what.startsWith("^") || /^-*\^$/.test(what)) {
      what = lines[0].slice(found[0].length).replace(/^[.:]\s*/, "");
    }
    if (what.length > 160) {
      what = what.slice(0, 159) + "…";
    }
    const preview = block.closest("[data-editor-lines]");
    note.append("This diagram has an error on ");
    if (preview && fence > 0) {
      const go = document.createElement("button");
      go.type = "button";
      go.className = "link-button";
      go.dataset.gotoLine = String(line);
      go.textContent = where;
      go.title = "Put the cursor on " + where;
      note.append(go);
    } else {
      note.append(where);
    }
    note.append(what ? ": " + what + (/[.!?…]$/.test(what) ? "" : ".") : ".");
    block.insertAdjacentElement("afterend", note);
  }

  function remember(source, drawing) {
    drawings.delete(source);
    drawings.set(source, drawing);
    if (drawings.size > DRAWINGS_KEPT) {
      drawings.delete(drawings.keys().next().value);
    }
  }

  window.addEventListener("message", (event) => {
    // Only the frame we opened; a sandboxed frame's origin is "null".
    if (frame === null || event.source !== frame.contentWindow || event.origin !== "null") {
      return;
    }
    const answer = event.data || {};
    if (answer.ready === true) {
      frameReady();
      return;
    }
    const block = waiting.get(answer.id);
    if (block === undefined) {
      return;
    }
    waiting.delete(answer.id);
    if (typeof answer.error === "string") {
      showError(block, answer.error);
    } else if (typeof answer.svg === "string" && answer.width > 0 && answer.height > 0) {
      const drawing = { svg: answer.svg, width: answer.width, height: answer.height, kind: String(answer.kind) };
      remember(block.textContent, drawing);
      showDiagram(block, drawing);
    } else {
      showError(block, "it could not be drawn");
    }
  });

  function draw(root) {
    const found = root.matches && root.matches("pre.mermaid") ? [root] : [];
    const blocks = found.concat(Array.from(root.querySelectorAll("pre.mermaid"))).filter((block) => !block.dataset.processed);
    for (const block of blocks) {
      const source = block.textContent;
      const drawing = drawings.get(source);
      if (drawing) {
        showDiagram(block, drawing);
        continue;
      }
      block.dataset.processed = "pending";
      sent += 1;
      const id = String(sent);
      waiting.set(id, block);
      // "*": the frame's origin is opaque, and what goes there is already on the page.
      openFrame().then(() => frame.contentWindow.postMessage({ id, source }, "*"));
    }
  }

  draw(document.body);
  document.addEventListener("htmx:load", (event) => draw(event.detail.elt));
})();
