// Users (root only): create a user with its first access key.
"use strict";

document.getElementById("create-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = document.getElementById("user-name").value.trim();
  try {
    const user = await Console.action("api/users", { name });
    document.getElementById("new-user-key").textContent = user.access_key;
    document.getElementById("new-user-secret").textContent = user.secret_key;
    document.getElementById("new-user").hidden = false;
    const row = Console.element("tr", {}, [
      Console.element("td", { textContent: user.name }), Console.element("td"),
      Console.element("td"), Console.element("td", { textContent: "now" }), Console.element("td")]);
    document.querySelector("#users tbody").append(row);
  } catch (error) {
    Console.status("Could not create " + name + ": " + error.message, true);
  }
});

document.getElementById("users").addEventListener("click", async (event) => {
  const button = event.target.closest("button.delete-user");
  if (!button) return;
  const name = button.dataset.user;
  if (!confirm("Remove the user " + name + " and all its access keys?")) return;
  try {
    await Console.action("api/users/delete", { name });
    button.closest("tr").remove();
    Console.status("Removed " + name + ".");
  } catch (error) {
    Console.status("Could not remove " + name + ": " + error.message, true);
  }
});
