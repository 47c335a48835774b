// Cross-origin uploads to the gateway, as a web application does them.
// The test passes its instructions as JSON in the URL fragment:
//   {"mode": "put", "putUrl": ..., "putHeaders": {...}, "getUrl": ..., "body": ...}
//   {"mode": "post", "postUrl": ..., "fields": {...}, "filename": ..., "body": ...}
// and reads the outcome back from #result (JSON) and document.title ("done"/"failed").
"use strict";

async function putThenGet(p, out) {
  const put = await fetch(p.putUrl, { method: "PUT", body: p.body, headers: p.putHeaders || {} });
  out.putStatus = put.status;
  out.putEtag = put.headers.get("ETag");
  out.putText = await put.text();
  if (!put.ok) throw new Error("PUT answered " + put.status);
  const get = await fetch(p.getUrl);
  out.getStatus = get.status;
  out.getBody = await get.text();
  out.getEtag = get.headers.get("ETag");
  out.getContentType = get.headers.get("Content-Type");
}

async function postForm(p, out) {
  const form = new FormData();
  for (const [name, value] of Object.entries(p.fields)) form.append(name, value);
  form.append("file", new Blob([p.body], { type: p.contentType || "text/plain" }), p.filename);
  const resp = await fetch(p.postUrl, { method: "POST", body: form });
  out.postStatus = resp.status;
  out.postEtag = resp.headers.get("ETag");
  out.postText = await resp.text();
  if (!resp.ok) throw new Error("POST answered " + resp.status);
}

async function main() {
  const out = { ok: false };
  try {
    const p = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    out.mode = p.mode;
    if (p.mode === "put") await putThenGet(p, out);
    else if (p.mode === "post") await postForm(p, out);
    else throw new Error("unknown mode " + p.mode);
    out.ok = true;
  } catch (err) {
    out.error = String(err);
  }
  document.getElementById("result").textContent = JSON.stringify(out);
  document.title = out.ok ? "done" : "failed";
}

main();
