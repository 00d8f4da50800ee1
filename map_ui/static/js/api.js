/* Calls to the OfficeMap API from pages: same-origin, the session cookie, JSON errors.

   Errors come back as ApiError with the server's machine code, both messages and
   details (e.g. {field: …} for a form), so forms can show them beside the field. */

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || "HTTP " + status);
    this.status = status;
    this.code = body && body.code;
    this.message_zh = body && body.message_zh;
    this.details = (body && body.details) || {};
  }

  text(lang) {
    return (lang === "zh" && this.message_zh) || this.message;
  }
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : null;
}

export async function getJSON(url) {
  const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
  const body = await parse(response);
  if (!response.ok) { throw new ApiError(response.status, body); }
  return body;
}

/* A write: JSON body (or FormData), optional If-Match; answers {status, data, etag}. */
export async function send(method, url, body, {etag = null, headers = {}} = {}) {
  const init = {method, credentials: "same-origin", headers: {Accept: "application/json", ...headers}};
  if (body instanceof FormData) { init.body = body; }
  else if (body !== undefined && body !== null) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  if (etag) { init.headers["If-Match"] = etag; }
  const response = await fetch(url, init);
  const data = await parse(response);
  if (!response.ok) { throw new ApiError(response.status, data); }
  return {status: response.status, data, etag: response.headers.get("etag")};
}
