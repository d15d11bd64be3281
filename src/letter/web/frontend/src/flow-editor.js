// The sequence flow editor: @xyflow/react with dagre auto-layout. It edits
// the spec's graph ({nodes, edges}) and trigger, saves them with the draft's
// expected revision, and shows the server's checks on their nodes. Email
// steps are written with the shared TipTap body editor and can be previewed
// and test-sent as edited.
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import {
  Background, Controls, ReactFlow, ReactFlowProvider, applyEdgeChanges, applyNodeChanges, useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./flow/flow.css";
import { postJson } from "./flow/http.js";
import { DEFAULTS, KINDS, LABELS, LEGS, connect, fromGraph, layout, nodeOfError, title, toGraph } from "./flow/model.js";
import { nodeTypes } from "./flow/node.js";
import { Panel } from "./flow/panel.js";
import { tidy } from "./flow/trigger-panel.js";

const h = React.createElement;

function byNode(errors) {
  const out = {};
  for (const e of errors) if (e.nodeId) out[e.nodeId] = out[e.nodeId] ? `${out[e.nodeId]} ${e.message}` : e.message;
  return out;
}

function Editor({ initial, ctx }) {
  const start = useMemo(() => fromGraph(initial.graph), []);
  const [nodes, setNodes] = useState(start.nodes);
  const [edges, setEdges] = useState(start.edges);
  const [trigger, setTrigger] = useState(initial.trigger || { type: "event", eventName: "" });
  const [revision, setRevision] = useState(initial.revision);
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [selected, setSelected] = useState(null);
  const [preview, setPreview] = useState(null);
  const flow = useReactFlow();
  const past = useRef([]);
  const future = useRef([]);

  const snapshot = () => ({ nodes, edges, trigger });
  const remember = () => { past.current.push(snapshot()); future.current = []; };
  const restore = (s) => { setNodes(s.nodes); setEdges(s.edges); setTrigger(s.trigger); };
  const undo = () => { const s = past.current.pop(); if (s) { future.current.push(snapshot()); restore(s); } };
  const redo = () => { const s = future.current.pop(); if (s) { past.current.push(snapshot()); restore(s); } };

  useEffect(() => {
    const onKey = (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "z") return;
      if (e.target.closest && e.target.closest("input, textarea, select, [contenteditable]")) return;
      e.preventDefault();
      e.shiftKey ? redo() : undo();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const onNodesChange = useCallback((changes) => {
    if (changes.some((c) => c.type === "remove" || (c.type === "position" && c.dragging === false))) remember();
    setNodes((ns) => applyNodeChanges(changes, ns));
  }, [nodes, edges, trigger]);
  const onEdgesChange = useCallback((changes) => {
    if (changes.some((c) => c.type === "remove")) remember();
    setEdges((es) => applyEdgeChanges(changes, es));
  }, [nodes, edges, trigger]);
  const link = (source, leg, target) => { remember(); setEdges((es) => connect(es, source, leg, target)); };
  const onConnect = useCallback((c) => link(c.source, c.sourceHandle || null, c.target), [nodes, edges, trigger]);

  const select = (id) => {
    setSelected(id);
    setNodes((ns) => ns.map((n) => (n.selected === (n.id === id) ? n : { ...n, selected: n.id === id })));
  };
  const add = (kind) => {
    remember();
    const id = `${kind}-${Date.now().toString(36)}`;
    const from = nodes.find((n) => n.id === selected) || nodes[nodes.length - 1];
    const position = from ? { x: from.position.x, y: from.position.y + 130 } : { x: 0, y: 0 };
    while (nodes.some((n) => Math.abs(n.position.x - position.x) < 230 && Math.abs(n.position.y - position.y) < 90)) {
      position.x += 260; // beside the steps already there, not on top of them
    }
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })),
      { id, type: "step", position, selected: true, data: { kind, config: DEFAULTS[kind]() } }]);
    if (from && !LEGS[from.data.kind] && from.data.kind !== "exit" && !edges.some((e) => e.source === from.id)) {
      setEdges((es) => connect(es, from.id, null, id));
    }
    setSelected(id);
    setTimeout(() => flow.fitView({ duration: 200 }), 50);
  };
  const remove = (id) => {
    remember();
    setNodes((ns) => ns.filter((n) => n.id !== id));
    setEdges((es) => es.filter((e) => e.source !== id && e.target !== id));
    setSelected(null);
    if (preview?.nodeId === id) setPreview(null);
  };
  const update = (id, config) => {
    remember();
    setNodes((ns) => ns.map((n) => (n.id === id ? { ...n, data: { ...n.data, config } } : n)));
  };
  const changeTrigger = (t) => { remember(); setTrigger(t); };

  const save = async () => {
    setMessage({ kind: "notice", text: "Saving…" });
    const graph = toGraph(nodes, edges);
    const { ok, status, body } = await postJson(ctx.saveUrl, ctx.csrf,
      { graph, trigger: tidy(trigger), expected_revision: revision });
    if (!ok) {
      const where = status === 400 ? nodeOfError(body.error.message, nodes, edges) : null;
      setErrors(where ? { [where]: body.error.message } : {});
      setMessage({ kind: "error", text: status === 409
        ? `Someone else saved this sequence meanwhile: ${body.error.message} Reload the page to see their version (your changes are still here to copy).`
        : `Not saved: ${body.error.message}` });
      return;
    }
    setRevision(body.revision);
    setErrors(byNode(body.errors));
    const general = body.errors.filter((e) => !e.nodeId).map((e) => e.message);
    setMessage({ kind: body.errors.length ? "error" : "notice",
      text: `Saved (revision ${body.revision}).` + (body.errors.length ? ` Before publishing: ${body.errors.length} problem(s)${general.length ? ": " + general.join("; ") : " shown on their steps"}.` : " Ready to publish.") });
  };

  const stats = initial.stats || {};
  const shown = nodes.map((n) => ({ ...n, ariaLabel: `${title(n, trigger)}${errors[n.id] ? `. Problem: ${errors[n.id]}` : ""}`,
    data: { ...n.data, trigger, error: errors[n.id], stats: stats[n.id] } }));
  const node = nodes.find((n) => n.id === selected);
  const previewed = preview && nodes.find((n) => n.id === preview.nodeId);
  return h("div", { className: "flow-editor" },
    h("div", { className: "flow-toolbar", role: "toolbar", "aria-label": "Flow editor" },
      KINDS.map((k) => h("button", { key: k, type: "button", className: "secondary", onClick: () => add(k) }, `+ ${LABELS[k]}`)),
      h("button", { type: "button", className: "secondary", onClick: () => { remember(); setNodes(layout(nodes, edges)); } }, "Auto-layout"),
      h("button", { type: "button", className: "secondary", onClick: undo, "aria-keyshortcuts": "Control+Z" }, "Undo"),
      h("button", { type: "button", className: "secondary", onClick: redo, "aria-keyshortcuts": "Control+Shift+Z" }, "Redo"),
      h("button", { type: "button", onClick: save }, "Save draft")),
    message && h("p", { className: `alert ${message.kind}`, role: message.kind === "error" ? "alert" : "status", id: "flow-message" }, message.text),
    h("div", { className: "flow-body" },
      h("div", { className: "flow-canvas" },
        h(ReactFlow, { nodes: shown, edges, nodeTypes, onNodesChange, onEdgesChange, onConnect, fitView: true,
          onSelectionChange: ({ nodes: sel }) => setSelected(sel[0]?.id ?? null), deleteKeyCode: ["Delete", "Backspace"] },
          h(Background), h(Controls))),
      h("aside", { className: "flow-panel card", "aria-label": "Step settings" },
        h(Panel, { node, nodes, edges, trigger, setTrigger: changeTrigger, update, ctx, select, remove,
          connect: link, onPreview: setPreview }))),
    previewed && h("section", { className: "flow-preview card", "aria-label": "Email preview" },
      h("div", { className: "flow-preview-head" }, h("h2", null, `Preview: ${previewed.data.config.subject || previewed.id}`),
        h("button", { type: "button", className: "secondary", onClick: () => setPreview(null) }, "Close preview")),
      // No scripts run in the frame; same origin only so it renders in-process.
      h("iframe", { title: "Email preview", sandbox: "allow-same-origin", srcDoc: preview.html, id: "flow-preview-frame" })));
}

function mount(root) {
  if (root.dataset.mounted) return;
  root.dataset.mounted = "1";
  const initial = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  const ctx = { saveUrl: root.dataset.saveUrl, previewUrl: root.dataset.previewUrl, testUrl: root.dataset.testUrl,
    csrf: root.dataset.csrf, me: root.dataset.me, templates: initial.templates || [] };
  createRoot(root).render(h(ReactFlowProvider, null, h(Editor, { initial, ctx })));
}

function scan(node) {
  if (node && node.querySelectorAll) node.querySelectorAll("[data-flow-editor]").forEach(mount);
}

scan(document);
document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
