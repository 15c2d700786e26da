import { beforeEach, describe, expect, it, vi } from "vitest";

const calls: { command: string; args: unknown[] }[] = [];
let failWith: unknown = null;

vi.mock("./api", async (importOriginal) => {
  const real = await importOriginal<typeof import("./api")>();
  const record =
    (command: string) =>
    async (...args: unknown[]) => {
      calls.push({ command, args });
      if (failWith) throw real.toBackendError(failWith);
    };
  return {
    ...real,
    openFolder: record("open_folder"),
    openInEditor: record("open_in_editor"),
    reportExport: vi.fn(),
  };
});

import { exportMessage, exportReport, openWorktree } from "./exportReport";

beforeEach(() => {
  calls.length = 0;
  failWith = null;
});

describe("export report", () => {
  it("shows where the report was saved", async () => {
    const outcome = await exportReport("e1", async (id) => `/home/me/fanout-${id}.md`);
    expect(outcome).toEqual({ kind: "saved", path: "/home/me/fanout-e1.md" });
    expect(exportMessage(outcome)).toBe("Report saved to /home/me/fanout-e1.md");
  });

  it("says nothing when the dialog was cancelled", async () => {
    const outcome = await exportReport("e1", async () => null);
    expect(outcome.kind).toBe("cancelled");
    expect(exportMessage(outcome)).toBeNull();
  });

  it("shows the backend's sentence when writing failed", async () => {
    const outcome = await exportReport("e1", async () => {
      throw { code: "other", message: "The report could not be written to /ro/x.md." };
    });
    expect(exportMessage(outcome)).toBe("The report could not be written to /ro/x.md.");
  });

  it("goes through the report_export command by default", async () => {
    const api = await import("./api");
    vi.mocked(api.reportExport).mockResolvedValueOnce("/tmp/r.md");
    expect(await exportReport("e9")).toEqual({ kind: "saved", path: "/tmp/r.md" });
    expect(api.reportExport).toHaveBeenCalledWith("e9");
  });
});

describe("open a worktree", () => {
  it("asks for the folder or the editor of that variant", async () => {
    expect(await openWorktree("e1", 2, "folder")).toBeNull();
    expect(await openWorktree("e1", 3, "editor")).toBeNull();
    expect(calls).toEqual([
      { command: "open_folder", args: ["e1", 2] },
      { command: "open_in_editor", args: ["e1", 3] },
    ]);
  });

  it("returns the sentence when it could not open", async () => {
    failWith = { code: "other", message: "The worktree /t/x is gone." };
    expect(await openWorktree("e1", 1, "folder")).toBe("The worktree /t/x is gone.");
  });
});
