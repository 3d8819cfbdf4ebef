// An error from the API server (an HTTP status or a watch ERROR event), with the
// status code the restart logic decides on: 410 Gone means "relist".

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    message: string,
    /** The Status object's reason, e.g. "Expired", "Gone", when the server sent one. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

export const HTTP_GONE = 410;

/** Whether `e` says our resourceVersion is too old (an ApiError or HTTP error carrying `statusCode` 410, or a Status `code`). */
export function isGone(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { statusCode?: unknown; code?: unknown };
  return o.statusCode === HTTP_GONE || o.code === HTTP_GONE;
}

/** A Status object (from a watch ERROR event or an error response body) -> ApiError. */
export function apiErrorFromStatus(status: unknown, fallbackCode: number): ApiError {
  const s = (typeof status === 'object' && status !== null ? status : {}) as Record<string, unknown>;
  const code = typeof s.code === 'number' ? s.code : fallbackCode;
  const message = typeof s.message === 'string' ? s.message : `HTTP ${code}`;
  const reason = typeof s.reason === 'string' ? s.reason : undefined;
  return new ApiError(code, message, reason);
}
