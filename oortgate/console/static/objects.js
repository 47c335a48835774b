// Object browser: folders from "/" prefixes, pages of PAGE entries, a prefix filter,
// uploads, downloads, deletes, restores and share links (with a QR code), all as
// presigned S3 requests. The place (folder, filter, the name a page starts after) is
// in the page's URL: a page deep in a bucket of millions is one ListObjectsV2 with
// start-after (an index seek on the server), can be bookmarked, and is where sign-in
// comes back to when the session has expired.
// Names are only ever set as textContent or attributes: a key is text, never markup.
"use strict";

(() => {
  const PAGE = 200;
  const root = document.getElementById("browser");
  const bucket = root.dataset.bucket;
  const prefix = root.dataset.prefix;
  const filter = root.dataset.filter;
  const after = root.dataset.after;
  const rows = document.getElementById("rows");
  const next = document.getElementById("next");
  const el = Console.element;

  const placeUrl = (p, f, a) => {
    const query = [["prefix", p], ["filter", f], ["after", a]].filter(([, v]) => v)
      .map(([k, v]) => k + "=" + encodeURIComponent(v)).join("&");
    return "/_console/b/" + encodeURIComponent(bucket) + "/" + (query ? "?" + query : "");
  };
  const folderUrl = (p) => placeUrl(p, "", "");

  // S3 lists in UTF-8 byte order; JavaScript compares UTF-16 code units.
  const utf8 = new TextEncoder();
  const byteOrder = (a, b) => {
    const x = utf8.encode(a), y = utf8.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };

  const crumbs = () => {
    const nav = document.getElementById("crumbs");
    nav.append(el("a", { href: "/_console/buckets", textContent: "Buckets" }), " / ",
      el("a", { href: folderUrl(""), textContent: bucket }));
    let path = "";
    for (const part of prefix.split("/").filter(Boolean)) {
      path += part + "/";
      nav.append(" / ", el("a", { href: folderUrl(path), textContent: part }));
    }
  };

  const text = (node, name) => {
    const found = node.getElementsByTagName(name)[0];
    return found ? found.textContent : "";
  };

  const objectRow = (key, size, modified) => {
    const box = el("input", { type: "checkbox", className: "pick" });
    box.dataset.key = key;
    const name = el("button", { type: "button", className: "link details", textContent: key.slice(prefix.length) });
    name.dataset.key = key;
    const download = el("button", { type: "button", className: "download", textContent: "Download" });
    download.dataset.key = key;
    const remove = el("button", { type: "button", className: "delete danger", textContent: "Delete" });
    remove.dataset.key = key;
    const row = el("tr", { className: "object" }, [el("td", {}, [box]), el("td", {}, [name]),
      el("td", { className: "n", textContent: Console.size(size) }),
      el("td", { textContent: new Date(modified).toLocaleString() }), el("td", {}, [download, " ", remove])]);
    row.dataset.key = key;
    return row;
  };

  // This page: PAGE entries (folders and objects, in S3's order) after `after`.
  const list = async () => {
    const params = { prefix: prefix + filter, delimiter: "/", "max-keys": String(PAGE) };
    if (after) params["start-after"] = after;
    try {
      const response = await Console.s3("ListObjectsV2", bucket, "", params);
      const doc = new DOMParser().parseFromString(await response.text(), "application/xml");
      const entries = [];
      for (const cp of doc.getElementsByTagName("CommonPrefixes")) {
        const p = text(cp, "Prefix");
        entries.push([p, el("tr", { className: "folder" }, [el("td"),
          el("td", {}, [el("a", { href: folderUrl(p), textContent: p.slice(prefix.length) })]),
          el("td"), el("td"), el("td")])]);
      }
      for (const item of doc.getElementsByTagName("Contents")) {
        const key = text(item, "Key");
        entries.push([key, objectRow(key, Number(text(item, "Size")), text(item, "LastModified"))]);
      }
      rows.replaceChildren(...entries.map(([, row]) => row)); // folders first
      const truncated = text(doc.documentElement, "IsTruncated") === "true";
      // The next page starts after this one's last entry in S3's order (after a folder,
      // S3 skips the folder's keys).
      const last = entries.map(([name]) => name).reduce((a, b) => (byteOrder(a, b) >= 0 ? a : b), "");
      next.hidden = !truncated || !last;
      if (!next.hidden) next.href = placeUrl(prefix, filter, last);
      document.getElementById("first").hidden = !after;
      if (!rows.children.length) rows.append(el("tr", {}, [el("td", { colSpan: 5, className: "empty", textContent: "Nothing here yet." })]));
      root.dataset.listed = "yes";
    } catch (error) {
      Console.status("Could not list " + bucket + ": " + error.message, true);
    }
  };

  // [{file, path}] -> uploaded under the current folder, path kept (a folder's files).
  const uploadFiles = async (picked) => {
    const targetList = document.getElementById("uploads");
    const overall = document.getElementById("overall");
    const sent = picked.map(() => 0);
    overall.max = picked.reduce((sum, { file }) => sum + file.size, 0) || 1;
    overall.value = 0;
    overall.hidden = false;
    const jobs = picked.map(({ file, path }, i) => Uploads.upload(bucket, prefix + path, file, targetList, (n) => {
      sent[i] = n;
      overall.value = sent.reduce((a, b) => a + b, 0);
    }));
    const results = await Promise.all(jobs);
    const failed = results.filter((ok) => !ok).length;
    Console.status(failed ? failed + " upload(s) failed." : "Uploaded " + results.length + " file(s).", failed > 0);
    await list();
  };
  const fromInput = (files) => Array.from(files, (file) => ({ file, path: file.webkitRelativePath || file.name }));

  // A dropped folder is walked (FileSystemEntry API); plain files come as they are.
  const dropped = async (transfer) => {
    const entries = Array.from(transfer.items || [], (item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    if (!entries.length) return fromInput(transfer.files);
    const out = [];
    const walk = async (entry, path) => {
      if (entry.isFile) {
        out.push({ file: await new Promise((ok, fail) => entry.file(ok, fail)), path: path + entry.name });
        return;
      }
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await walk(child, path + entry.name + "/");
      }
    };
    for (const entry of entries) await walk(entry, "");
    return out;
  };

  const download = async (key) => {
    const name = key.split("/").pop() || "download";
    const disposition = "attachment; filename*=UTF-8''" + encodeURIComponent(name);
    const url = await Console.presign("GetObject", bucket, key, { "response-content-disposition": disposition });
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
  };

  const removeKeys = async (keys) => {
    if (!keys.length || !confirm("Delete " + (keys.length === 1 ? keys[0] : keys.length + " objects") + "?")) return;
    const results = await Promise.allSettled(keys.map((key) => Console.s3("DeleteObject", bucket, key, {}, { method: "DELETE" })));
    const failed = results.filter((r) => r.status === "rejected");
    Console.status(failed.length ? "Could not delete " + failed.length + ": " + failed[0].reason.message : "Deleted " + keys.length + ".", failed.length > 0);
    await list();
  };

  const details = async (key) => {
    const box = document.getElementById("details");
    box.dataset.key = key;
    document.getElementById("details-name").textContent = key;
    document.getElementById("versions-link").href = "/_console/b/" + encodeURIComponent(bucket) +
      "/versions?key=" + encodeURIComponent(key);
    document.getElementById("share-url").hidden = true;
    document.getElementById("share-copy").hidden = true;
    document.getElementById("share-qr").hidden = true;
    document.getElementById("restore").hidden = true;
    const dl = document.getElementById("details-list");
    dl.replaceChildren();
    try {
      const head = await Console.s3("HeadObject", bucket, key, {}, { method: "HEAD" });
      const shown = [["Size", Console.size(Number(head.headers.get("Content-Length")))], ["ETag", head.headers.get("ETag")],
        ["Content type", head.headers.get("Content-Type")], ["Last modified", head.headers.get("Last-Modified")],
        ["Storage class", head.headers.get("x-amz-storage-class") || "STANDARD"]];
      showAccess(key);
      showRestore(head.headers.get("x-amz-storage-class") || "STANDARD", head.headers.get("x-amz-restore"));
      for (const [name, value] of head.headers) if (name.startsWith("x-amz-meta-") || name.startsWith("x-amz-checksum-")) shown.push([name, value]);
      const tagging = await Console.s3("GetObjectTagging", bucket, key);
      const tags = new DOMParser().parseFromString(await tagging.text(), "application/xml");
      for (const tag of tags.getElementsByTagName("Tag")) shown.push(["tag " + text(tag, "Key"), text(tag, "Value")]);
      for (const [name, value] of shown) dl.append(el("dt", { textContent: name }), el("dd", { textContent: value || "" }));
    } catch (error) {
      dl.append(el("dd", { textContent: error.message }));
    }
    box.hidden = false;
  };

  // Public (anyone may read it, no key needed) or private: the object's canned ACL.
  const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
  const showAccess = async (key) => {
    const state = document.getElementById("object-access");
    state.textContent = "…";
    try {
      const acl = await (await Console.s3("GetObjectAcl", bucket, key)).text();
      const doc = new DOMParser().parseFromString(acl, "application/xml");
      const open = Array.from(doc.getElementsByTagName("Grant")).some((grant) =>
        text(grant, "URI") === ALL_USERS && ["READ", "FULL_CONTROL"].includes(text(grant, "Permission")));
      state.textContent = open ? "public" : "private";
    } catch (error) {
      state.textContent = "of unknown access (" + error.message + ")";
    }
  };
  const setAccess = async (acl) => {
    const key = document.getElementById("details").dataset.key;
    try {
      await Console.s3("PutObjectAcl", bucket, key, {}, { method: "PUT", headers: { "x-amz-acl": acl } });
      Console.status(key + " is now " + (acl === "private" ? "private" : "public") + ".");
    } catch (error) {
      Console.status("Could not change " + key + ": " + error.message, true);
    }
    await showAccess(key);
  };
  document.getElementById("object-public").addEventListener("click", () => {
    if (confirm("Let anyone read this object without a key?")) setAccess("public-read");
  });
  document.getElementById("object-private").addEventListener("click", () => setAccess("private"));

  // An archived object whose bytes need a RestoreObject first (the server's setting):
  // its x-amz-restore header says whether one is under way or until when it is readable.
  const showRestore = (storageClass, restore) => {
    if (root.dataset.restoreRequired !== "yes" || storageClass === "STANDARD") return;
    const state = document.getElementById("restore-state");
    if (!restore) state.textContent = "not restored: restore it to download it";
    else if (restore.includes('ongoing-request="true"')) state.textContent = "restore in progress";
    else state.textContent = "restored until " + (restore.match(/expiry-date="([^"]*)"/) || ["", "?"])[1];
    document.getElementById("restore").hidden = false;
  };
  document.getElementById("restore-start").addEventListener("click", async () => {
    const key = document.getElementById("details").dataset.key;
    const days = Number(document.getElementById("restore-days").value);
    const body = "<RestoreRequest><Days>" + days + "</Days></RestoreRequest>";
    try {
      await Console.s3("RestoreObject", bucket, key, {}, { method: "POST", body, headers: { "Content-Type": "application/xml" } });
      Console.status("Restore of " + key + " requested.");
      await details(key);
    } catch (error) {
      Console.status("Could not restore " + key + ": " + error.message, true);
    }
  });

  document.getElementById("share").addEventListener("click", async () => {
    const key = document.getElementById("details").dataset.key;
    const lifetime = Number(document.getElementById("share-lifetime").value);
    try {
      const answer = await Console.action("api/presign", { op: "GetObject", bucket, key, params: {}, expires: lifetime, qr: true });
      const field = document.getElementById("share-url");
      field.value = answer.absolute;
      field.hidden = false;
      document.getElementById("share-copy").hidden = false;
      if (answer.qr) document.getElementById("share-qr-image").src = answer.qr;
      document.getElementById("share-qr").hidden = !answer.qr;
    } catch (error) {
      Console.status("Could not make a share link: " + error.message, true);
    }
  });
  document.getElementById("details-close").addEventListener("click", () => { document.getElementById("details").hidden = true; });

  rows.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.classList.contains("download")) download(target.dataset.key).catch((e) => Console.status(e.message, true));
    else if (target.classList.contains("delete")) removeKeys([target.dataset.key]);
    else if (target.classList.contains("details")) details(target.dataset.key);
  });
  rows.addEventListener("change", () => {
    document.getElementById("delete-selected").disabled = !rows.querySelector("input.pick:checked");
  });
  document.getElementById("select-all").addEventListener("change", (event) => {
    for (const box of rows.querySelectorAll("input.pick")) box.checked = event.target.checked;
    document.getElementById("delete-selected").disabled = !rows.querySelector("input.pick:checked");
  });
  document.getElementById("delete-selected").addEventListener("click", () =>
    removeKeys(Array.from(rows.querySelectorAll("input.pick:checked"), (box) => box.dataset.key)));
  document.getElementById("filter").addEventListener("submit", (event) => {
    event.preventDefault();
    location.assign(placeUrl(prefix, document.getElementById("filter-text").value, ""));
  });
  document.getElementById("first").href = placeUrl(prefix, filter, "");
  document.getElementById("file-input").addEventListener("change", (event) => uploadFiles(fromInput(event.target.files)));
  // A folder's files carry their path inside it (webkitRelativePath): uploaded under it.
  document.getElementById("folder-input").addEventListener("change", (event) => uploadFiles(fromInput(event.target.files)));
  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    dropped(event.dataTransfer).then(uploadFiles, (error) => Console.status(error.message, true));
  });

  crumbs();
  list();
})();
