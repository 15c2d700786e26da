import { describe, expect, it } from "vitest";
import type { StoredEvent } from "./api";
import { MAX_SETUP_LINES, appendBounded, foldEvents, formatInput, lastItems, toolSummary } from "./transcript";

const ev = (seq: number, kind: string, payload: Record<string, unknown>): StoredEvent => ({
  seq,
  time: "2026-01-01T00:00:00Z",
  kind,
  payload: { type: kind, ...payload },
});

describe("foldEvents", () => {
  it("shows the setup's output as one text block, then how the setup ended", () => {
    const items = foldEvents([
      ev(1, "copied_files", { copied: [".env", "config/.env.test"], skipped: [".env.link was not copied: it is a symbolic link."] }),
      ev(2, "setup", { stream: "stdout", line: "installing <deps>" }),
      ev(3, "setup", { stream: "stderr", line: "warn: {@html x}" }),
      ev(4, "setup_result", { command: "npm ci", end: "exited", exit_code: 0, duration_ms: 1500, output_tail: "" }),
      ev(5, "init", { session_id: "s" }),
      ev(6, "assistant_text", { text: "hi" }),
    ]);
    expect(items.map((i) => i.kind)).toEqual(["note", "note", "setup", "note", "text"]);
    expect(items[0].kind === "note" && items[0].text).toBe("Copied from your checkout into the worktree: .env, config/.env.test");
    expect(items[1].kind === "note" && items[1].tone).toBe("warn");
    expect(new Set(items.map((i) => i.key)).size).toBe(items.length);
    expect(items[2].kind === "setup" && items[2].lines).toEqual(["installing <deps>", "warn: {@html x}"]);
    expect(items[3].kind === "note" && items[3].text).toBe("Setup `npm ci` finished in 1.5 s; the agent starts now.");
    expect(items[3].kind === "note" && items[3].tone).toBe("info");
  });

  it("says a failed, timed-out or cancelled setup kept the agent from starting", () => {
    const failed = foldEvents([ev(1, "setup_result", { command: "exit 3", end: "exited", exit_code: 3, duration_ms: 20 })]);
    expect(failed[0].kind === "note" && failed[0].text).toBe("Setup `exit 3` failed with exit code 3 in 0.0 s; the agent was not started.");
    expect(failed[0].kind === "note" && failed[0].tone).toBe("error");
    const late = foldEvents([ev(1, "setup_result", { command: "sleep 9", end: "timed_out", exit_code: null })]);
    expect(late[0].kind === "note" && late[0].text).toContain("past its timeout");
    const stopped = foldEvents([ev(1, "setup_result", { command: "x", end: "cancelled", exit_code: null })]);
    expect(stopped[0].kind === "note" && stopped[0].text).toContain("cancelled");
  });

  it("starts a new setup block after other items and bounds a huge one", () => {
    const many = Array.from({ length: MAX_SETUP_LINES + 5 }, (_, i) => ev(i + 1, "setup", { line: `l${i}` }));
    const items = foldEvents([...many, ev(9000, "warning", { message: "w" }), ev(9001, "setup", { line: "again" })]);
    expect(items.map((i) => i.kind)).toEqual(["setup", "note", "setup"]);
    expect(items[0].kind === "setup" && items[0].lines.length).toBe(MAX_SETUP_LINES);
    expect(items[0].kind === "setup" && items[0].more).toBe(5);
  });

  it("ignores a copy report with nothing in it", () => {
    expect(foldEvents([ev(1, "copied_files", { copied: [], skipped: [] })])).toEqual([]);
  });

  it("pairs tool calls with their results and keeps text verbatim", () => {
    const items = foldEvents([
      ev(1, "init", { session_id: "s" }),
      ev(2, "launch", { prompt: "p" }),
      ev(3, "tool_use", { id: "t1", name: "Write", input: { file_path: "<img src=x onerror=alert(1)>.txt", content: "<script>" } }),
      ev(4, "tool_result", { id: "t1", ok: true, summary: "File created" }),
      ev(5, "assistant_text", { text: "{@html '<b>x</b>'}" }),
      ev(6, "result", { ok: true, summary: "Done" }),
    ]);
    expect(items.map((i) => i.kind)).toEqual(["tool", "text", "note"]);
    const tool = items[0];
    expect(tool.kind === "tool" && tool.summary).toBe("Write <img src=x onerror=alert(1)>.txt");
    expect(tool.kind === "tool" && tool.result).toEqual({ ok: true, summary: "File created" });
    expect(tool.kind === "tool" && tool.input).toContain('"content": "<script>"');
    expect(items[1].kind === "text" && items[1].text).toBe("{@html '<b>x</b>'}");
  });

  it("attaches an id-less result to the last tool and shows failures", () => {
    const items = foldEvents([
      ev(1, "tool_use", { id: null, name: "Bash", input: { command: "cargo test\n--quiet" } }),
      ev(2, "tool_result", { id: null, ok: false, summary: "1 failed" }),
      ev(3, "result", { ok: false, error: "API Error: 529" }),
      ev(4, "check", { command: "make test", exit_code: 2, output_tail: "FAIL" }),
    ]);
    expect(items[0].kind === "tool" && items[0].summary).toBe("Bash cargo test");
    expect(items[0].kind === "tool" && items[0].result?.ok).toBe(false);
    expect(items[1]).toMatchObject({ tone: "error", text: "Failed: API Error: 529" });
    expect(items[2]).toMatchObject({ tone: "error" });
    expect(items[2].kind === "note" && items[2].text).toContain("failed (exit 2)");
  });
});

describe("approval records", () => {
  it("say who decided what, with the denial's message", () => {
    const items = foldEvents([
      ev(1, "approval", { type: "requested", request: { id: "r1", tool: "Bash" } }),
      ev(2, "approval", { type: "resolved", id: "r1", tool: "Bash", allowed: false, message: "Not here.", by: "user" }),
      ev(3, "approval", { type: "resolved", id: "r2", tool: "Write", allowed: true, message: null, by: "rule" }),
    ]);
    expect(items.map((i) => (i.kind === "note" ? [i.tone, i.text] : i.kind))).toEqual([
      ["info", "Bash waits for your approval."],
      ["warn", "Denied Bash by you: Not here."],
      ["info", "Allowed Write by a rule."],
    ]);
  });
});

describe("bounds", () => {
  it("cuts long strings in tool input", () => {
    const out = formatInput({ content: "x".repeat(5000) });
    expect(out).toContain("… (1000 more characters)");
    expect(out.length).toBeLessThan(4200);
  });

  it("keeps the newest events and counts the dropped", () => {
    const page = Array.from({ length: 7 }, (_, i) => ev(i + 1, "assistant_text", { text: String(i) }));
    const { events, dropped } = appendBounded(page.slice(0, 4), page.slice(4), 5);
    expect(events.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(dropped).toBe(2);
  });

  it("shows the last items and says how many are hidden", () => {
    const items = foldEvents(Array.from({ length: 10 }, (_, i) => ev(i + 1, "assistant_text", { text: String(i) })));
    const { items: shown, hidden } = lastItems(items, 4);
    expect(hidden).toBe(6);
    expect(shown.map((i) => i.kind === "text" && i.text)).toEqual(["6", "7", "8", "9"]);
    expect(toolSummary("Read", null)).toBe("Read");
  });
});
