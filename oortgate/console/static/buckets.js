// Buckets page: create (through the console, to the tier's endpoint) and delete (a
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
