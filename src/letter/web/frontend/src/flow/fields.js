// Form controls of the flow editor's settings panel: labelled inputs, a
// duration, JSON (FilterSpec) text, and event-property conditions.
import React, { useEffect, useState } from "react";

const h = React.createElement;
export const OPERATORS = ["eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte", "exists", "not_exists"];
const NO_VALUE = ["exists", "not_exists"];

export function slug(text) {
  return `flow-${text.replace(/\W+/g, "-").toLowerCase()}`;
}

export function Field({ label, value, onChange, type = "text", id, hint, ...rest }) {
  const key = id || slug(label);
  const props = { id: key, value, onChange: (e) => onChange(e.target.value),
    "aria-describedby": hint ? `${key}-hint` : undefined, ...rest };
  return h("div", { className: "field" }, h("label", { htmlFor: key }, label),
    type === "textarea" ? h("textarea", props) : h("input", { type, ...props }),
    hint && h("p", { className: "muted flow-hint", id: `${key}-hint` }, hint));
}

export function Select({ label, value, options, onChange, id }) {
  const key = id || slug(label);
  return h("div", { className: "field" }, h("label", { htmlFor: key }, label),
    h("select", { id: key, value, onChange: (e) => onChange(e.target.value) },
      options.map(([v, text]) => h("option", { key: v, value: v }, text))));
}

export function Check({ label, checked, onChange, id }) {
  const key = id || slug(label);
  return h("div", { className: "field flow-check" },
    h("input", { id: key, type: "checkbox", checked: !!checked, onChange: (e) => onChange(e.target.checked) }),
    h("label", { htmlFor: key }, label));
}

export function Duration({ label, value, onChange }) {
  return h("div", { className: "row" },
    h(Field, { label: `${label} (number)`, type: "number", min: 1, value: value?.value ?? 1,
      onChange: (v) => onChange({ ...value, value: Number(v) }) }),
    h(Select, { label: `${label} unit`, id: `flow-${label}-unit`, value: value?.unit || "days",
      options: ["minutes", "hours", "days"].map((u) => [u, u]), onChange: (u) => onChange({ ...value, unit: u }) }));
}

/** JSON text for a FilterSpec; empty text is `null` when `optional`. */
export function JsonField({ label, value, onChange, optional, resetKey, hint }) {
  const [text, setText] = useState("");
  const [problem, setProblem] = useState("");
  useEffect(() => { setText(value == null ? "" : JSON.stringify(value, null, 2)); setProblem(""); }, [resetKey]);
  return h("div", null,
    h(Field, { label, type: "textarea", value: text, rows: 6, hint,
      onChange: (v) => {
        setText(v);
        if (optional && !v.trim()) { onChange(null); setProblem(""); return; }
        try { onChange(JSON.parse(v)); setProblem(""); } catch (e) { setProblem("Not valid JSON yet."); }
      } }),
    problem && h("p", { className: "field-error", role: "alert" }, problem));
}

/** Conditions on an event's properties, AND-ed (the spec's `where`). */
export function Conditions({ label, value, onChange }) {
  const items = value == null ? [] : Array.isArray(value) ? value : [value];
  const put = (list) => onChange(list.length ? list : null);
  const change = (i, patch) => put(items.map((c, j) => {
    if (j !== i) return c;
    const next = { ...c, ...patch };
    if (NO_VALUE.includes(next.op)) delete next.value;
    else if (next.value === undefined) next.value = "";
    return next;
  }));
  return h("fieldset", { className: "flow-conditions" }, h("legend", null, label),
    items.map((c, i) => {
      const name = `${label} ${i + 1}`;
      return h("div", { key: i, className: "flow-condition" },
        h(Field, { label: `${name}: property`, value: c.property || "", onChange: (v) => change(i, { property: v }) }),
        h(Select, { label: `${name}: operator`, value: c.op, options: OPERATORS.map((o) => [o, o]),
          onChange: (v) => change(i, { op: v }) }),
        !NO_VALUE.includes(c.op) && h(Field, { label: `${name}: value`, value: String(c.value ?? ""),
          onChange: (v) => change(i, { value: v }) }),
        h("button", { type: "button", className: "secondary", onClick: () => put(items.filter((_, j) => j !== i)) },
          `Remove ${name}`));
    }),
    h("button", { type: "button", className: "secondary",
      onClick: () => put([...items, { property: "", op: "eq", value: "" }]) }, `Add: ${label}`));
}
