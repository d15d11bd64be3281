// The trigger's settings: its type, event and event-property conditions
// (`where`), once per contact, the contact filter, and `exitOn` (leave the
// flow when the contact does an event). Field names are the spec's.
import React from "react";
import { Check, Conditions, Field, JsonField, Select } from "./fields.js";

const h = React.createElement;

/** The trigger without empty optional parts (the server is strict). */
export function tidy(trigger) {
  const out = {};
  for (const [key, value] of Object.entries(trigger)) {
    if (value === null || value === undefined) continue;
    if (key === "oncePerContact" && value === false) continue;
    out[key] = value;
  }
  return out;
}

export function TriggerPanel({ trigger, setTrigger }) {
  const set = (patch) => setTrigger(tidy({ ...trigger, ...patch }));
  const event = trigger.type === "event";
  const exitOn = trigger.exitOn || null;
  const changeType = (type) => setTrigger(tidy(type === "event"
    ? { type, eventName: trigger.eventName || "", filter: trigger.filter, exitOn: trigger.exitOn }
    : { type, filter: trigger.filter, exitOn: trigger.exitOn }));
  const setExit = (patch) => {
    const next = { ...(exitOn || {}), ...patch };
    set({ exitOn: next.eventName || next.where ? tidy(next) : null });
  };
  return h("div", null,
    h(Select, { label: "Trigger type", value: trigger.type || "event", onChange: changeType,
      options: [["event", "When the contact does an event"], ["contact_created", "When a contact is created"]] }),
    event && h(Field, { label: "Trigger event name", value: trigger.eventName || "",
      onChange: (v) => set({ eventName: v }) }),
    event && h(Conditions, { label: "Event property condition", value: trigger.where,
      onChange: (v) => set({ where: v }) }),
    event && h(Check, { label: "Only once per contact, ever", checked: trigger.oncePerContact,
      onChange: (v) => set({ oncePerContact: v }) }),
    h(JsonField, { label: "Contact filter (FilterSpec JSON, optional)", value: trigger.filter ?? null, optional: true,
      resetKey: "trigger", onChange: (v) => set({ filter: v }),
      hint: 'For example {"kind": "trait", "path": "plan", "op": "eq", "value": "pro"}' }),
    h("h3", null, "Exit"),
    h(Field, { label: "Exit when the contact does (event name)", value: exitOn?.eventName || "",
      onChange: (v) => setExit({ eventName: v }), hint: "Optional: a conversion goal that ends the flow at once." }),
    exitOn && h(Conditions, { label: "Exit event condition", value: exitOn.where,
      onChange: (v) => setExit({ where: v }) }));
}
