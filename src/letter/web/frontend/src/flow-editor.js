// The sequence flow editor: @xyflow/react with dagre auto-layout. It edits
// the spec's graph ({nodes, edges}) and trigger, saves them with the draft's
// expected revision, and shows the server's checks on their nodes.
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import {
  Background, Controls, Handle, Position, ReactFlow, ReactFlowProvider,
  applyEdgeChanges, applyNodeChanges, useReactFlow,
} from "@xyflow/react";
import dagre from "@dagrejs/dagre";
import "@xyflow/react/dist/style.css";

const h = React.createElement;
const LEGS = { branch: ["yes", "no"], wait_event: ["received", "timeout"] };
const LABELS = {
  trigger: "Trigger", email: "Email", wait: "Wait", wait_event: "Wait for event",
  branch: "Branch", exit: "Exit",
};
const DEFAULTS = {
  email: () => ({ type: "email", subject: "Hello {{ contact.email }}", preview: "",
    bodyDoc: { type: "doc", content: [{ type: "paragraph", content: [{ type: "text", text: "Hello!" }] }] } }),
  wait: () => ({ type: "wait", duration: { value: 1, unit: "days" } }),
  wait_event: () => ({ type: "wait_event", eventName: "Activated", timeout: { value: 3, unit: "days" } }),
  branch: () => ({ type: "branch", condition: { kind: "trait", path: "plan", op: "eq", value: "pro" } }),
  exit: () => ({ type: "exit" }),
};

function summary(kind, config, trigger) {
  if (kind === "trigger") return trigger.type === "event" ? `When: ${trigger.eventName || "?"}` : "When a contact is created";
  if (kind === "email") return config.subject || "(no subject)";
  if (kind === "wait") return `${config.duration?.value} ${config.duration?.unit}`;
  if (kind === "wait_event") return `${config.eventName} · up to ${config.timeout?.value} ${config.timeout?.unit}`;
  if (kind === "branch") return "If the condition matches";
  return "";
}

function StepNode({ id, data, selected }) {
  const legs = LEGS[data.kind];
  return h("div", { className: `flow-node flow-${data.kind}${data.error ? " flow-error" : ""}${selected ? " flow-selected" : ""}`,
    "data-node-id": id },
    data.kind !== "trigger" && h(Handle, { type: "target", position: Position.Top }),
    h("strong", null, LABELS[data.kind]),
    h("div", { className: "flow-summary" }, summary(data.kind, data.config, data.trigger)),
    data.stats && h("div", { className: "flow-stats" },
      `at this step: ${data.stats.current}` + (data.kind === "email" ? ` · sent ${data.stats.sent} · opened ${data.stats.opened}` : "")),
    data.error && h("div", { className: "flow-node-error", role: "alert" }, data.error),
    legs ? legs.map((leg, i) => h(Handle, { key: leg, id: leg, type: "source", position: Position.Bottom,
      style: { left: `${30 + 40 * i}%` }, title: leg }))
      : data.kind !== "exit" && h(Handle, { type: "source", position: Position.Bottom }),
    legs && h("div", { className: "flow-legs" }, legs.join(" · ")));
}

const nodeTypes = { step: StepNode };

function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 60 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((n) => g.setNode(n.id, { width: 220, height: 80 }));
  edges.forEach((e) => g.setEdge(e.source, e.target));
  dagre.layout(g);
  return nodes.map((n) => ({ ...n, position: { x: g.node(n.id).x - 110, y: g.node(n.id).y - 40 } }));
}

function fromGraph(graph) {
  const nodes = (graph.nodes || []).map((n) => ({ id: n.id, type: "step", position: n.position || { x: 0, y: 0 },
    deletable: n.type !== "trigger", data: { kind: n.type, config: n.config } }));
  const edges = (graph.edges || []).map((e) => ({ id: e.id, source: e.source, target: e.target,
    sourceHandle: e.branch || null, label: e.branch || undefined }));
  const unplaced = nodes.every((n) => !n.position.x && !n.position.y);
  return { nodes: unplaced ? layout(nodes, edges) : nodes, edges };
}

function toGraph(nodes, edges) {
  return {
    nodes: nodes.map((n) => ({ id: n.id, type: n.data.kind, config: n.data.config,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } })),
    edges: edges.map((e) => (e.sourceHandle ? { id: e.id, source: e.source, target: e.target, branch: e.sourceHandle }
      : { id: e.id, source: e.source, target: e.target })),
  };
}

function text(doc) {
  return (doc?.content || []).map((b) => (b.content || []).map((t) => t.text || "").join("")).join("\n\n");
}

function doc(value) {
  const blocks = value.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return { type: "doc", content: blocks.map((b) => ({ type: "paragraph", content: [{ type: "text", text: b }] })) };
}

function Field({ label, value, onChange, type = "text", ...rest }) {
  const id = `flow-${label.replace(/\W+/g, "-").toLowerCase()}`;
  return h("div", { className: "field" }, h("label", { htmlFor: id }, label),
    type === "textarea" ? h("textarea", { id, value, onChange: (e) => onChange(e.target.value), ...rest })
      : h("input", { id, type, value, onChange: (e) => onChange(e.target.value), ...rest }));
}

function Duration({ label, value, onChange }) {
  return h("div", { className: "row" },
    h(Field, { label: `${label} (number)`, type: "number", min: 1, value: value?.value ?? 1,
      onChange: (v) => onChange({ ...value, value: Number(v) }) }),
    h("div", { className: "field" }, h("label", { htmlFor: `flow-${label}-unit` }, `${label} unit`),
      h("select", { id: `flow-${label}-unit`, value: value?.unit || "days", onChange: (e) => onChange({ ...value, unit: e.target.value }) },
        ["minutes", "hours", "days"].map((u) => h("option", { key: u, value: u }, u)))));
}

function Panel({ node, trigger, setTrigger, update }) {
  const [condition, setCondition] = useState("");
  const [problem, setProblem] = useState("");
  useEffect(() => { setCondition(JSON.stringify(node?.data.config.condition ?? {}, null, 2)); setProblem(""); }, [node?.id]);
  if (!node) return h("p", { className: "muted" }, "Select a step to configure it.");
  const c = node.data.config;
  const set = (patch) => update(node.id, { ...c, ...patch });
  switch (node.data.kind) {
    case "trigger":
      return h("div", null, h(Field, { label: "Trigger event name", value: trigger.eventName || "",
        onChange: (v) => setTrigger({ ...trigger, type: "event", eventName: v }) }));
    case "email":
      return h("div", null,
        h(Field, { label: "Subject", value: c.subject || "", onChange: (v) => set({ subject: v }) }),
        h(Field, { label: "Preview text", value: c.preview || "", onChange: (v) => set({ preview: v }) }),
        h(Field, { label: "Email body", type: "textarea", value: text(c.bodyDoc), onChange: (v) => set({ bodyDoc: doc(v) }) }));
    case "wait":
      return h(Duration, { label: "Wait", value: c.duration, onChange: (v) => set({ duration: v }) });
    case "wait_event":
      return h("div", null,
        h(Field, { label: "Event to wait for", value: c.eventName || "", onChange: (v) => set({ eventName: v }) }),
        h(Duration, { label: "Timeout", value: c.timeout, onChange: (v) => set({ timeout: v }) }));
    case "branch":
      return h("div", null,
        h(Field, { label: "Condition (FilterSpec JSON)", type: "textarea", value: condition, rows: 8,
          onChange: (v) => {
            setCondition(v);
            try { set({ condition: JSON.parse(v) }); setProblem(""); } catch (e) { setProblem("Not valid JSON yet."); }
          } }),
        problem && h("p", { className: "field-error" }, problem));
    default:
      return h("p", { className: "muted" }, "An exit ends the sequence for the contact.");
  }
}

function Editor({ initial, saveUrl, csrf }) {
  const start = useMemo(() => fromGraph(initial.graph), []);
  const [nodes, setNodes] = useState(start.nodes);
  const [edges, setEdges] = useState(start.edges);
  const [trigger, setTrigger] = useState(initial.trigger || { type: "event", eventName: "" });
  const [revision, setRevision] = useState(initial.revision);
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [selected, setSelected] = useState(null);
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
      if (e.target.closest && e.target.closest("input, textarea, select")) return;
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
  const onConnect = useCallback((c) => {
    remember();
    const id = `e-${c.source}-${c.sourceHandle || "next"}-${c.target}`;
    setEdges((es) => [...es.filter((e) => !(e.source === c.source && (e.sourceHandle || null) === (c.sourceHandle || null))),
      { id, source: c.source, target: c.target, sourceHandle: c.sourceHandle || null, label: c.sourceHandle || undefined }]);
  }, [nodes, edges, trigger]);

  const add = (kind) => {
    remember();
    const id = `${kind}-${Date.now().toString(36)}`;
    const from = nodes.find((n) => n.id === selected) || nodes[nodes.length - 1];
    const position = from ? { x: from.position.x, y: from.position.y + 130 } : { x: 0, y: 0 };
    setNodes((ns) => [...ns, { id, type: "step", position, data: { kind, config: DEFAULTS[kind]() } }]);
    if (from && !LEGS[from.data.kind] && from.data.kind !== "exit" && !edges.some((e) => e.source === from.id)) {
      setEdges((es) => [...es, { id: `e-${from.id}-${id}`, source: from.id, target: id }]);
    }
    setSelected(id);
    setTimeout(() => flow.fitView({ duration: 200 }), 50);
  };
  const update = (id, config) => {
    remember();
    setNodes((ns) => ns.map((n) => (n.id === id ? { ...n, data: { ...n.data, config } } : n)));
  };
  const changeTrigger = (t) => { remember(); setTrigger(t); };

  const save = async () => {
    setMessage({ kind: "notice", text: "Saving…" });
    const response = await fetch(saveUrl, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ graph: toGraph(nodes, edges), trigger, expected_revision: revision }) });
    const body = await response.json();
    if (!response.ok) {
      const conflict = response.status === 409;
      setMessage({ kind: "error", text: conflict
        ? `Someone else saved this sequence meanwhile: ${body.error.message} Reload the page to see their version (your changes are still here to copy).`
        : body.error.message });
      return;
    }
    setRevision(body.revision);
    const byNode = {};
    for (const e of body.errors) if (e.nodeId) byNode[e.nodeId] = e.message;
    setErrors(byNode);
    const general = body.errors.filter((e) => !e.nodeId).map((e) => e.message);
    setMessage({ kind: body.errors.length ? "error" : "notice",
      text: `Saved (revision ${body.revision}).` + (body.errors.length ? ` Before publishing: ${body.errors.length} problem(s)${general.length ? ": " + general.join("; ") : " shown on their steps"}.` : " Ready to publish.") });
  };

  const stats = initial.stats || {};
  const shown = nodes.map((n) => ({ ...n, data: { ...n.data, trigger, error: errors[n.id], stats: stats[n.id] } }));
  const node = nodes.find((n) => n.id === selected);
  return h("div", { className: "flow-editor" },
    h("div", { className: "flow-toolbar", role: "toolbar", "aria-label": "Flow editor" },
      ["email", "wait", "wait_event", "branch", "exit"].map((k) =>
        h("button", { key: k, type: "button", className: "secondary", onClick: () => add(k) }, `+ ${LABELS[k]}`)),
      h("button", { type: "button", className: "secondary", onClick: () => { remember(); setNodes(layout(nodes, edges)); } }, "Auto-layout"),
      h("button", { type: "button", className: "secondary", onClick: undo }, "Undo"),
      h("button", { type: "button", className: "secondary", onClick: redo }, "Redo"),
      h("button", { type: "button", onClick: save }, "Save draft")),
    message && h("p", { className: `alert ${message.kind}`, role: message.kind === "error" ? "alert" : "status", id: "flow-message" }, message.text),
    h("div", { className: "flow-body" },
      h("div", { className: "flow-canvas" },
        h(ReactFlow, { nodes: shown, edges, nodeTypes, onNodesChange, onEdgesChange, onConnect, fitView: true,
          onSelectionChange: ({ nodes: sel }) => setSelected(sel[0]?.id ?? null), deleteKeyCode: ["Delete", "Backspace"] },
          h(Background), h(Controls))),
      h("aside", { className: "flow-panel card", "aria-label": "Step settings" },
        h("h2", null, node ? LABELS[node.data.kind] : "Settings"),
        h(Panel, { node, trigger, setTrigger: changeTrigger, update }))));
}

function mount(root) {
  if (root.dataset.mounted) return;
  root.dataset.mounted = "1";
  const initial = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  createRoot(root).render(h(ReactFlowProvider, null,
    h(Editor, { initial, saveUrl: root.dataset.saveUrl, csrf: root.dataset.csrf })));
}

function scan(node) {
  if (node && node.querySelectorAll) node.querySelectorAll("[data-flow-editor]").forEach(mount);
}

scan(document);
document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
