// The email body editor: TipTap over the composer's fallback textarea. It
// keeps the hidden `body_doc` field equal to the editor's JSON (the spec's
// bodyDoc), so the server stores exactly what the editor produced.
import { createBodyEditor, paragraphs } from "./body-editor-core.js";

function initial(input, fallback) {
  try {
    const doc = JSON.parse(input.value);
    if (doc && doc.type === "doc") return doc;
  } catch (_) {
    // an empty or hand-edited field: start from the textarea's text
  }
  return fallback.value.trim() ? paragraphs(fallback.value) : "";
}

function mount(root) {
  if (root.dataset.mounted) return;
  root.dataset.mounted = "1";
  const input = root.querySelector("input[name=body_doc]");
  const fallback = root.querySelector("textarea");
  const { editor } = createBodyEditor(root, {
    content: initial(input, fallback),
    label: root.getAttribute("data-label") || "Email body",
    onChange: (doc) => {
      input.value = JSON.stringify(doc);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    },
  });
  input.value = JSON.stringify(editor.getJSON());
  fallback.hidden = true;
  fallback.disabled = true;
}

function scan(node) {
  if (node && node.querySelectorAll) node.querySelectorAll("[data-body-editor]").forEach(mount);
}

scan(document);
document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
