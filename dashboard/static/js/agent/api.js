// The REST API client: JSON in and out, the CSRF header on state-changing requests, and
// errors as ApiError carrying the API's own {"error": {"code", "message"}}.

import { API } from "../mount.js";

export const API_PREFIX = API;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {{csrfToken: string, onUnavailable?: (e: ApiError) => void,
 *   onReachedFreeswitch?: () => void, onSignedOut?: (e: ApiError) => void}} options
 *   onUnavailable: a 503 (FreeSWITCH unreachable); onReachedFreeswitch: a state-changing
 *   request succeeded (so FreeSWITCH answered); onSignedOut: a 401.
 */
export function createApi({ csrfToken, onUnavailable, onReachedFreeswitch, onSignedOut }) {
  async function request(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = csrfToken;
      init.body = JSON.stringify(body ?? {});
    }
    let response;
    try {
      response = await fetch(API_PREFIX + path, init);
    } catch {
      throw new ApiError(0, "unreachable", "The server is unreachable; try again in a moment.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const detail = data && typeof data === "object" ? data.error : null;
      const error = new ApiError(
        response.status,
        detail?.code || `http_${response.status}`,
        detail?.message || `${response.status} ${response.statusText}`.trim(),
      );
      if (response.status === 503) {
        onUnavailable?.(error);
      } else if (response.status === 401) {
        onSignedOut?.(error);
      }
      throw error;
    }
    if (method !== "GET") {
      onReachedFreeswitch?.();
    }
    return data;
  }

  return {
    get: (path) => request("GET", path),
    post: (path, body) => request("POST", path, body),
  };
}
