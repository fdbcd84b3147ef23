// Turns a dispatched API call into the WireResult every transport replies with. ApiErrors
// travel unchanged; anything else is a bug: logged here in full, reported as a generic message
// so no stack or path leaks to the caller.
import { ApiError, dispatch, type ApiErrorCode, type ApiHandlers } from '../../src-shared/api.js';
import type { WireResult } from '../../src-shared/bridge.js';

export type WireError = { code: ApiErrorCode; message: string };

/** HTTP status of each error code (the HTTP host and the Electron image protocol). */
export const HTTP_STATUS_OF: Record<ApiErrorCode, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  confirm_required: 409,
  no_project: 409,
  not_allowed: 403,
  internal: 500,
};

export function toWireError(error: unknown, context: string): WireError {
  if (error instanceof ApiError) return { code: error.code, message: error.message };
  console.error(`[landmark-studio] internal error in ${context}:`, error);
  return { code: 'internal', message: 'Internal error: the operation failed (details are in the log).' };
}

export async function dispatchToWire(handlers: ApiHandlers, method: unknown, payload: unknown): Promise<WireResult> {
  try {
    return { ok: true, result: await dispatch(handlers, method, payload) };
  } catch (error) {
    return { ok: false, error: toWireError(error, String(method).slice(0, 100)) };
  }
}
