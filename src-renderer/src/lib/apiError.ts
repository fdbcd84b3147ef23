// One error shape for the UI whatever the transport: the HTTP client throws ApiError directly;
// errors crossing Electron's contextBridge arrive as plain Errors or {code, message} objects.
import { API_ERROR_CODES, ApiError, type ApiErrorCode } from '../../../src-shared/api.js';

function isErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && (API_ERROR_CODES as readonly string[]).includes(code);
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (isErrorCode(code) && typeof message === 'string') return new ApiError(code, message);
    if (typeof message === 'string') {
      // Electron's IPC prefixes rethrown messages ("Error invoking remote method 'x': Error: ...").
      const match = new RegExp(`\\b(${API_ERROR_CODES.join('|')}): (.*)$`, 's').exec(message);
      if (match && isErrorCode(match[1])) return new ApiError(match[1], match[2] ?? message);
      return new ApiError('internal', message);
    }
  }
  return new ApiError('internal', String(error));
}

export function errorMessage(error: unknown): string {
  return toApiError(error).message;
}
