import { describe, expect, it } from "vitest";
import { BackendError, toBackendError } from "./api";

describe("toBackendError", () => {
  it("keeps the backend's code and sentence", () => {
    const err = toBackendError({ kind: "repo.not_found", message: "/x does not exist." });
    expect(err).toBeInstanceOf(BackendError);
    expect(err.code).toBe("repo.not_found");
    expect(err.message).toBe("/x does not exist.");
  });

  it("wraps a bare string so the UI still has a sentence", () => {
    const err = toBackendError("boom");
    expect(err.code).toBe("unknown");
    expect(err.message).toBe("boom");
  });

  it("never shows an empty message for junk", () => {
    expect(toBackendError(undefined).message).toMatch(/Restart Fanout/);
  });
});
