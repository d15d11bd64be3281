// The flow editor's data: node kinds and their defaults, the spec's graph
// ({nodes, edges}) to and from React Flow's nodes and edges, dagre layout,
// and where a server error belongs (which node it names).
import dagre from "@dagrejs/dagre";

export const LEGS = { branch: ["yes", "no"], wait_event: ["received", "timeout"] };
export const LABELS = {
  trigger: "Trigger", email: "Email", wait: "Wait", wait_event: "Wait for event",
  branch: "Branch", exit: "Exit",
};
export const KINDS = ["email", "wait", "wait_event", "branch", "exit"];
export const DEFAULTS = {
  email: () => ({ type: "email", subject: "Hello {{ contact.email }}", preview: "",
    bodyDoc: { type: "doc", content: [{ type: "paragraph", content: [{ type: "text", text: "Hello!" }] }] } }),
  wait: () => ({ type: "wait", duration: { value: 1, unit: "days" } }),
  wait_event: () => ({ type: "wait_event", eventName: "Activated", timeout: { value: 3, unit: "days" } }),
  branch: () => ({ type: "branch", condition: { kind: "trait", path: "plan", op: "eq", value: "pro" } }),
  exit: () => ({ type: "exit" }),
};

export function summary(kind, config, trigger) {
  if (kind === "trigger") {
    const when = trigger.type === "event" ? `When: ${trigger.eventName || "?"}` : "When a contact is created";
    return trigger.exitOn?.eventName ? `${when} · exits on ${trigger.exitOn.eventName}` : when;
  }
  if (kind === "email") return config.subject || "(no subject)";
  if (kind === "wait") return `${config.duration?.value} ${config.duration?.unit}`;
  if (kind === "wait_event") return `${config.eventName} · up to ${config.timeout?.value} ${config.timeout?.unit}`;
  if (kind === "branch") return "If the condition matches";
  return "";
}

/** A node's name for lists and selects: its kind and what it does. */
export function title(node, trigger) {
  const text = summary(node.data.kind, node.data.config, trigger);
  return `${LABELS[node.data.kind]}${text ? `: ${text}` : ""} (${node.id})`;
}

export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 60 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((n) => g.setNode(n.id, { width: 220, height: 80 }));
  edges.forEach((e) => g.setEdge(e.source, e.target));
  dagre.layout(g);
  return nodes.map((n) => ({ ...n, position: { x: g.node(n.id).x - 110, y: g.node(n.id).y - 40 } }));
}

export function edge(source, leg, target) {
  return { id: `e-${source}-${leg || "next"}-${target}`, source, target, sourceHandle: leg || null,
    label: leg || undefined };
}

export function fromGraph(graph) {
  const nodes = (graph.nodes || []).map((n) => ({ id: n.id, type: "step", position: n.position || { x: 0, y: 0 },
    deletable: n.type !== "trigger", data: { kind: n.type, config: n.config } }));
  const edges = (graph.edges || []).map((e) => ({ ...edge(e.source, e.branch, e.target), id: e.id }));
  const unplaced = nodes.every((n) => !n.position.x && !n.position.y);
  return { nodes: unplaced ? layout(nodes, edges) : nodes, edges };
}

export function toGraph(nodes, edges) {
  return {
    nodes: nodes.map((n) => ({ id: n.id, type: n.data.kind, config: n.data.config,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } })),
    edges: edges.map((e) => (e.sourceHandle ? { id: e.id, source: e.source, target: e.target, branch: e.sourceHandle }
      : { id: e.id, source: e.source, target: e.target })),
  };
}

/** Edges with the (source, leg) edge replaced by one to `target` (none: removed). */
export function connect(edges, source, leg, target) {
  const kept = edges.filter((e) => !(e.source === source && (e.sourceHandle || null) === (leg || null)));
  return target ? [...kept, edge(source, leg, target)] : kept;
}

/**
 * The node a 400 from the draft save names: "graph.nodes[3]…" is the fourth
 * node sent, "graph.edges[1]…" the second edge's source, "trigger…" the
 * trigger node. Returns null for an error about the whole draft.
 */
export function nodeOfError(message, nodes, edges) {
  const found = /^graph\.(nodes|edges)\[(\d+)\]/.exec(message);
  if (found) {
    const item = found[1] === "nodes" ? nodes[Number(found[2])] : edges[Number(found[2])];
    return item ? (item.source || item.id) : null;
  }
  if (/^trigger\b/.test(message)) return nodes.find((n) => n.data.kind === "trigger")?.id ?? null;
  return null;
}
