// golvs live view: reads the controller's JSON API and renders it.
// Plain browser JavaScript, no build step. All data is inserted as text.
"use strict";

(function () {
  const PROTO = { 0: "IP", 6: "TCP", 17: "UDP", 132: "SCTP" };
  const METHOD = { 0: "Masq", 1: "Local", 2: "Tunnel", 3: "Route", 4: "Bypass" };
  const AF_INET6 = 10;
  const SVC_PERSISTENT = 1, SVC_ONEPACKET = 4;
  const STAT_COLS = [
    ["conns", "Conns"], ["inpkts", "InPkts"], ["outpkts", "OutPkts"], ["inbytes", "InBytes"], ["outbytes", "OutBytes"],
    ["cps", "CPS"], ["inpps", "InPPS"], ["outpps", "OutPPS"], ["inbps", "InBPS"], ["outbps", "OutBPS"],
  ];

  const params = new URLSearchParams(location.search);
  const interval = Math.max(0.5, parseFloat(params.get("interval")) || 2);

  // State visible to tests and curious users.
  const live = (window.golvs = { refreshes: 0, lastError: "", meta: null, services: [] });
  const previous = new Map(); // cell key -> last value, to flash changes

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function hostPort(addr, port) {
    return addr.includes(":") ? "[" + addr + "]:" + port : addr + ":" + port;
  }

  // svcName renders a service as ipvsadm lists it (and as the server's
  // metrics.ServiceName does): "TCP 10.0.0.1:80", "FWM 3".
  function svcName(s) {
    if (s.FWMark) return "FWM " + s.FWMark + (s.Family === AF_INET6 ? " IPv6" : "");
    return (PROTO[s.Protocol] || "?") + " " + hostPort(s.Addr, s.Port);
  }

  // prefixLen turns the service's persistence netmask into a prefix length
  // (IPv4: a 32-bit mask; IPv6: already a length); null when not contiguous.
  function prefixLen(s) {
    if (s.Family === AF_INET6) return s.Netmask;
    let m = s.Netmask >>> 0, n = 0;
    while (n < 32 && m & 0x80000000) { n++; m = (m << 1) >>> 0; }
    return m === 0 ? n : null;
  }

  function maskText(s) {
    const n = prefixLen(s);
    if (n !== null) return "/" + n;
    const m = s.Netmask >>> 0;
    return " mask " + [24, 16, 8, 0].map((b) => (m >>> b) & 255).join(".");
  }

  // duration renders a time left as ipvsadm does (mm:ss), with hours
  // when needed.
  function duration(ns) {
    let s = Math.max(0, Math.floor(ns / 1e9));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const two = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" : "") + two(m) + ":" + two(s);
  }

  function num(v) { return v === undefined || v === null ? "" : String(v); }

  // cell makes a number cell that flashes when its value changed.
  function cell(key, value, col) {
    const text = num(value);
    const td = el("td", { "data-col": col, "data-key": key }, text);
    if (previous.has(key) && previous.get(key) !== text) td.classList.add("flash");
    previous.set(key, text);
    return td;
  }

  function statCells(prefix, st) {
    const v = {
      conns: st.Conns, inpkts: st.InPkts, outpkts: st.OutPkts, inbytes: st.InBytes, outbytes: st.OutBytes,
      cps: st.CPS, inpps: st.InPPS, outpps: st.OutPPS, inbps: st.InBPS, outbps: st.OutBPS,
    };
    return STAT_COLS.map(([c]) => cell(prefix + c, v[c], c));
  }

  function healthBadge(h) {
    if (!h) return el("span", { class: "badge unknown", title: "no health checker reports this real server" }, "–");
    const since = h.since ? " since " + new Date(h.since).toLocaleTimeString() : "";
    return el("span", { class: "badge " + (h.healthy ? "up" : "down"), title: (h.detail || "") + since }, h.healthy ? "up" : "down");
  }

  function renderServices(svcs, status) {
    const health = new Map();
    for (const h of status.health || []) health.set(h.service + "|" + h.server, h);
    const tbody = el("tbody");
    if (!svcs.length) tbody.append(el("tr", {}, el("td", { colSpan: 17, class: "empty" }, "no virtual services")));
    for (const s of svcs) {
      const name = svcName(s);
      let sched = s.Scheduler;
      if (s.Flags & SVC_PERSISTENT) {
        sched += " persistent " + s.Timeout + " s";
        if (s.Netmask !== 0xffffffff && !(s.Family === AF_INET6 && s.Netmask === 128)) {
          const n = prefixLen(s);
          sched += n !== null ? " per /" + n : maskText(s);
        }
      }
      if (s.Flags & SVC_ONEPACKET) sched += " ops";
      if (s.PE) sched += " pe " + s.PE;
      tbody.append(el("tr", { class: "svc", "data-service": name },
        el("td", { class: "name" }, name), el("td", { class: "text" }, sched),
        el("td"), el("td"), el("td"), el("td"), el("td"),
        ...statCells(name + "|", s.Stats)));
      for (const d of s.Dests || []) {
        const server = hostPort(d.Addr, d.Port);
        const k = name + "|" + server + "|";
        const hcell = el("td", { "data-col": "health" }, healthBadge(health.get(name + "|" + server)));
        if (d.Weight === 0) hcell.append(" ", el("span", { class: "badge over", title: "weight 0: gets no new connections" }, "quiescent"));
        if (d.Overloaded) hcell.append(" ", el("span", { class: "badge over", title: "over its upper connection threshold" }, "overloaded"));
        tbody.append(el("tr", { class: "rs", "data-service": name, "data-server": server },
          el("td", { class: "name" }, "→ " + server),
          el("td", { class: "text" }, METHOD[d.Method] || "?"),
          cell(k + "weight", d.Weight, "weight"),
          cell(k + "active", d.ActiveConns, "active"),
          cell(k + "inactive", d.InactConns, "inactive"),
          cell(k + "persist", d.PersistConns, "persist"),
          hcell,
          ...statCells(k, d.Stats)));
      }
    }
    document.querySelector("#services tbody").replaceWith(tbody);
  }

  function ipv4ToInt(a) {
    const p = a.split(".").map(Number);
    return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
  }

  function splitAddrPort(ap) {
    const i = ap.lastIndexOf(":");
    let host = ap.slice(0, i);
    if (host.startsWith("[")) host = host.slice(1, -1);
    return [host, Number(ap.slice(i + 1))];
  }

  // templateService finds the service a template belongs to.
  function templateService(t, svcs) {
    const [vaddr, vport] = splitAddrPort(t.Virtual);
    if (t.Protocol === 0) {
      const mark = ipv4ToInt(vaddr);
      return svcs.find((s) => s.FWMark === mark && (s.Family === AF_INET6) === (t.Family === AF_INET6));
    }
    const same = svcs.filter((s) => !s.FWMark && s.Protocol === t.Protocol && s.Addr === vaddr);
    return same.find((s) => s.Port === vport) || same.find((s) => s.Port === 0) || same[0];
  }

  function renderConns(conns, svcs) {
    const tbody = el("tbody");
    const templates = conns.filter((c) => c.Template);
    templates.sort((a, b) => a.Seq - b.Seq);
    if (!templates.length) tbody.append(el("tr", {}, el("td", { colSpan: 5, class: "empty" }, "no persistence templates")));
    for (const t of templates) {
      const s = templateService(t, svcs);
      const [client] = splitAddrPort(t.Client);
      const net = s ? client + maskText(s) : client;
      const svc = s ? svcName(s) : (PROTO[t.Protocol] || "?") + " " + t.Virtual;
      tbody.append(el("tr", { class: "tpl", "data-client": net },
        el("td", { class: "name" }, net),
        el("td", { class: "name" }, svc + (s && !s.FWMark && splitAddrPort(t.Virtual)[1] !== s.Port ? " (key port " + splitAddrPort(t.Virtual)[1] + ")" : "")),
        el("td", { class: "name" }, t.Dest),
        el("td", {}, duration(t.Expires)),
        el("td", { class: "text" }, t.State)));
    }
    document.querySelector("#templates tbody").replaceWith(tbody);
    const byState = {};
    for (const c of conns) if (!c.Template) byState[c.State] = (byState[c.State] || 0) + 1;
    const parts = Object.entries(byState).sort().map(([k, v]) => v + " " + k);
    document.getElementById("conn-summary").textContent =
      "Connections: " + (parts.length ? parts.join(", ") : "none") + "; templates: " + templates.length + ".";
  }

  function renderStatus(st, svcs) {
    const set = (id, v) => {
      const e = document.getElementById(id);
      const text = num(v);
      if (e.textContent !== text && e.textContent !== "–") { e.classList.remove("flash"); void e.offsetWidth; e.classList.add("flash"); }
      e.textContent = text;
    };
    set("sum-services", svcs.length);
    set("sum-entries", st.entries);
    set("sum-templates", st.templates);
    set("sum-refused", st.refused + (st.limit ? " / limit " + st.limit : ""));
    set("tot-conns", st.totals.Conns);
    set("tot-inpkts", st.totals.InPkts);
    set("tot-inbytes", st.totals.InBytes);
    set("tot-cps", st.totals.CPS);
    set("tot-inpps", st.totals.InPPS);
    set("tot-inbps", st.totals.InBPS);
    const dec = el("tbody");
    dec.append(el("tr", {}, ...st.decisions.map((d) => el("th", {}, d.name.replace(/_/g, " ")))));
    dec.append(el("tr", {}, ...st.decisions.map((d) => cell("decision|" + d.name, d.count, d.name))));
    document.querySelector("#decisions tbody").replaceWith(dec);
    const dpt = document.getElementById("dataplane");
    if (st.dataplane) {
      dpt.hidden = false;
      const dp = el("tbody");
      const entries = Object.entries(st.dataplane);
      dp.append(el("tr", {}, el("th", { class: "name" }, "data plane"), ...entries.map(([k]) => el("th", {}, k))));
      dp.append(el("tr", {}, el("td"), ...entries.map(([k, v]) => cell("dp|" + k, v, k))));
      dpt.querySelector("tbody").replaceWith(dp);
    }
  }

  async function fetchJSON(url, opts) {
    const r = await fetch(url, Object.assign({ cache: "no-store" }, opts || {}));
    const text = await r.text();
    if (!r.ok) throw new Error(text.trim() || r.status + " " + r.statusText);
    return JSON.parse(text);
  }

  async function refresh() {
    try {
      const [svcs, conns, st] = await Promise.all([
        fetchJSON("/v1/services"), fetchJSON("/v1/connections"), fetchJSON("/ui/status"),
      ]);
      live.services = svcs || [];
      renderServices(live.services, st);
      renderConns(conns || [], live.services);
      renderStatus(st, live.services);
      const vin = document.getElementById("ex-virtual");
      if (!vin.value) {
        const first = live.services.find((s) => !s.FWMark);
        if (first) vin.value = hostPort(first.Addr, first.Port);
      }
      live.refreshes++;
      live.lastError = "";
      const now = new Date().toLocaleTimeString();
      document.getElementById("updated").textContent = now;
      const state = document.getElementById("state");
      state.textContent = "live · " + now;
      state.classList.remove("error");
    } catch (e) {
      live.lastError = String(e.message || e);
      const state = document.getElementById("state");
      state.textContent = "error: " + live.lastError;
      state.classList.add("error");
    } finally {
      setTimeout(refresh, interval * 1000);
    }
  }

  function reasonName(r) {
    const m = live.meta && live.meta.reasons[r];
    return m ? m.name : "reason " + r;
  }

  function templateKeyText(k) {
    return "<" + (PROTO[k.Protocol] || "?") + ", " + k.Client + ", 0, " + k.Virtual + ", " + k.VPort + (k.PEData ? ", callid " + k.PEData : "") + ">";
  }

  function renderExplanation(ex) {
    const out = el("div", { id: "explanation", "data-verdict": live.meta ? live.meta.verdicts[ex.Verdict] : String(ex.Verdict) });
    const verdict = live.meta ? live.meta.verdicts[ex.Verdict] || String(ex.Verdict) : String(ex.Verdict);
    const outcome = live.meta && live.meta.reasons[ex.Outcome];
    out.append(el("p", { class: "verdict" }, "Verdict: ", el("b", { class: verdict, id: "ex-verdict" }, verdict),
      " — ", el("span", { id: "ex-outcome" }, outcome ? outcome.name : reasonName(ex.Outcome)),
      outcome && outcome.func ? el("span", {}, " (", el("code", {}, outcome.func), ")") : null));
    const ol = el("ol", { class: "steps", id: "ex-steps" });
    for (const st of ex.Steps || []) {
      ol.append(el("li", {}, el("code", {}, st.Func || "?"), " ", st.Text));
    }
    out.append(ol);
    const dl = el("dl", { class: "facts" });
    const fact = (k, v) => dl.append(el("dt", {}, k), el("dd", {}, v));
    if (ex.Service) fact("service", svcName(ex.Service) + (ex.Scheduler ? " (" + ex.Scheduler + ")" : ""));
    if (ex.Template) {
      fact("template key", templateKeyText(ex.Template));
      if (ex.TemplateFound) fact("template", "→ " + ex.TemplateDest + ", " + duration(ex.TemplateExpires) + " left, " + reasonName(ex.TemplateVerdict));
      else fact("template", "none with this key");
    }
    if (ex.Scheduled) fact("scheduler would choose", ex.Scheduled);
    else if (ex.SchedulerNoPreview) fact("scheduler", "cannot preview its choice without changing its state");
    if (ex.ConnDest) fact("connection", ex.ConnClient + " → " + ex.ConnVirtual + " → " + ex.ConnDest);
    if (ex.Existing) fact("existing entry", ex.Existing.State + ", " + duration(ex.Existing.Expires) + " left");
    if (dl.childNodes.length) out.append(dl);
    return out;
  }

  async function explain(ev) {
    ev.preventDefault();
    const res = document.getElementById("explain-result");
    const req = {
      protocol: document.getElementById("ex-proto").value,
      client: document.getElementById("ex-client").value.trim(),
      virtual: document.getElementById("ex-virtual").value.trim(),
    };
    const mark = document.getElementById("ex-mark").value.trim();
    if (mark) req.mark = Number(mark);
    try {
      if (!live.meta) live.meta = await fetchJSON("/ui/meta");
      const ex = await fetchJSON("/v1/explain", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req),
      });
      res.replaceChildren(renderExplanation(ex));
    } catch (e) {
      res.replaceChildren(el("p", { class: "error-text", id: "ex-error" }, String(e.message || e)));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("interval").textContent = String(interval);
    document.getElementById("explain-form").addEventListener("submit", explain);
    fetchJSON("/ui/meta").then((m) => { live.meta = m; }).catch(() => {});
    refresh();
  });
})();
