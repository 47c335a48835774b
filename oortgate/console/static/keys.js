// Access keys: create (the secret is shown once), enable/disable, delete, rate limit.
"use strict";

const showNewKey = (key) => {
  document.getElementById("new-access-key").textContent = key.access_key;
  document.getElementById("new-secret-key").textContent = key.secret_key;
  document.getElementById("new-key").hidden = false;
  const replaced = key.replaces ? " (" + key.replaces + " is now disabled)" : "";
  Console.status("Created " + key.access_key + replaced + ": copy its secret now, it is not shown again.");
};

document.getElementById("create-key").addEventListener("click", async () => {
  try {
    showNewKey(await Console.action("api/keys", {}));
  } catch (error) {
    Console.status("Could not create a key: " + error.message, true);
  }
});

document.getElementById("keys").addEventListener("click", async (event) => {
  const toggle = event.target.closest("button.toggle-key");
  const remove = event.target.closest("button.delete-key");
  const rotate = event.target.closest("button.rotate-key");
  const rate = event.target.closest("button.rate-key");
  try {
    if (rate) {
      const answer = prompt("Requests per second for " + rate.dataset.key + " (empty: the server's default)", rate.dataset.rate);
      if (answer === null) return;
      const value = answer.trim() === "" ? null : Number(answer);
      if (value !== null && !(value > 0)) throw new Error("the rate is a positive number of requests per second");
      await Console.action("api/keys/rate", { access_key: rate.dataset.key, rate: value });
      location.reload();
    } else if (rotate) {
      if (!confirm("Make a new key for this user and disable " + rotate.dataset.key + "?")) return;
      showNewKey(await Console.action("api/keys/rotate", { access_key: rotate.dataset.key }));
      rotate.closest("tr").querySelector(".key-state").textContent = "Disabled";
    } else if (toggle) {
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
