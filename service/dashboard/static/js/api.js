// The JSON API as the dashboard calls it. The sign-in cookie authenticates every request;
// requests that change data echo the CSRF cookie in a header, or the server refuses them.

const CSRF_COOKIE = "labelaudit_csrf";
const CSRF_HEADER = "X-CSRF-Token";

/** An answer in the API's error shape: {"error": {"code", "message", "details"}}. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message || `the server answered ${status}`);
    this.status = status;
    this.code = error.code;
    this.details = error.details;
  }
}

function csrfToken() {
  const prefix = `${CSRF_COOKIE}=`;
  const cookie = document.cookie.split("; ").find((entry) => entry.startsWith(prefix));
  return cookie ? decodeURIComponent(cookie.slice(prefix.length)) : "";
}

function signInAgain() {
  const here = location.pathname + location.search;
  location.assign(`/sign-in?next=${encodeURIComponent(here)}`);
}

function check(status, body) {
  // The key was revoked or the cookie expired: sign in again and come back here.
  if (status === 401) signInAgain();
  if (status < 200 || status >= 300) throw new ApiError(status, body);
  return body;
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  return check(response.status, answer);
}

function query(params) {
  const kept = Object.entries(params).filter(([, value]) => value !== null && value !== undefined && value !== "");
  return kept.length ? `?${new URLSearchParams(kept)}` : "";
}

/**
 * POST a dataset as multipart with XMLHttpRequest, whose upload events (unlike fetch's)
 * report progress: ``onProgress(sentBytes, totalBytes)``. Resolves to the new audit.
 */
export function uploadDataset(formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/audits");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader(CSRF_HEADER, csrfToken());
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      try {
        resolve(check(xhr.status, xhr.response));
      } catch (error) {
        reject(error);
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, {
      error: { message: "the upload was interrupted; check the connection and retry" },
    })));
    xhr.send(formData);
  });
}

export const api = {
  audits: (cursor) => request("GET", `/audits${query({ limit: 50, cursor })}`),
  audit: (auditId) => request("GET", `/audits/${auditId}`),
  statistics: (auditId) => request("GET", `/audits/${auditId}/statistics`),
  samples: (auditId, params) => request("GET", `/audits/${auditId}/samples${query(params)}`),
  // By row, not by id: the browser rewrites ids such as "a/../b" or "." in a URL's path.
  sample: (auditId, rowIndex) => request("GET", `/audits/${auditId}/rows/${rowIndex}`),
  examples: (auditId) => request("GET", `/audits/${auditId}/examples`),
  review: (auditId, items) => request("POST", `/audits/${auditId}/reviews`, { items }),
  reaudit: (auditId) => request("POST", `/audits/${auditId}/reaudit`, {}),
  cancel: (auditId) => request("POST", `/audits/${auditId}/cancel`),
  remove: (auditId) => request("DELETE", `/audits/${auditId}`),
};
