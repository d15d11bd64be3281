// The settings panel of the selected step: pick a step, its settings, its
// outgoing legs ("Connect to…", so a flow can be wired without the mouse)
// and removing it.
import React from "react";
import { EmailPanel } from "./email-panel.js";
import { Duration, Field, JsonField, Select } from "./fields.js";
import { LABELS, LEGS, title } from "./model.js";
import { TriggerPanel } from "./trigger-panel.js";

const h = React.createElement;

function Settings({ node, trigger, setTrigger, update, ctx, onPreview }) {
  const c = node.data.config;
  const set = (patch) => update(node.id, { ...c, ...patch });
  switch (node.data.kind) {
    case "trigger":
      return h(TriggerPanel, { trigger, setTrigger });
    case "email":
      return h(EmailPanel, { node, update, ctx, onPreview });
    case "wait":
      return h(Duration, { label: "Wait", value: c.duration, onChange: (v) => set({ duration: v }) });
    case "wait_event":
      return h("div", null,
        h(Field, { label: "Event to wait for", value: c.eventName || "", onChange: (v) => set({ eventName: v }) }),
        h(Duration, { label: "Timeout", value: c.timeout, onChange: (v) => set({ timeout: v }) }),
        h(Field, { label: "Match property (optional)", value: c.match?.property || "",
          hint: "The awaited event must carry the same value of this property as the triggering event.",
          onChange: (v) => { const { match, ...rest } = c; update(node.id, v ? { ...rest, match: { property: v } } : rest); } }));
    case "branch":
      return h(JsonField, { label: "Condition (FilterSpec JSON)", value: c.condition ?? {}, resetKey: node.id,
        onChange: (v) => set({ condition: v }) });
    default:
      return h("p", { className: "muted" }, "An exit ends the sequence for the contact.");
  }
}

function Connections({ node, nodes, edges, trigger, connect }) {
  const kind = node.data.kind;
  if (kind === "exit") return null;
  const legs = LEGS[kind] || [null];
  const targets = nodes.filter((n) => n.id !== node.id && n.data.kind !== "trigger");
  return h("fieldset", { className: "flow-conditions" }, h("legend", null, "Next step"),
    legs.map((leg) => {
      const current = edges.find((e) => e.source === node.id && (e.sourceHandle || null) === leg);
      return h(Select, { key: leg || "next", label: leg ? `Connect "${leg}" to…` : "Connect to…",
        id: `flow-connect-${leg || "next"}`, value: current ? current.target : "",
        options: [["", "(not connected)"], ...targets.map((n) => [n.id, title(n, trigger)])],
        onChange: (target) => connect(node.id, leg, target || null) });
    }));
}

export function Panel(props) {
  const { node, nodes, trigger, select, remove } = props;
  return h("div", null,
    h(Select, { label: "Step", id: "flow-step", value: node ? node.id : "",
      options: [["", "Choose a step…"], ...nodes.map((n) => [n.id, title(n, trigger)])],
      onChange: (id) => select(id || null) }),
    !node ? h("p", { className: "muted" }, "Select a step on the canvas (Tab to it, then Enter) or above to configure it.")
      : h("div", { key: node.id },
        h("h2", null, LABELS[node.data.kind]),
        h(Settings, props),
        h(Connections, props),
        node.data.kind !== "trigger" && h("button", { type: "button", className: "danger",
          onClick: () => remove(node.id) }, "Delete this step")));
}
