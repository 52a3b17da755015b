// The one place that holds the API key: this tab's sessionStorage. It is read at each call
// and sent only in the Authorization header of same-origin /v1 requests, never in a URL.

const KEY_ITEM = "batch-dashboard:api-key";
const apiBase = document.body.dataset.apiBase;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const storedKey = () => sessionStorage.getItem(KEY_ITEM);
export const storeKey = (key) => sessionStorage.setItem(KEY_ITEM, key);
export const forgetKey = () => sessionStorage.removeItem(KEY_ITEM);

// Fetch `/v1${path}`; a non-2xx answer becomes an ApiError carrying the service's detail.
export async function apiFetch(path, { method = "GET", headers = {}, signal, key = storedKey() } = {}) {
  if (!key) throw new ApiError(401, "No API key.");
  let response;
  try {
    response = await fetch(apiBase + path, {
      method,
      signal,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      headers: { Accept: "application/json", ...headers, Authorization: `Bearer ${key}` },
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The service cannot be reached.");
  }
  if (!response.ok) throw new ApiError(response.status, await describeFailure(response));
  return response;
}

export async function apiJson(path, options) {
  return (await apiFetch(path, options)).json();
}

async function describeFailure(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall back to the status line
  }
  return `${response.status} ${response.statusText}`.trim();
}
