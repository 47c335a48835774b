// Dashboard: requests and errors per minute over the last hour, as an SVG bar chart
// drawn from /_console/api/traffic (refreshed every 30 s). No inline script (CSP).
"use strict";

(() => {
  const svg = document.getElementById("traffic");
  if (!svg) return;
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 180, LEFT = 40, BOTTOM = 20, TOP = 10;
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  };

  const draw = (minutes) => {
    const top = Math.max(1, ...minutes.map((m) => m.requests));
    const width = (W - LEFT) / minutes.length;
    const y = (n) => H - BOTTOM - (H - BOTTOM - TOP) * n / top;
    const parts = [node("line", { class: "axis", x1: LEFT, y1: H - BOTTOM, x2: W, y2: H - BOTTOM }),
      node("text", { x: 2, y: TOP + 8 }, String(top)), node("text", { x: 2, y: H - BOTTOM }, "0"),
      node("text", { x: LEFT, y: H - 4 }, "60 min ago"), node("text", { x: W - 30, y: H - 4 }, "now")];
    minutes.forEach((m, i) => {
      const errors = m.client_errors + m.server_errors;
      const x = LEFT + i * width;
      const when = new Date(m.minute * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const bar = node("rect", { class: "requests", x, y: y(m.requests), width: Math.max(1, width - 1), height: H - BOTTOM - y(m.requests) });
      bar.append(node("title", {}, when + ": " + m.requests + " requests, " + m.client_errors + " 4xx, " + m.server_errors + " 5xx"));
      parts.push(bar);
      if (errors) parts.push(node("rect", { class: "errors", x, y: y(errors), width: Math.max(1, width - 1), height: H - BOTTOM - y(errors) }));
    });
    svg.replaceChildren(...parts);
    const sum = (f) => minutes.reduce((a, m) => a + f(m), 0);
    document.getElementById("traffic-total").textContent = "· last hour: " + sum((m) => m.requests) +
      " requests, " + sum((m) => m.client_errors + m.server_errors) + " errors";
    svg.dataset.drawn = String(sum((m) => m.requests));
  };

  const refresh = async () => {
    try {
      const response = await fetch("/_console/api/traffic", { credentials: "same-origin" });
      if (response.status === 401) { location.reload(); return; } // back to sign-in, and here
      if (!response.ok) throw new Error("HTTP " + response.status);
      draw((await response.json()).minutes);
    } catch (error) {
      Console.status("Could not load the request chart: " + error.message, true);
    }
  };
  refresh();
  setInterval(refresh, 30000);
})();
