import { describe, expect, it } from "vitest";
import { BackendError, toBackendError } from "./api";

describe("toBackendError", () => {
  it("keeps the backend's code and sentence", () => {
    const err = toBackendError({ code: "unmerged", message: "Nothing was cleaned up." });
    expect(err).toBeInstanceOf(BackendError);
    expect(err.code).toBe("unmerged");
    expect(err.message).toBe("Nothing was cleaned up.");
  });

  it("reads a code it does not know as other, keeping the sentence", () => {
    const err = toBackendError({ code: "something_new", message: "/x does not exist." });
    expect(err.code).toBe("other");
    expect(err.message).toBe("/x does not exist.");
  });

  it("wraps a bare string so the UI still has a sentence", () => {
    const err = toBackendError("boom");
    expect(err.code).toBe("other");
    expect(err.message).toBe("boom");
  });

  it("never shows an empty message for junk", () => {
    expect(toBackendError(undefined).message).toMatch(/Restart Fanout/);
  });
});
