// Buckets page: create (through the console, to the tier's endpoint), delete (a
// presigned DeleteBucket: S3's own answer, e.g. BucketNotEmpty, is shown).
"use strict";

document.getElementById("create-bucket").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = document.getElementById("bucket-name").value.trim();
  const tier = document.getElementById("bucket-tier").value;
  try {
    const answer = await Console.action("api/buckets", { name, tier });
    if (!answer.ok) throw new Error(answer.code + (answer.message ? ": " + answer.message : ""));
    location.reload();
  } catch (error) {
    Console.status("Could not create " + name + ": " + error.message, true);
  }
});

document.getElementById("buckets").addEventListener("click", async (event) => {
  const button = event.target.closest("button.delete-bucket");
  if (!button) return;
  const name = button.dataset.bucket;
  if (!confirm("Delete the bucket " + name + "? Only an empty bucket can be deleted.")) return;
  try {
    await Console.s3("DeleteBucket", name, "", {}, { method: "DELETE" });
    button.closest("tr").remove();
    Console.status("Deleted " + name + ".");
  } catch (error) {
    Console.status("Could not delete " + name + ": " + error.message, true);
  }
});

// Settings of one bucket: public/private (a canned ACL) and CORS, all presigned S3
// requests, so the S3 API's owner checks and a PublicAccessBlock apply as to boto3.
(() => {
  const box = document.getElementById("settings");
  const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
  const EXAMPLE = '<CORSConfiguration>\n  <CORSRule>\n    <AllowedOrigin>https://example.com</AllowedOrigin>\n' +
    '    <AllowedMethod>GET</AllowedMethod>\n    <AllowedHeader>*</AllowedHeader>\n    <MaxAgeSeconds>3000</MaxAgeSeconds>\n  </CORSRule>\n</CORSConfiguration>';
  const name = () => box.dataset.bucket;
  const cors = document.getElementById("cors-xml");

  const loadAccess = async () => {
    const state = document.getElementById("access-state");
    state.textContent = "…";
    const doc = new DOMParser().parseFromString(await (await Console.s3("GetBucketAcl", name())).text(), "application/xml");
    const open = Array.from(doc.getElementsByTagName("Grant")).some((grant) => {
      const uri = grant.getElementsByTagName("URI")[0];
      const permission = grant.getElementsByTagName("Permission")[0];
      return uri && uri.textContent === ALL_USERS && permission && ["READ", "FULL_CONTROL"].includes(permission.textContent);
    });
    state.textContent = open ? "public" : "private";
    box.dataset.access = state.textContent;
  };

  const loadCors = async () => {
    const url = await Console.presign("GetBucketCors", name());
    const response = await fetch(url, { credentials: "omit" });
    const text = await response.text();
    if (response.ok) cors.value = text;
    else if (text.includes("NoSuchCORSConfiguration")) cors.value = "";
    else throw new Error(Console.s3Error(response.status, text));
    box.dataset.cors = cors.value ? "set" : "none";
  };

  const open = async (bucket) => {
    box.dataset.bucket = bucket;
    document.getElementById("settings-name").textContent = bucket;
    box.hidden = false;
    try {
      await Promise.all([loadAccess(), loadCors()]);
    } catch (error) {
      Console.status("Could not read the settings of " + bucket + ": " + error.message, true);
    }
  };

  const act = async (work, done) => {
    try {
      await work();
      Console.status(done);
      await Promise.all([loadAccess(), loadCors()]);
    } catch (error) {
      Console.status("Could not change " + name() + ": " + error.message, true);
    }
  };
  const setAcl = (acl) => act(() => Console.s3("PutBucketAcl", name(), "", {},
    { method: "PUT", headers: { "x-amz-acl": acl } }), name() + " is now " + (acl === "private" ? "private" : "public") + ".");

  document.getElementById("buckets").addEventListener("click", (event) => {
    const button = event.target.closest("button.bucket-settings");
    if (button) open(button.dataset.bucket);
  });
  document.getElementById("make-public").addEventListener("click", () => {
    if (confirm("Let anyone read every object of " + name() + " without a key?")) setAcl("public-read");
  });
  document.getElementById("make-private").addEventListener("click", () => setAcl("private"));
  document.getElementById("cors-example").addEventListener("click", () => { cors.value = EXAMPLE; });
  document.getElementById("cors-save").addEventListener("click", () => act(() => cors.value.trim()
    ? Console.s3("PutBucketCors", name(), "", {}, { method: "PUT", body: cors.value, headers: { "Content-Type": "application/xml" } })
    : Console.s3("DeleteBucketCors", name(), "", {}, { method: "DELETE" }), "Saved the CORS rules of " + name() + "."));
  document.getElementById("cors-delete").addEventListener("click", () =>
    act(() => Console.s3("DeleteBucketCors", name(), "", {}, { method: "DELETE" }), "Removed the CORS rules of " + name() + "."));
  document.getElementById("settings-close").addEventListener("click", () => { box.hidden = true; });
})();
