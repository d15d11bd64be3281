// The TipTap body editor with its formatting toolbar, shared by the broadcast
// composer (body-editor.js) and the flow editor's email steps. It edits the
// spec's bodyDoc; the server checks the document with the renderer.
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

/** Paragraphs (blank-line separated) as a TipTap document. */
export function paragraphs(text) {
  const blocks = text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return {
    type: "doc",
    content: blocks.map((b) => ({ type: "paragraph", content: [{ type: "text", text: b }] })),
  };
}

/**
 * Build the toolbar and the editing surface inside `root`.
 * `onChange(doc)` gets the document after every edit. Returns
 * `{ editor, setContent(doc), destroy() }`.
 */
export function createBodyEditor(root, { content, label = "Email body", onChange, testId = "body-editor" }) {
  const toolbar = document.createElement("div");
  toolbar.className = "body-editor-toolbar";
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", `Formatting: ${label}`);
  const surface = document.createElement("div");
  surface.className = "body-editor-surface";
  root.append(toolbar, surface);

  const editor = new Editor({
    element: surface,
    extensions: [StarterKit.configure({ link: { openOnClick: false, autolink: true } })],
    content: content || "",
    editorProps: {
      attributes: {
        role: "textbox",
        "aria-multiline": "true",
        "aria-label": label,
        class: "body-editor-content",
        "data-testid": testId,
      },
    },
    onUpdate: ({ editor: e }) => {
      if (onChange) onChange(e.getJSON());
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

  refresh();
  return {
    editor,
    setContent(doc) {
      if (JSON.stringify(doc || null) === JSON.stringify(editor.getJSON())) return;
      editor.commands.setContent(doc || "", { emitUpdate: false });
      refresh();
    },
    destroy() {
      editor.destroy();
      toolbar.remove();
      surface.remove();
    },
  };
}
