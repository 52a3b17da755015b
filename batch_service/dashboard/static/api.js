// The one place that holds keys: this tab's sessionStorage. A key is read at each call and
// sent only in the Authorization header of same-origin API requests, never in a URL. The
// owner's API key and the admin key (the admin page) are kept apart.

const apiBase = document.body.dataset.apiBase;

const keyStore = (item) => ({
  get: () => sessionStorage.getItem(item),
  set: (key) => sessionStorage.setItem(item, key),
  forget: () => sessionStorage.removeItem(item),
});
export const ownerKey = keyStore("batch-dashboard:api-key");
export const adminKey = keyStore("batch-dashboard:admin-key");

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const storedKey = ownerKey.get;

// Fetch `${base}${path}` (base: `/v1`); a non-2xx answer becomes an ApiError carrying the service's detail.
export async function apiFetch(
  path,
  { method = "GET", headers = {}, signal, key = storedKey(), base = apiBase } = {},
) {
  if (!key) throw new ApiError(401, "No API key.");
  let response;
  try {
    response = await fetch(base + path, {
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
