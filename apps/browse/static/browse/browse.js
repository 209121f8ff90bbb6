/* The media browser (/browse/): plain JavaScript, no framework, no build step.
 *
 * The server renders the page shell; this script fills it from the platform's JSON APIs
 * with the session cookie (writes carry the CSRF token in X-CSRFToken):
 *   - "My library": GET /api/library (offset pages, has_more), GET/DELETE /api/library/<id>,
 *     GET /api/library/<id>/similar, GET /api/library/usage, POST /api/library (upload);
 *   - "AI feed": GET /api/feed (cursor pages, nextCursor), GET /api/media/<id>,
 *     GET /api/similar/<id>, GET /api/tag-categories (tag suggestions).
 * Addresses come from the page (#browse-config), reversed from the URLconf.
 * The URL hash is the page's state: #library, #feed, #library/<id>, #feed/<id>.
 */
(function () {
  "use strict";

  const PAGE_SIZE = 24;
  const SIMILAR_LIMIT = 12;
  const POLL_FIRST_MS = 1000;  // then 1.5x longer each time, at most POLL_MAX_MS
  const POLL_MAX_MS = 5000;
  const FINAL = new Set(["ready", "failed"]);

  const config = JSON.parse(document.getElementById("browse-config").textContent);
  const api = config.api;
  const $ = (id) => document.getElementById(id);

  const el = {
    app: $("app"), grid: $("grid"), empty: $("empty"), sentinel: $("sentinel"),
    loadMore: $("load-more"), loading: $("loading"), messages: $("messages"),
    filters: $("filters"), type: $("filter-type"), tags: $("filter-tags"),
    tagValues: $("tag-values"), dropzone: $("dropzone"), fileInput: $("file-input"),
    source: $("upload-source"), uploads: $("uploads"), usage: $("usage"),
    meter: $("usage-meter"), usageText: $("usage-text"), results: $("results"),
    dialog: $("detail"), title: $("detail-title"), preview: $("detail-preview"),
    meta: $("detail-meta"), tagGroups: $("detail-tags"), del: $("detail-delete"),
    similar: $("similar"), similarNote: $("similar-note"),
  };

  // What is listed: the source, its filters, the position of the next page, and a
  // generation number so that a page answered after the filters changed is dropped.
  const list = { source: null, type: "", tags: "", next: null, done: false, loading: false,
                 generation: 0, items: new Map() };
  let detailKey = null;  // "library/<id>" of the open detail, if any
  const polling = new Set();  // library ids being polled

  // -- helpers ------------------------------------------------------------------------

  function urlFor(template, id) {
    return template.replace(config.idSlot, encodeURIComponent(id));
  }

  function withQuery(url, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") query.set(key, value);
    }
    const text = query.toString();
    return text ? `${url}?${text}` : url;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /** The message of an error body in any of the platform's dialects. */
  function errorText(body, status) {
    if (status === 401) return "Your session has ended: sign in again.";
    if (body && typeof body === "object") {
      for (const key of ["error", "message", "detail", "title"]) {
        const value = body[key];
        if (typeof value === "string" && value) return value;
        if (Array.isArray(value) && value.length) return value.join(" ");
      }
    }
    return `The server answered ${status}.`;
  }

  async function call(url, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.method && options.method !== "GET") headers["X-CSRFToken"] = config.csrfToken;
    const response = await fetch(url, { credentials: "same-origin", ...options, headers });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) throw new ApiError(response.status, errorText(body, response.status));
    return body;
  }

  function node(tag, attrs = {}, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") element.className = value;
      else if (key === "text") element.textContent = value;
      else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
      else element.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) element.append(child);
    }
    return element;
  }

  function humanSize(bytes) {
    if (bytes === null || bytes === undefined) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    const digits = unit === 0 ? 0 : value < 10 ? 1 : 0;
    return `${value.toFixed(digits)} ${units[unit]}`;
  }

  function when(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  function say(text, kind = "error") {
    const message = node("p", { class: `message ${kind}` }, node("span", { text }),
      node("button", { type: "button", "aria-label": "Dismiss",
                       onclick: () => message.remove(), text: "×" }));
    el.messages.append(message);
    if (kind !== "error") setTimeout(() => message.remove(), 6000);
  }

  function fail(error) {
    say(error instanceof Error ? error.message : String(error));
  }

  // -- items as both sources show them -------------------------------------------------

  /** One shape for cards and the detail: {source, id, type, thumb, alt, status, raw}. */
  function libraryView(item) {
    const prompt = item.metadata && typeof item.metadata.prompt === "string"
      ? item.metadata.prompt : "";
    const image = item.media_type === "image";
    return {
      source: "library", id: item.id, type: item.media_type, status: item.status,
      thumb: item.thumbnail_url || (image && item.status === "failed" ? item.signed_url : null),
      alt: prompt || `${image ? "Image" : "Video"} uploaded ${when(item.created_at)}`,
      title: prompt || `${image ? "Image" : "Video"} · ${when(item.created_at)}`, raw: item,
    };
  }

  function feedView(item) {
    const tags = (item.media_tags || []).map((tag) => tag.tag_value);
    const described = item.title || (tags.length ? tags.join(", ") : item.id);
    return {
      source: "feed", id: item.id, type: item.media_type, status: null,
      thumb: item.thumbnail_url || (item.media_type === "image" ? item.media_url : null),
      alt: `${item.media_type === "video" ? "Video" : "Image"}: ${described}`,
      title: item.title || item.id, raw: item,
    };
  }

  function card(view, similarity) {
    const label = similarity === undefined ? `Open ${view.alt}`
      : `Open ${view.alt} (${Math.round(similarity * 100)}% similar)`;
    const thumb = view.thumb
      ? node("img", { src: view.thumb, alt: view.alt, loading: "lazy", decoding: "async" })
      : node("span", { class: "placeholder",
                       text: view.status && !FINAL.has(view.status) ? "Processing…"
                         : view.type === "video" ? "Video" : "No preview" });
    const info = node("span", { class: "card-info" },
      node("span", { class: "kind", text: view.type }),
      view.status ? node("span", { class: `badge status status-${view.status}`,
                                   text: view.status }) : null,
      similarity !== undefined ? node("span", { class: "similarity",
                                                text: `${Math.round(similarity * 100)}% similar` })
        : null);
    const open = node("button", { type: "button", class: "card-open", "aria-label": label,
                                  onclick: () => { location.hash = `${view.source}/${encodeURIComponent(view.id)}`; } },
      node("span", { class: "thumb" }, thumb), info);
    return node("li", { class: "card", "data-id": view.id, "data-source": view.source,
                        "data-status": view.status || "" }, open);
  }

  // -- the list: tabs, filters, infinite scroll ----------------------------------------

  function selectTab(source) {
    for (const tab of document.querySelectorAll("[role=tab]")) {
      const selected = tab.dataset.source === source;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) el.results.setAttribute("aria-labelledby", tab.id);
    }
    for (const part of document.querySelectorAll(".feed-only")) part.hidden = source !== "feed";
    for (const part of document.querySelectorAll(".library-only")) part.hidden = source !== "library";
  }

  function resetList(source) {
    list.source = source;
    list.type = el.type.value;
    list.tags = source === "feed" ? el.tags.value.trim() : "";
    list.next = null;
    list.done = false;
    list.loading = false;
    list.generation += 1;
    list.items.clear();
    el.grid.replaceChildren();
    el.empty.hidden = true;
    selectTab(source);
    loadMore();
  }

  async function loadMore() {
    if (list.loading || list.done) return;
    list.loading = true;
    const generation = list.generation;
    el.loading.hidden = false;
    el.loadMore.hidden = true;
    try {
      const page = list.source === "library" ? await libraryPage() : await feedPage();
      if (generation !== list.generation) return;
      for (const view of page.views) {
        if (list.items.has(view.id)) continue;
        list.items.set(view.id, view);
        el.grid.append(card(view));
        if (view.source === "library" && !FINAL.has(view.status)) poll(view.id);
      }
      list.next = page.next;
      list.done = page.done;
    } catch (error) {
      if (generation !== list.generation) return;
      list.done = true;
      fail(error);
    } finally {
      if (generation === list.generation) {
        list.loading = false;
        el.loading.hidden = true;
        el.loadMore.hidden = list.done;
        showEmpty();
        // a page that does not fill the screen leaves the sentinel in view, and the
        // observer only reports changes: ask for the next page ourselves
        if (!list.done && sentinelVisible()) loadMore();
      }
    }
  }

  async function libraryPage() {
    const offset = list.next || 0;
    const body = await call(withQuery(api.library, { limit: PAGE_SIZE, offset, type: list.type }));
    return { views: body.items.map(libraryView), next: offset + body.items.length,
             done: !body.has_more || body.items.length === 0 };
  }

  async function feedPage() {
    const body = await call(withQuery(api.feed, { limit: PAGE_SIZE, cursor: list.next,
                                                  type: list.type, tags: list.tags }));
    return { views: body.data.map(feedView), next: body.nextCursor, done: !body.nextCursor };
  }

  function showEmpty() {
    const none = list.done && el.grid.children.length === 0;
    el.empty.hidden = !none;
    if (!none) return;
    const filtered = list.type || list.tags;
    el.empty.textContent = list.source === "library"
      ? (filtered ? "No items of this type in your library."
                  : "Your library is empty. Drop images or videos above to upload them.")
      : (filtered ? "Nothing in the feed matches these filters." : "The feed is empty.");
  }

  function sentinelVisible() {
    const box = el.sentinel.getBoundingClientRect();
    return box.top < window.innerHeight + 400 && box.bottom >= 0 && !el.app.hidden;
  }

  async function loadTagSuggestions() {
    if (!api.tagCategories) return;
    try {
      const body = await call(api.tagCategories);
      const values = new Set();
      for (const category of body.categories || []) {
        for (const entry of category.values || []) values.add(entry.value);
      }
      el.tagValues.replaceChildren(...[...values].map((value) => node("option", { value })));
    } catch (_) { /* suggestions only: the filter works without them */ }
  }

  // -- processing state: poll an item until it is ready or failed -----------------------

  function poll(id, delay = POLL_FIRST_MS) {
    if (polling.has(id) && delay === POLL_FIRST_MS) return;
    polling.add(id);
    setTimeout(async () => {
      let item;
      try {
        item = (await call(urlFor(api.libraryItem, id))).item;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          polling.delete(id);
          removeCard("library", id);
          return;
        }
        poll(id, Math.min(delay * 1.5, POLL_MAX_MS));  // a network hiccup: keep trying
        return;
      }
      updateCard(libraryView(item));
      if (FINAL.has(item.status)) {
        polling.delete(id);
        if (detailKey === `library/${id}`) openDetail("library", id);
      } else {
        poll(id, Math.min(delay * 1.5, POLL_MAX_MS));
      }
    }, delay);
  }

  function updateCard(view) {
    if (list.source !== view.source) return;
    const old = el.grid.querySelector(`.card[data-id="${CSS.escape(view.id)}"]`);
    if (!old) return;
    list.items.set(view.id, view);
    old.replaceWith(card(view));
  }

  function removeCard(source, id) {
    if (list.source !== source) return;
    list.items.delete(id);
    const old = el.grid.querySelector(`.card[data-id="${CSS.escape(id)}"]`);
    if (old) old.remove();
    showEmpty();
  }

  // -- storage meter ------------------------------------------------------------------

  async function refreshUsage() {
    if (!api.usage) return;
    try {
      const usage = (await call(api.usage)).usage;
      el.meter.max = Math.max(usage.total_bytes, 1);
      el.meter.value = usage.used_bytes;
      el.meter.low = el.meter.max * 0.75;
      el.meter.high = el.meter.max * 0.9;
      const count = usage.item_count === 1 ? "1 item" : `${usage.item_count} items`;
      el.usageText.textContent =
        `${humanSize(usage.used_bytes)} of ${humanSize(usage.total_bytes)} used · ${count}`;
      el.meter.title = `${usage.used_percent}% used`;
      el.usage.hidden = false;
    } catch (error) {
      fail(error);
    }
  }

  // -- upload: drop zone and file input, XMLHttpRequest for its progress events ----------

  function upload(file) {
    const bar = node("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
    const state = node("span", { class: "upload-state", text: "Uploading…" });
    const row = node("li", { class: "upload-row" }, node("span", { text: file.name }), bar, state);
    el.uploads.prepend(row);

    const form = new FormData();
    form.append("file", file, file.name);
    form.append("source", el.source.value);
    const request = new XMLHttpRequest();
    request.open("POST", api.library);
    request.setRequestHeader("X-CSRFToken", config.csrfToken);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    };
    request.onload = () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch (_) { body = null; }
      if (request.status === 201 && body && body.item) {
        bar.value = 100;
        state.textContent = "Uploaded";
        added(libraryView(body.item));
      } else {
        const message = errorText(body, request.status);
        row.classList.add("failed");
        state.textContent = "Failed";
        say(`${file.name}: ${message}`);
      }
      refreshUsage();
    };
    request.onerror = () => {
      row.classList.add("failed");
      state.textContent = "Failed";
      say(`${file.name}: the upload did not reach the server.`);
    };
    request.send(form);
  }

  /** A new library item: first in the grid (if it matches what is shown), then polled. */
  function added(view) {
    if (list.source === "library" && (!list.type || list.type === view.type)
        && !list.items.has(view.id)) {
      list.items.set(view.id, view);
      el.grid.prepend(card(view));
      showEmpty();
      if (list.next !== null) list.next += 1;  // keep the offset of the next page right
    }
    if (!FINAL.has(view.status)) poll(view.id);
  }

  function uploadAll(files) {
    if (!api.library) return;
    if (list.source !== "library") location.hash = "library";
    for (const file of files) upload(file);
  }

  function setUpUpload() {
    let depth = 0;  // dragenter/dragleave fire for children too
    el.dropzone.addEventListener("dragenter", (event) => {
      event.preventDefault();
      depth += 1;
      el.dropzone.classList.add("dragging");
    });
    el.dropzone.addEventListener("dragover", (event) => {
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    });
    el.dropzone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) el.dropzone.classList.remove("dragging");
    });
    el.dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      el.dropzone.classList.remove("dragging");
      const files = event.dataTransfer ? [...event.dataTransfer.files] : [];
      if (files.length) uploadAll(files);
    });
    el.fileInput.addEventListener("change", () => {
      uploadAll([...el.fileInput.files]);
      el.fileInput.value = "";
    });
    // a file dropped beside the zone would otherwise replace the page with the file
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());
  }

  // -- detail: metadata, preview, similar items, delete ----------------------------------

  function metaRows(rows) {
    el.meta.replaceChildren();
    for (const [label, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      el.meta.append(node("dt", { text: label }), node("dd", { text: String(value) }));
    }
  }

  function previewOf(kind, source, poster, alt) {
    if (!source) return node("p", { class: "note", text: "No preview yet." });
    if (kind === "video") {
      return node("video", { src: source, poster, controls: true, preload: "metadata",
                             "aria-label": alt });
    }
    return node("img", { src: source, alt });
  }

  async function openDetail(source, id) {
    const key = `${source}/${id}`;
    detailKey = key;
    el.title.textContent = "Loading…";
    el.preview.replaceChildren();
    el.meta.replaceChildren();
    el.tagGroups.replaceChildren();
    el.similar.replaceChildren();
    el.similarNote.textContent = "Looking for similar items…";
    el.del.hidden = source !== "library";
    if (!el.dialog.open) el.dialog.showModal();
    try {
      if (source === "library") await showLibraryItem(id, key);
      else await showFeedItem(id, key);
    } catch (error) {
      if (detailKey !== key) return;
      el.title.textContent = "Not available";
      el.similarNote.textContent = "";
      el.del.hidden = true;
      fail(error);
    }
  }

  async function showLibraryItem(id, key) {
    const item = (await call(urlFor(api.libraryItem, id))).item;
    if (detailKey !== key) return;
    const view = libraryView(item);
    el.title.textContent = view.title;
    el.preview.append(previewOf(item.media_type,
      item.media_type === "video" ? item.signed_url : item.preview_url || item.signed_url,
      item.preview_url, view.alt));
    const dimensions = item.width && item.height ? `${item.width} × ${item.height} px` : null;
    const metadata = Object.entries(item.metadata || {})
      .filter(([, value]) => value !== null && typeof value !== "object")
      .map(([name, value]) => [name.replace(/_/g, " "), value]);
    metaRows([
      ["Status", item.status], ["Type", item.media_type], ["MIME type", item.mime_type],
      ["Size", humanSize(item.file_size)], ["Dimensions", dimensions],
      ["Duration", item.duration_seconds ? `${item.duration_seconds.toFixed(1)} s` : null],
      ["Source", item.source], ["Created", when(item.created_at)], ...metadata,
    ]);
    el.del.onclick = () => deleteItem(id);
    if (!api.librarySimilar) { el.similarNote.textContent = ""; return; }
    const similar = await call(withQuery(urlFor(api.librarySimilar, id), { limit: SIMILAR_LIMIT }));
    if (detailKey !== key) return;
    showSimilar(similar.items.map((entry) => [libraryView(entry), entry.similarity]),
      similar.embedding === "pending"
        ? "Similar items appear once this item has been analysed."
        : similar.embedding === "unavailable"
          ? "Similar items are not available for this item." : "No other items to compare with.");
  }

  async function showFeedItem(id, key) {
    const item = await call(urlFor(api.media, id));
    if (detailKey !== key) return;
    const view = feedView(item);
    el.title.textContent = view.title;
    el.preview.append(previewOf(item.media_type, item.media_type === "video"
      ? item.media_url : item.media_url || item.thumbnail_url, item.thumbnail_url, view.alt));
    metaRows([["Type", item.media_type], ["Title", item.title], ["Created", when(item.created_at)],
              ["Id", item.id]]);
    for (const [category, values] of Object.entries(item.tags || {})) {
      el.tagGroups.append(node("div", { class: "tag-group" },
        node("span", { class: "category", text: `${category}:` }),
        ...values.map((value) => node("span", { class: "tag", text: value }))));
    }
    const similar = await call(withQuery(urlFor(api.similar, id), { limit: SIMILAR_LIMIT }));
    if (detailKey !== key) return;
    showSimilar(similar.data.map((entry) => [feedView(entry), entry.similarity]),
                "No similar items: this item has no embedding.");
  }

  function showSimilar(pairs, whenNone) {
    el.similar.replaceChildren(...pairs.map(([view, similarity]) => card(view, similarity)));
    el.similarNote.textContent = pairs.length ? "" : whenNone;
  }

  async function deleteItem(id) {
    if (!window.confirm("Delete this item? The file is removed for good.")) return;
    el.del.disabled = true;
    try {
      await call(urlFor(api.libraryItem, id), { method: "DELETE" });
      polling.delete(id);
      removeCard("library", id);
      if (list.next) list.next -= 1;
      closeDetail();
      say("Deleted.", "info");
      refreshUsage();
    } catch (error) {
      fail(error);
    } finally {
      el.del.disabled = false;
    }
  }

  function closeDetail() {
    if (el.dialog.open) el.dialog.close();  // the close event puts the hash back
  }

  // -- the hash: which tab, which item ------------------------------------------------

  function parseHash() {
    const [source, ...rest] = location.hash.replace(/^#/, "").split("/");
    const known = source === "feed" && api.feed ? "feed" : "library";
    const id = rest.length ? decodeURIComponent(rest.join("/")) : null;
    return { source: known, id: id || null };
  }

  function route() {
    const { source, id } = parseHash();
    if (source !== list.source) resetList(source);
    if (id) {
      if (detailKey !== `${source}/${id}` || !el.dialog.open) openDetail(source, id);
    } else {
      detailKey = null;
      closeDetail();
    }
  }

  // -- start ---------------------------------------------------------------------------

  function start() {
    el.app.hidden = false;
    if (!api.feed) document.getElementById("tab-feed").hidden = true;
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.addEventListener("click", () => { location.hash = tab.dataset.source; });
      tab.addEventListener("keydown", (event) => {  // arrow keys move between tabs
        if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
        const tabs = [...document.querySelectorAll("[role=tab]:not([hidden])")];
        const next = tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : -1)
                           + tabs.length) % tabs.length];
        next.focus();
        next.click();
      });
    }
    el.filters.addEventListener("submit", (event) => {
      event.preventDefault();
      resetList(list.source);
    });
    el.type.addEventListener("change", () => resetList(list.source));
    el.loadMore.addEventListener("click", loadMore);
    if ("IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadMore();
      }, { rootMargin: "400px 0px" }).observe(el.sentinel);
    }
    el.dialog.addEventListener("close", () => {
      detailKey = null;
      if (parseHash().id) location.hash = list.source;
    });
    setUpUpload();
    window.addEventListener("hashchange", route);
    route();
    refreshUsage();
    loadTagSuggestions();
  }

  start();
})();
