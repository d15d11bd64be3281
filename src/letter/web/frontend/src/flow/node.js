// A step on the canvas: its kind, what it does, its activity, the server's
// error for it, and its handles (two named legs on a branch or wait_event).
import React from "react";
import { Handle, Position } from "@xyflow/react";
import { LABELS, LEGS, summary } from "./model.js";

const h = React.createElement;

export function StepNode({ id, data, selected }) {
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

export const nodeTypes = { step: StepNode };
