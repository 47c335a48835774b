// Access keys: create (the secret is shown once), enable/disable, delete.
"use strict";

document.getElementById("create-key").addEventListener("click", async () => {
  try {
    const key = await Console.action("api/keys", {});
    document.getElementById("new-access-key").textContent = key.access_key;
    document.getElementById("new-secret-key").textContent = key.secret_key;
    document.getElementById("new-key").hidden = false;
    Console.status("Created " + key.access_key + ": copy its secret now, it is not shown again.");
  } catch (error) {
    Console.status("Could not create a key: " + error.message, true);
  }
});

document.getElementById("keys").addEventListener("click", async (event) => {
  const toggle = event.target.closest("button.toggle-key");
  const remove = event.target.closest("button.delete-key");
  try {
    if (toggle) {
      const enabled = toggle.dataset.enable === "true";
      await Console.action("api/keys/enable", { access_key: toggle.dataset.key, enabled });
      location.reload();
    } else if (remove) {
      const key = remove.dataset.key;
      if (!confirm("Delete " + key + " for good? Disabling it first shows what still uses it.")) return;
      await Console.action("api/keys/delete", { access_key: key });
      remove.closest("tr").remove();
      Console.status("Deleted " + key + ".");
    }
  } catch (error) {
    Console.status(error.message, true);
  }
});
