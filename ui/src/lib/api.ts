// The one place the UI talks to the backend. Errors cross the boundary as
// `{ code, message }`; everything else sees a `BackendError` with a sentence.
import { invoke } from "@tauri-apps/api/core";

export interface AppInfo {
  name: string;
  version: string;
}

export class BackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns whatever a rejected `invoke` gave into a `BackendError`. */
export function toBackendError(raw: unknown): BackendError {
  if (raw && typeof raw === "object" && "message" in raw) {
    const { code, message } = raw as { code?: unknown; message?: unknown };
    return new BackendError(String(code ?? "unknown"), String(message));
  }
  if (typeof raw === "string") return new BackendError("unknown", raw);
  return new BackendError("unknown", "The backend failed without saying why. Restart Fanout and try again.");
}

export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toBackendError(raw);
  }
}

export const appInfo = () => call<AppInfo>("app_info");
