/*! Research-assistant chat widget: plain JS, no build step.
 * <script src="https://host/widget.js" data-api="https://host" defer></script>
 * data-api: API base URL (default: where widget.js came from); data-lang: labels (default <html lang>);
 * data-key: optional API key (Authorization: Bearer). Page API: RagWidget.open() .close() .ask(q)
 */
(() => {
  "use strict";
  if (window.RagWidget) return; // loaded twice: keep the first

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const ds = (script && script.dataset) || {};
  const API = (ds.api || new URL(".", (script && script.src) || location.href).href).replace(/\/+$/, "");
  const CONTEXT = 300; // characters shown either side of a quoted span
  const READ_AS = "Read as: "; // how a streamed reply to a follow-up opens (its first line)

  const LABELS = {
    en: {
      launch: "Ask the documents", title: "Research assistant", close: "Close chat",
      intro: "Ask a question about the documents. Answers cite their sources; select a number to read the passage.",
      conversation: "Conversation", question: "Your question", send: "Send",
      placeholder: "Ask a question…", hint: "Enter sends; Shift+Enter adds a line.",
      you: "You", bot: "Assistant", thinking: "Searching the documents…", sources: "Sources",
      cite: "Source {n}: {t}", readAs: "Read as:", page: "p. {p}", abstain: "The documents don't answer this question, so I won't guess.",
      unreachable: "Can't reach the service. Check that it is running and try again.",
      error: "The service returned an error: {m}", incomplete: "the answer stopped before it was complete.",
      back: "Back to the conversation", passage: "Passage", loading: "Loading the passage…",
      passageError: "Couldn't load the passage: {m}", quote: "Quoted text",
    },
    "zh-Hans": {
      launch: "向文档提问", title: "研究助手", close: "关闭对话",
      intro: "就文档内容提问。回答会注明出处，点击编号即可查看原文。",
      conversation: "对话", question: "你的问题", send: "发送",
      placeholder: "输入问题…", hint: "Enter 发送，Shift+Enter 换行。",
      you: "你", bot: "助手", thinking: "正在检索文档…", sources: "来源",
      cite: "来源 {n}：{t}", readAs: "理解为：", page: "第{p}页", abstain: "文档中没有这个问题的答案，因此不作猜测。",
      unreachable: "无法连接到服务。请确认服务正在运行，然后重试。",
      error: "服务返回错误：{m}", incomplete: "回答在完成前中断。",
      back: "返回对话", passage: "原文", loading: "正在加载原文…",
      passageError: "无法加载原文：{m}", quote: "引用的文字",
    },
    "zh-Hant": {
      launch: "向文件提問", title: "研究助理", close: "關閉對話",
      intro: "就文件內容提問。回答會註明出處，點選編號即可查看原文。",
      conversation: "對話", question: "你的問題", send: "送出",
      placeholder: "輸入問題…", hint: "Enter 送出，Shift+Enter 換行。",
      you: "你", bot: "助理", thinking: "正在檢索文件…", sources: "來源",
      cite: "來源 {n}：{t}", readAs: "理解為：", page: "第{p}頁", abstain: "文件中沒有這個問題的答案，因此不作猜測。",
      unreachable: "無法連線到服務。請確認服務正在執行，然後重試。",
      error: "服務傳回錯誤：{m}", incomplete: "回答在完成前中斷。",
      back: "返回對話", passage: "原文", loading: "正在載入原文…",
      passageError: "無法載入原文：{m}", quote: "引用的文字",
    },
  };
  const langOf = (tag) => {
    tag = String(tag || "").toLowerCase();
    if (!tag.startsWith("zh")) return "en";
    return /hant|-tw|-hk|-mo/.test(tag) ? "zh-Hant" : "zh-Hans";
  };
  const lang = langOf(ds.lang || document.documentElement.lang);
  const T = LABELS[lang];
  const fmt = (s, v) => s.replace(/\{(\w)\}/g, (_, k) => (v[k] == null ? "" : String(v[k])));

  // Builds elements; strings become text nodes, so no server text is ever parsed as HTML.
  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    el.append(...kids.flat().filter((c) => c != null && c !== ""));
    return el;
  };

  const CSS = `
:host{all:initial}
*{box-sizing:border-box}
.w{--c:#1d5bbf;--fg:#1b1f24;--mut:#59636e;--bd:#d5dbe2;--soft:#f3f5f8;
 --cjk:"Noto Sans CJK SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei";
 font:15px/1.6 system-ui,"Segoe UI",Roboto,"Noto Sans",var(--cjk),sans-serif;
 color:var(--fg);line-break:strict;word-break:normal;overflow-wrap:anywhere;text-autospace:normal}
.w:lang(zh-Hant){--cjk:"Noto Sans CJK TC","PingFang TC","Microsoft JhengHei"}
button,textarea{font:inherit;color:inherit}
:focus-visible{outline:3px solid #e8a317;outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;
 padding:11px 18px;border:0;border-radius:999px;background:var(--c);color:#fff;font-weight:600;cursor:pointer;
 box-shadow:0 4px 14px rgba(0,0,0,.25)}
.launcher svg{width:20px;height:20px;fill:currentColor}
.panel{position:fixed;right:20px;bottom:80px;z-index:2147483001;width:410px;height:min(660px,calc(100vh - 100px));
 display:flex;flex-direction:column;background:#fff;border:1px solid var(--bd);border-radius:14px;
 box-shadow:0 12px 40px rgba(0,0,0,.22);overflow:hidden}
[hidden]{display:none!important}
header{display:flex;align-items:center;gap:8px;padding:10px 10px 10px 16px;background:var(--c);color:#fff}
h2{flex:1;margin:0;font-size:16px}
.x{width:36px;height:36px;border:0;border-radius:8px;background:transparent;color:#fff;font-size:22px;line-height:1;cursor:pointer}
.log,.passage{flex:1;min-height:0;overflow-y:auto;padding:14px}
.intro{margin:0 0 12px;color:var(--mut);font-size:14px}
.msg{margin:0 0 12px;padding:9px 12px;border-radius:12px;max-width:92%}
.user{margin-left:auto;background:#e4edfb;white-space:pre-wrap;width:fit-content}
.bot{background:var(--soft)}
.text{white-space:pre-wrap}
.status{margin:0;color:var(--mut)}
.notice{margin:0;padding-left:10px;border-left:4px solid #c98a00}
.readas{margin:0 0 6px;font-size:.85em;color:#555;font-style:italic}
.err{margin:0;padding-left:10px;border-left:4px solid #c62828;color:#8e1b1b}
.chip{display:inline-flex;align-items:center;justify-content:center;min-width:1.7em;height:1.7em;margin:0 .15em;
 padding:0 .4em;border:1px solid var(--c);border-radius:.85em;background:#eaf1fc;color:var(--c);font-size:.75em;
 font-weight:700;line-height:1;vertical-align:.12em;cursor:pointer}
.chip:hover,.src:hover{background:#d7e5fa}
.x:hover{background:#fff3}
h3{margin:10px 0 6px;font-size:13px;color:var(--mut);font-weight:600}
ol{margin:0;padding:0;list-style:none}
li+li{margin-top:6px}
.src{display:grid;grid-template-columns:auto 1fr;column-gap:8px;width:100%;padding:7px 9px;border:1px solid var(--bd);
 border-radius:8px;background:#fff;text-align:left;cursor:pointer;font-size:13px;line-height:1.45}
.num{grid-row:span 2;align-self:start;color:var(--c);font-weight:700}
.st{font-weight:600}
.meta{color:var(--mut)}
.passage{display:flex;flex-direction:column;padding:0}
.phead{padding:10px 14px;border-bottom:1px solid var(--bd)}
.back{border:1px solid var(--bd);border-radius:8px;background:#fff;padding:5px 10px;cursor:pointer;font-size:14px}
.phead h3{margin:8px 0 0;font-size:15px;color:var(--fg)}
.phead p{margin:2px 0 0;font-size:13px;color:var(--mut)}
.ptext{position:relative;flex:1;min-height:0;overflow-y:auto;margin:0;padding:12px 14px;white-space:pre-wrap}
mark{background:#ffe27a;color:inherit;padding:1px 2px;border-radius:3px;box-shadow:0 0 0 2px #ffe27a}
form{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid var(--bd)}
textarea{flex:1;min-height:44px;max-height:140px;padding:9px 10px;border:1px solid var(--bd);border-radius:10px;
 resize:none;font-size:16px;line-height:1.4}
textarea:focus-visible{outline:2px solid var(--c);outline-offset:-1px}
.send{height:44px;padding:0 16px;border:0;border-radius:10px;background:var(--c);color:#fff;font-weight:600;cursor:pointer}
.send:disabled{opacity:.55;cursor:default}
@media (max-width:520px){.panel{inset:0;width:auto;height:auto;border:0;border-radius:0}
 .launcher{right:12px;bottom:12px}}
`;

  // DOM
  const hostEl = document.createElement("rag-chat-widget");
  const root = hostEl.attachShadow({ mode: "open" });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  svg.append(path);

  const launcher = h("button", { type: "button", class: "launcher", "aria-label": T.launch,
    "aria-expanded": "false", "aria-controls": "rag-panel", onclick: () => (panel.hidden ? open() : close()) },
  svg, h("span", {}, T.launch));
  const closeBtn = h("button", { type: "button", class: "x", "aria-label": T.close, onclick: () => close() }, "×");
  const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.conversation,
    tabindex: "-1" }, h("p", { class: "intro" }, T.intro));
  const backBtn = h("button", { type: "button", class: "back", onclick: () => closePassage() }, "← " + T.back);
  const pTitle = h("h3", { id: "rag-ptitle" });
  const pMeta = h("p", {});
  const pText = h("div", { class: "ptext", tabindex: "0", "aria-label": T.passage });
  const passage = h("section", { class: "passage", "aria-labelledby": "rag-ptitle", hidden: true },
    h("div", { class: "phead" }, backBtn, pTitle, pMeta), pText);
  const input = h("textarea", { id: "rag-q", rows: "1", placeholder: T.placeholder, autocomplete: "off",
    enterkeyhint: "send", "aria-describedby": "rag-hint" });
  const sendBtn = h("button", { type: "submit", class: "send" }, T.send);
  const form = h("form", { onsubmit: (e) => { e.preventDefault(); submit(); } },
    h("label", { for: "rag-q", class: "sr" }, T.question), h("span", { id: "rag-hint", class: "sr" }, T.hint),
    input, sendBtn);
  const panel = h("section", { id: "rag-panel", class: "panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "rag-title", hidden: true },
  h("header", {}, h("h2", { id: "rag-title" }, T.title), closeBtn), log, passage, form);
  root.append(h("style", {}, CSS), h("div", { class: "w", lang }, launcher, panel));

  // Behaviour
  let busy = false;
  let opener = null; // the chip or source that opened the passage view, to return focus to
  let passageToken = 0;
  const history = []; // the questions asked so far in this conversation: a follow-up is read against them

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (passage.hidden) input.focus();
    else backBtn.focus();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  panel.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.isComposing) return;
    e.stopPropagation();
    if (!passage.hidden) closePassage();
    else close();
  });
  input.addEventListener("keydown", (e) => {
    // keyCode 229: an IME (pinyin, zhuyin…) is composing; Enter there picks a candidate, it must not send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 140) + "px";
  });

  function submit() {
    const q = input.value.trim();
    if (!q || busy) return;
    input.value = "";
    input.style.height = "";
    ask(q);
  }

  const scrollDown = () => { log.scrollTop = log.scrollHeight; };
  const headers = (extra) => Object.assign(ds.key ? { Authorization: "Bearer " + ds.key } : {}, extra);

  class ServiceError extends Error {}

  async function errorOf(res) {
    let m = res.status + " " + (res.statusText || "");
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) m = body.error.message;
    } catch (_) { /* not JSON: keep the status line */ }
    return new ServiceError(m.trim());
  }

  // Server-sent events from a fetch() body (EventSource cannot POST). Yields [event, data] pairs.
  async function* events(res) {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "", ev = "", data = [];
    for (;;) {
      const { value, done } = await reader.read();
      buf += done ? dec.decode() + "\n\n" : dec.decode(value, { stream: true });
      let i;
      // a lone "\r" at the end may be the first half of "\r\n": wait for the next chunk
      while ((i = buf.search(/\r\n|\n|\r(?!$)/)) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + (buf.startsWith("\r\n", i) ? 2 : 1));
        if (line === "") {
          if (data.length) yield [ev || "message", data.join("\n")];
          ev = "";
          data = [];
        } else if (line[0] !== ":") {
          const c = line.indexOf(":");
          const field = c < 0 ? line : line.slice(0, c);
          let v = c < 0 ? "" : line.slice(c + 1);
          if (v[0] === " ") v = v.slice(1);
          if (field === "event") ev = v;
          else if (field === "data") data.push(v);
        }
      }
      if (done) return;
    }
  }

  async function ask(question) {
    busy = true;
    sendBtn.disabled = true;
    closePassage(true);
    log.append(h("div", { class: "msg user" }, h("span", { class: "sr" }, T.you + ": "), question));
    const msg = h("div", { class: "msg bot", "aria-busy": "true" },
      h("span", { class: "sr" }, T.bot + ": "), h("p", { class: "status" }, T.thinking));
    log.append(msg);
    scrollDown();
    let answer = null;
    try {
      let res;
      try {
        res = await fetch(API + "/ask", { method: "POST",
          headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
          body: JSON.stringify({ question, stream: true, history: history.slice(-10) }) });
      } catch (_) {
        throw new TypeError("unreachable");
      }
      if (!res.ok) throw await errorOf(res);
      if (!(res.headers.get("content-type") || "").includes("text/event-stream")) {
        answer = await res.json();
      } else {
        // Deltas are final text (the service streams only what the answer keeps): each is shown as it
        // arrives; the "done" event's answer then replaces them, its [n] markers made into links.
        let live = null;
        let pending = ""; // text not shown yet: the start of a follow-up's reading, still arriving
        for await (const [ev, data] of events(res)) {
          const d = JSON.parse(data);
          if (ev === "delta") {
            pending += d.text || "";
            if (!live) {
              // a follow-up's reply opens with "Read as: …\n": shown as render() shows it, once whole
              if (pending.length < READ_AS.length && READ_AS.startsWith(pending)) continue;
              let reading = null;
              if (pending.startsWith(READ_AS)) {
                const nl = pending.indexOf("\n");
                if (nl < 0) continue;
                reading = pending.slice(READ_AS.length, nl);
                pending = pending.slice(nl + 1);
              }
              live = h("div", { class: "text" });
              msg.lastChild.replaceWith(...(reading ? [h("p", { class: "readas" }, T.readAs + " " + reading)] : []),
                live);
            }
            live.append(pending);
            pending = "";
            scrollDown();
          } else if (ev === "done") {
            answer = d;
          } else if (ev === "error") {
            throw new ServiceError((d.error && d.error.message) || "error");
          }
        }
        if (!answer) throw new ServiceError(T.incomplete);
      }
      render(msg, answer);
      history.push(question);
    } catch (err) {
      // Drop any streamed text: an answer cut short may mislead, and its markers have no sources to link.
      const down = err instanceof TypeError; // fetch() failed: no answer from the network at all
      const text = down ? T.unreachable : fmt(T.error, { m: err.message });
      msg.replaceChildren(h("span", { class: "sr" }, T.bot + ": "), h("p", { class: "err", role: "alert" }, text));
      msg.classList.add("failed");
    } finally {
      msg.setAttribute("aria-busy", "false");
      busy = false;
      sendBtn.disabled = false;
      scrollDown();
    }
  }

  const dateOf = (c) => (c.date ? String(c.date).slice(0, 10) : "");
  const metaOf = (c) => [c.source, dateOf(c), c.page ? fmt(T.page, { p: c.page }) : "", c.provenance || ""]
    .filter(Boolean).join(" · ");

  function render(msg, a) {
    const kids = [h("span", { class: "sr" }, T.bot + ": ")];
    if (a.read_as) kids.push(h("p", { class: "readas" }, T.readAs + " " + a.read_as));
    if (a.abstained) {
      msg.classList.add("abstained");
      kids.push(h("p", { class: "notice" }, T.abstain));
      msg.replaceChildren(...kids);
      return;
    }
    const cites = new Map((a.citations || []).map((c) => [Number(c.n), c]));
    const text = h("div", { class: "text" });
    const s = String(a.answer || "");
    const re = /\[(\d+(?:\s*[,，]\s*\d+)*)\]/g;
    let last = 0, m;
    while ((m = re.exec(s))) {
      const ns = m[1].split(/[,，]/).map((x) => Number(x.trim()));
      if (!ns.every((n) => cites.has(n))) continue; // not a citation marker: leave it as text
      text.append(s.slice(last, m.index), ...ns.map((n) => chip(cites.get(n))));
      last = re.lastIndex;
    }
    text.append(s.slice(last));
    kids.push(text);
    if (cites.size) {
      kids.push(h("h3", {}, T.sources), h("ol", {}, [...cites.values()].map((c) => h("li", {},
        h("button", { type: "button", class: "src", "aria-label": fmt(T.cite, { n: c.n, t: c.title || c.doc })
          + (metaOf(c) ? ", " + metaOf(c) : ""), onclick: (e) => openPassage(c, e.currentTarget) },
        h("span", { class: "num", "aria-hidden": "true" }, "[" + c.n + "]"),
        h("span", { class: "st" }, c.title || c.doc), h("span", { class: "meta" }, metaOf(c)))))));
    }
    msg.replaceChildren(...kids);
  }

  const chip = (c) => h("button", { type: "button", class: "chip", title: c.title || c.doc,
    "aria-label": fmt(T.cite, { n: c.n, t: c.title || c.doc }), onclick: (e) => openPassage(c, e.currentTarget) },
  String(c.n));

  async function span(doc, start, end) {
    const id = String(doc).split("/").map(encodeURIComponent).join("/");
    let res;
    try {
      res = await fetch(`${API}/documents/${id}?start=${start}` + (end == null ? "" : `&end=${end}`),
        { headers: headers({}) });
    } catch (_) {
      throw new ServiceError(T.unreachable);
    }
    if (!res.ok) throw await errorOf(res);
    return res.json();
  }

  async function openPassage(c, from) {
    const token = ++passageToken;
    opener = from;
    pTitle.textContent = c.title || c.doc;
    pMeta.textContent = [c.source, dateOf(c), c.doc].filter(Boolean).join(" · ");
    pText.replaceChildren(h("p", { class: "status" }, T.loading));
    log.hidden = true;
    passage.hidden = false;
    backBtn.focus();
    const qs = Number(c.quote_start ?? c.start), qe = Number(c.quote_end ?? c.end);
    let got;
    try {
      try {
        got = await span(c.doc, Math.max(0, qs - CONTEXT), qe + CONTEXT);
      } catch (e) {
        // the window ran past the end of the document (refused): read from its start to the end instead
        got = await span(c.doc, Math.max(0, qs - CONTEXT));
      }
    } catch (e) {
      if (token === passageToken) {
        pText.replaceChildren(h("p", { class: "err", role: "alert" }, fmt(T.passageError, { m: e.message })));
      }
      return;
    }
    if (token !== passageToken) return; // another passage was opened meanwhile
    const t = String(got.text || "");
    const off = Number(got.start) || 0;
    let a = Math.min(Math.max(qs - off, 0), t.length), b = Math.min(Math.max(qe - off, a), t.length);
    if (c.quote && t.slice(a, b) !== c.quote && t.includes(c.quote)) {
      a = t.indexOf(c.quote);
      b = a + c.quote.length;
    }
    const mark = h("mark", {}, t.slice(a, b));
    const more = got.chars == null || off + t.length < Number(got.chars);
    pText.replaceChildren(off > 0 ? "…" : "", t.slice(0, a), h("span", { class: "sr" }, T.quote + ": "), mark,
      t.slice(b), more ? "…" : "");
    pText.scrollTop = Math.max(0, mark.offsetTop - pText.clientHeight / 3);
  }

  function closePassage(quiet) {
    passageToken++;
    if (passage.hidden) return;
    passage.hidden = true;
    log.hidden = false;
    if (!quiet && opener && opener.isConnected) opener.focus();
    opener = null;
  }

  const mount = () => document.body.append(hostEl);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.RagWidget = {
    open,
    close,
    ask: (q) => { open(); if (q && !busy) ask(String(q)); },
  };
})();
