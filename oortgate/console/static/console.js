// Shared by every console page: the CSRF token, console actions, presigned S3 requests,
// S3 error messages, copy buttons and the status line. No inline script anywhere (CSP).
"use strict";

const Console = (() => {
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  const status = (message, isError) => {
    const line = document.getElementById("status");
    if (!line) return;
    line.textContent = message;
    line.hidden = !message;
    line.classList.toggle("error", Boolean(isError));
  };

  // A console action (JSON in and out). A signed-out session goes back to sign-in,
  // remembering the page.
  const action = async (path, body) => {
    const response = await fetch("/_console/" + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {}),
    });
    if (response.status === 401) {
      const here = location.pathname + location.search;
      location.assign("/_console/signin?next=" + encodeURIComponent(here));
      throw new Error("signed out");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok && answer.ok === undefined) {
      throw new Error(answer.error || "request failed (" + response.status + ")");
    }
    return answer;
  };

  // A URL signed for the signed-in key: the S3 API checks the request itself.
  // headers: the x-amz-* headers the request will carry, which the signature covers.
  const presign = async (op, bucket, key, params, expires, headers) => {
    const body = { op, bucket: bucket || "", key: key || "", params: params || {} };
    if (expires) body.expires = expires;
    if (headers) body.headers = headers;
    return (await action("api/presign", body)).url;
  };

  // "Code: Message" of an S3 error document (or the status when there is none).
  const s3Error = (status, text) => {
    const doc = new DOMParser().parseFromString(text || "", "application/xml");
    const code = doc.querySelector("Error > Code");
    const message = doc.querySelector("Error > Message");
    if (!code) return "HTTP " + status;
    return code.textContent + (message && message.textContent ? ": " + message.textContent : "");
  };

  const s3 = async (op, bucket, key, params, init) => {
    const signed = Object.fromEntries(Object.entries((init && init.headers) || {})
      .filter(([name]) => name.toLowerCase().startsWith("x-amz-")));
    const url = await presign(op, bucket, key, params, 0, Object.keys(signed).length ? signed : null);
    const response = await fetch(url, Object.assign({ credentials: "omit" }, init || {}));
    if (!response.ok) throw new Error(s3Error(response.status, await response.text()));
    return response;
  };

  const size = (n) => {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit === 0 ? n + " B" : value.toFixed(1) + " " + units[unit];
  };

  const element = (tag, props, children) => {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children || []) node.append(child);
    return node;
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    const value = source ? (source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent) : "";
    navigator.clipboard.writeText(value).then(
      () => status("Copied."), () => status("Copy failed: select the text and copy it.", true));
  });

  // A form that changes something for good asks first (its data-confirm says what).
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !confirm(form.dataset.confirm)) event.preventDefault();
  });

  return { csrf, status, action, presign, s3, s3Error, size, element };
})();
