// The report page's browser: filters, pages and highlights the embedded sample.
// Document text only ever enters the page through textContent, never as markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const PAGE = 50;
  // Light backgrounds for marks, strong ones for pills; the i-th fact of the manifest gets the i-th hue.
  const HUES = [48, 200, 130, 330, 20, 265, 170, 0, 90, 230];
  const factIndex = new Map(data.facts.map((f, i) => [f, i]));
  const hue = (fact) => HUES[(factIndex.has(fact) ? factIndex.get(fact) : data.facts.length) % HUES.length];
  const markColour = (fact) => `hsl(${hue(fact)} 90% 78%)`;
  const pillColour = (fact) => `hsl(${hue(fact)} 55% 38%)`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const levelsOf = (doc) => [...new Set(doc.spans.map((s) => s[3]))];

  function highlighted(doc) {
    // Spans are [start, end, fact, explicitness, premise] in UTF-16 units, sorted by start.
    const box = el("div", { class: "doc-text" });
    let cursor = 0;
    for (const [start, end, fact, level, premise] of doc.spans) {
      if (start < cursor || end > doc.text.length || end <= start) continue; // overlapping or out of range
      box.append(doc.text.slice(cursor, start));
      const title = `${fact} · ${level}` + (premise ? ` (premise ${premise})` : "");
      const mark = el("mark", { "data-fact": fact, "data-explicitness": level, "data-premise": premise, title,
                                text: doc.text.slice(start, end) });
      mark.style.background = markColour(fact);
      box.append(mark);
      cursor = end;
    }
    box.append(doc.text.slice(cursor));
    return box;
  }

  function pill(text, cls, colour) {
    const node = el("span", { class: "pill " + (cls || ""), text });
    if (colour) node.style.background = colour;
    return node;
  }

  function expandable(card, box) {
    const button = el("button", { type: "button", text: "Show whole text" });
    button.addEventListener("click", () => {
      const open = card.classList.toggle("expanded");
      button.textContent = open ? "Collapse" : "Show whole text";
    });
    return button;
  }

  function documentCard(doc) {
    const levels = levelsOf(doc);
    const card = el("article", { class: "doc", "data-id": doc.id, "data-kind": doc.kind, "data-genre": doc.genre,
                                 "data-facts": doc.facts.join(" "), "data-explicitness": levels.join(" ") });
    const head = el("div", { class: "doc-head" });
    if (doc.title) head.append(el("span", { class: "title", text: doc.title }));
    head.append(el("span", { class: "id", text: doc.id }), pill(doc.kind, "kind-" + doc.kind), pill(doc.genre));
    if (doc.topic) head.append(pill(doc.topic));
    head.append(el("span", { text: `${doc.n_tokens.toLocaleString("en")} tokens` }));
    if (doc.depth !== null) head.append(el("span", { text: `depth ${doc.depth.toFixed(2)}` }));
    for (const fact of doc.facts) head.append(pill(fact, "fact", pillColour(fact)));
    const box = highlighted(doc);
    const foot = el("div", { class: "doc-foot" }, expandable(card, box),
                    el("span", { text: doc.spans.length ? `${doc.spans.length} mention(s): ${levels.join(", ")}` : "no fact mention" }));
    card.append(head, box, foot);
    return card;
  }

  function rejectedCard(doc) {
    const card = el("article", { class: "doc", "data-id": doc.id, "data-reason": doc.reason });
    const head = el("div", { class: "doc-head" });
    if (doc.title) head.append(el("span", { class: "title", text: doc.title }));
    head.append(el("span", { class: "id", text: doc.id }), pill(doc.reason, "reason"), pill(doc.kind, "kind-" + doc.kind),
                pill(doc.genre), el("span", { text: `${doc.n_tokens.toLocaleString("en")} tokens` }));
    for (const fact of doc.facts) head.append(pill(fact, "fact", pillColour(fact)));
    card.append(head);
    if (doc.detail) card.append(el("div", { class: "detail", text: doc.detail }));
    const box = el("div", { class: "doc-text", text: doc.text || "(no text: nothing usable came back from the writer)" });
    card.append(box, el("div", { class: "doc-foot" }, expandable(card, box)));
    return card;
  }

  function fillSelect(select, values, counts) {
    for (const value of values) select.append(el("option", { value, text: `${value} (${counts.get(value) || 0})` }));
  }

  function tally(items, keysOf) {
    const counts = new Map();
    for (const item of items) for (const key of keysOf(item)) counts.set(key, (counts.get(key) || 0) + 1);
    return counts;
  }

  // A filtered, paged list: `render` draws the first page, "Show more" the next ones.
  function pagedList(listId, countId, moreId, items, makeCard, noun) {
    const list = document.getElementById(listId);
    const count = document.getElementById(countId);
    const more = document.getElementById(moreId);
    let matching = [];
    let drawn = 0;
    function drawNext() {
      const batch = matching.slice(drawn, drawn + PAGE);
      const cards = batch.map(makeCard);
      list.append(...cards);
      drawn += batch.length;
      const left = matching.length - drawn;
      more.hidden = left <= 0;
      more.textContent = `Show ${Math.min(PAGE, left)} more (${left.toLocaleString("en")} not yet shown)`;
      // Open each text box where its first mention is, so highlights are in view.
      // A text that fits needs no expand button.
      for (const card of cards) {
        const box = card.querySelector(".doc-text");
        const mark = box.querySelector("mark");
        if (mark) box.scrollTop = Math.max(0, mark.offsetTop - 40);
        if (box.scrollHeight <= box.clientHeight + 2) card.querySelector(".doc-foot button").hidden = true;
      }
    }
    more.addEventListener("click", drawNext);
    return function render(predicate) {
      matching = items.filter(predicate);
      drawn = 0;
      list.replaceChildren();
      count.dataset.count = String(matching.length);
      count.textContent = `${matching.length.toLocaleString("en")} of the ${items.length.toLocaleString("en")} ${noun} on this page match`;
      if (!matching.length) list.append(el("p", { class: "empty", text: `No ${noun} match these filters.` }));
      drawNext();
    };
  }

  // ---- documents
  const docs = data.documents;
  const filters = {
    kind: document.getElementById("filter-kind"), genre: document.getElementById("filter-genre"),
    fact: document.getElementById("filter-fact"), explicitness: document.getElementById("filter-explicitness"),
  };
  const search = document.getElementById("filter-text");
  const sorted = (counts) => [...counts.keys()].sort();
  fillSelect(filters.kind, sorted(tally(docs, (d) => [d.kind])), tally(docs, (d) => [d.kind]));
  fillSelect(filters.genre, sorted(tally(docs, (d) => [d.genre])), tally(docs, (d) => [d.genre]));
  fillSelect(filters.fact, data.facts, tally(docs, (d) => d.facts));
  fillSelect(filters.explicitness, sorted(tally(docs, levelsOf)), tally(docs, levelsOf));
  const renderDocs = pagedList("doc-list", "doc-count", "doc-more", docs, documentCard, "documents");
  function applyDocFilters() {
    const f = Object.fromEntries(Object.entries(filters).map(([k, s]) => [k, s.value]));
    const words = search.value.trim().toLowerCase();
    renderDocs((d) => (!f.kind || d.kind === f.kind) && (!f.genre || d.genre === f.genre)
      && (!f.fact || d.facts.includes(f.fact)) && (!f.explicitness || d.spans.some((s) => s[3] === f.explicitness))
      && (!words || d.text.toLowerCase().includes(words) || (d.title || "").toLowerCase().includes(words)
          || d.id.includes(words)));
  }
  for (const select of Object.values(filters)) select.addEventListener("change", applyDocFilters);
  let typing = null;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(applyDocFilters, 150); });

  const legend = document.getElementById("legend");
  for (const fact of data.facts) {
    const mark = el("mark", { text: fact });
    mark.style.background = markColour(fact);
    legend.append(mark);
  }
  if (data.facts.length) legend.append(el("span", { text: "dotted underline: implied or split mention" }));
  for (const swatch of document.querySelectorAll(".swatch[data-fact]")) swatch.style.background = pillColour(swatch.dataset.fact);
  applyDocFilters();

  // ---- rejected documents
  const reason = document.getElementById("filter-reason");
  if (reason) {
    const rejected = data.rejected;
    const reasons = tally(rejected, (d) => [d.reason]);
    fillSelect(reason, sorted(reasons), reasons);
    const renderRejected = pagedList("rejected-list", "rejected-count", "rejected-more", rejected, rejectedCard,
                                     "rejected documents");
    const applyReason = () => renderRejected((d) => !reason.value || d.reason === reason.value);
    reason.addEventListener("change", applyReason);
    applyReason();
  }
})();
