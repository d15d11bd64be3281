// An email step's settings: subject, preview text, template, the TipTap
// body (the shared body editor), an optional send window, and preview and
// test send of the step as edited (the API's preview and test-email services).
import React, { useEffect, useRef, useState } from "react";
import { createBodyEditor } from "../body-editor-core.js";
import { Check, Field, Select } from "./fields.js";
import { postJson } from "./http.js";

const h = React.createElement;
const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
  ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];

function BodyEditor({ doc, onChange }) {
  const root = useRef(null);
  const handle = useRef(null);
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    handle.current = createBodyEditor(root.current, { content: doc, label: "Email body",
      onChange: (d) => latest.current(d), testId: "flow-body-editor" });
    return () => handle.current.destroy();
  }, []);
  useEffect(() => { if (handle.current) handle.current.setContent(doc); }, [doc]);
  return h("div", { ref: root, className: "flow-body-editor" });
}

function SendWindow({ value, onChange }) {
  const days = value?.days || DAYS.map(([d]) => d);
  return h("fieldset", { className: "flow-conditions" }, h("legend", null, "Send window"),
    h(Check, { label: "Only send within a time window", checked: !!value,
      onChange: (on) => onChange(on ? { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" } : null) }),
    value && h("div", { className: "flow-days" }, DAYS.map(([d, name]) => h(Check, { key: d, label: `Send on ${name}`,
      checked: days.includes(d),
      onChange: (on) => onChange({ ...value, days: DAYS.map(([x]) => x).filter((x) => (x === d ? on : days.includes(x))) }) }))),
    value && h("div", { className: "row" },
      h(Field, { label: "Window opens", type: "time", value: value.start, onChange: (v) => onChange({ ...value, start: v }) }),
      h(Field, { label: "Window closes", type: "time", value: value.end, onChange: (v) => onChange({ ...value, end: v }) })),
    value && h("p", { className: "muted flow-hint" }, "In the contact's time zone, else the project's."));
}

export function EmailPanel({ node, update, ctx, onPreview }) {
  const c = node.data.config;
  const [to, setTo] = useState(ctx.me || "");
  const [result, setResult] = useState(null);
  const set = (patch) => {
    const next = { ...c, ...patch };
    for (const key of ["templateId", "sendWindow"]) if (next[key] === null || next[key] === "") delete next[key];
    update(node.id, next);
  };
  const run = async (url, body, done) => {
    setResult({ kind: "notice", text: "Working…" });
    const { ok, body: answer } = await postJson(url, ctx.csrf, { node_id: node.id, config: c, ...body });
    setResult(ok ? { kind: "notice", text: done(answer) } : { kind: "error", text: answer.error.message });
  };
  return h("div", null,
    h(Field, { label: "Subject", value: c.subject || "", onChange: (v) => set({ subject: v }) }),
    h(Field, { label: "Preview text", value: c.preview || "", onChange: (v) => set({ preview: v }) }),
    h(Select, { label: "Template", value: c.templateId || "", onChange: (v) => set({ templateId: v }),
      options: [["", "The project's default template"], ...ctx.templates.map((t) => [t.id, t.name])] }),
    h("div", { className: "field" }, h("span", { className: "flow-label" }, "Email body"),
      h(BodyEditor, { doc: c.bodyDoc, onChange: (doc) => set({ bodyDoc: doc }) })),
    h(SendWindow, { value: c.sendWindow, onChange: (v) => set({ sendWindow: v }) }),
    h("fieldset", { className: "flow-conditions" }, h("legend", null, "Try it (as edited, unsaved changes too)"),
      h(Field, { label: "Test address", type: "email", value: to, onChange: setTo,
        hint: "The preview and the test are rendered as the contact with this address, if there is one." }),
      h("div", { className: "actions" },
        h("button", { type: "button", className: "secondary",
          onClick: () => run(ctx.previewUrl, to ? { recipient_email: to } : {}, (a) => { onPreview({ nodeId: node.id, html: a.html }); return "Preview below."; }) },
        "Preview"),
        h("button", { type: "button", className: "secondary",
          onClick: () => run(ctx.testUrl, { recipient_email: to }, (a) => `A [Test] copy is on its way to ${a.to}.`) },
        "Send test"))),
    result && h("p", { className: `alert ${result.kind}`, role: result.kind === "error" ? "alert" : "status",
      id: "flow-try-result" }, result.text));
}
