// Uploads with presigned requests: one PUT for a small file, a multipart upload with
// parts sent in parallel for a large one; a progress bar and a cancel button per file.
"use strict";

const Uploads = (() => {
  const SINGLE_MAX = 16 * 1024 * 1024;
  const PART_SIZE = 8 * 1024 * 1024;
  const PARALLEL = 4;
  const PART_TRIES = 3;

  // One request with upload progress; resolves with the XHR, rejects on failure/abort.
  const send = (method, url, body, onProgress, track) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    track.add(xhr);
    xhr.open(method, url);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      track.delete(xhr);
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else reject(new Error(Console.s3Error(xhr.status, xhr.responseText)));
    };
    xhr.onerror = () => { track.delete(xhr); reject(new Error("network error")); };
    xhr.onabort = () => { track.delete(xhr); reject(new Error("cancelled")); };
    xhr.send(body);
  });

  const multipart = async (bucket, key, file, progress, job) => {
    const created = await Console.s3("CreateMultipartUpload", bucket, key, {}, { method: "POST" });
    const doc = new DOMParser().parseFromString(await created.text(), "application/xml");
    const uploadId = doc.querySelector("UploadId").textContent;
    job.abort = () => Console.s3("AbortMultipartUpload", bucket, key, { uploadId }, { method: "DELETE" });
    const count = Math.max(1, Math.ceil(file.size / PART_SIZE));
    const sent = new Array(count).fill(0);
    const etags = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count && !job.cancelled) {
        const index = next++;
        const part = file.slice(index * PART_SIZE, Math.min(file.size, (index + 1) * PART_SIZE));
        const params = { partNumber: String(index + 1), uploadId };
        const onProgress = (n) => {
          sent[index] = n;
          progress(sent.reduce((a, b) => a + b, 0));
        };
        // A failed part is sent again (a fresh URL each time), up to PART_TRIES times.
        for (let attempt = 1; ; attempt++) {
          try {
            const url = await Console.presign("UploadPart", bucket, key, params);
            const xhr = await send("PUT", url, part, onProgress, job.requests);
            etags[index] = xhr.getResponseHeader("ETag");
            break;
          } catch (error) {
            onProgress(0);
            if (job.cancelled || attempt >= PART_TRIES) throw error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker));
    if (job.cancelled) throw new Error("cancelled");
    const parts = etags.map((etag, i) =>
      "<Part><PartNumber>" + (i + 1) + "</PartNumber><ETag>" + etag + "</ETag></Part>").join("");
    const body = "<CompleteMultipartUpload>" + parts + "</CompleteMultipartUpload>";
    const done = await Console.s3("CompleteMultipartUpload", bucket, key, { uploadId },
      { method: "POST", body, headers: { "Content-Type": "application/xml" } });
    const text = await done.text();
    if (text.includes("<Error>")) throw new Error(Console.s3Error(500, text));
  };

  // Upload one file to bucket/key, showing it in the list; resolves when done.
  // onBytes(n): this file's bytes sent so far (for an overall progress bar).
  const upload = async (bucket, key, file, list, onBytes) => {
    const bar = Console.element("progress", { max: file.size || 1, value: 0 });
    const label = Console.element("span", { textContent: key + " (" + Console.size(file.size) + ")" });
    const state = Console.element("span", { className: "state", textContent: "waiting" });
    const cancel = Console.element("button", { type: "button", textContent: "Cancel" });
    const item = Console.element("li", {}, [label, bar, state, cancel]);
    list.append(item);
    const job = { cancelled: false, requests: new Set(), abort: null };
    cancel.addEventListener("click", () => {
      job.cancelled = true;
      for (const xhr of job.requests) xhr.abort();
      if (job.abort) job.abort().catch(() => {});
    });
    const progress = (n) => {
      bar.value = n;
      state.textContent = Math.floor(100 * n / (file.size || 1)) + "%";
      if (onBytes) onBytes(n);
    };
    try {
      if (file.size <= SINGLE_MAX) {
        const url = await Console.presign("PutObject", bucket, key);
        await send("PUT", url, file, progress, job.requests);
      } else {
        await multipart(bucket, key, file, progress, job);
      }
      progress(file.size);
      state.textContent = "done";
      item.classList.add("done");
      cancel.remove();
      return true;
    } catch (error) {
      if (job.abort && !job.cancelled) job.abort().catch(() => {});
      state.textContent = job.cancelled ? "cancelled" : "failed: " + error.message;
      item.classList.add("failed");
      return false;
    }
  };

  return { upload };
})();
