// The email body editor: TipTap over the composer's fallback textarea. It
// keeps the hidden `body_doc` field equal to the editor's JSON (the spec's
// bodyDoc), so the server stores exactly what the editor produced.
import { Editor } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";

const ACTIONS = [
  { name: "bold", label: "Bold", run: (c) => c.toggleBold(), active: ["bold"] },
  { name: "italic", label: "Italic", run: (c) => c.toggleItalic(), active: ["italic"] },
  { name: "h2", label: "Heading", run: (c) => c.toggleHeading({ level: 2 }),
    active: ["heading", { level: 2 }] },
  { name: "ul", label: "Bulleted list", run: (c) => c.toggleBulletList(), active: ["bulletList"] },
  { name: "ol", label: "Numbered list", run: (c) => c.toggleOrderedList(), active: ["orderedList"] },
  { name: "quote", label: "Quote", run: (c) => c.toggleBlockquote(), active: ["blockquote"] },
  { name: "link", label: "Link", run: null, active: ["link"] },
  { name: "undo", label: "Undo", run: (c) => c.undo(), active: null },
  { name: "redo", label: "Redo", run: (c) => c.redo(), active: null },
];

function paragraphs(text) {
  const blocks = text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return {
    type: "doc",
    content: blocks.map((b) => ({ type: "paragraph", content: [{ type: "text", text: b }] })),
  };
}

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
  const label = root.getAttribute("data-label") || "Email body";
  const toolbar = document.createElement("div");
  toolbar.className = "body-editor-toolbar";
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Formatting");
  const surface = document.createElement("div");
  surface.className = "body-editor-surface";
  root.append(toolbar, surface);

  const editor = new Editor({
    element: surface,
    extensions: [StarterKit.configure({ link: { openOnClick: false, autolink: true } })],
    content: initial(input, fallback),
    editorProps: {
      attributes: {
        role: "textbox",
        "aria-multiline": "true",
        "aria-label": label,
        class: "body-editor-content",
        "data-testid": "body-editor",
      },
    },
    onUpdate: ({ editor: e }) => {
      input.value = JSON.stringify(e.getJSON());
      input.dispatchEvent(new Event("input", { bubbles: true }));
      refresh();
    },
    onSelectionUpdate: () => refresh(),
  });

  const buttons = ACTIONS.map((action) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = action.label;
    button.dataset.action = action.name;
    if (action.active) button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      if (action.name === "link") {
        const current = editor.getAttributes("link").href || "https://";
        const href = window.prompt("Link address (https://, mailto: or tel:)", current);
        if (href === null) return;
        const chain = editor.chain().focus().extendMarkRange("link");
        (href ? chain.setLink({ href }) : chain.unsetLink()).run();
        return;
      }
      action.run(editor.chain().focus()).run();
    });
    toolbar.append(button);
    return [action, button];
  });

  function refresh() {
    for (const [action, button] of buttons) {
      if (action.active) button.setAttribute("aria-pressed", String(editor.isActive(...action.active)));
    }
  }

  input.value = JSON.stringify(editor.getJSON());
  fallback.hidden = true;
  fallback.disabled = true;
  refresh();
}

function scan(node) {
  if (node && node.querySelectorAll) node.querySelectorAll("[data-body-editor]").forEach(mount);
}

scan(document);
document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
