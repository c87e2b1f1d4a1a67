// tfstyle's page: pick a photo and paintings, choose the settings (described by the server from
// StyleConfig's metadata, GET /api/settings), press Stylize, and watch each run over one event
// stream (GET /api/events). While that stream is open the server keeps this page's runs; when the
// page is closed they are cancelled. Where the server has instant styles (fast stylizers), a chosen
// one makes a picture at once (POST /api/fast) or is where a Stylize run starts from. Plain
// JavaScript, no libraries: the server may be offline.
"use strict";

const FINISHED = ["done", "stopped", "failed", "cancelled"];
const pageId = randomId();
const state = {
  settings: null,  // /api/settings: {default_preset, presets, controls, max_upload_bytes, instant_styles}
  instant: null,  // the chosen instant style's name
  making: false,  // an instant picture is being made
  photo: null,  // {id, name, width, height} once uploaded
  styles: [],  // [{id, name, weight: <input>, figure}]
  uploading: 0,
  inputs: new Map(),  // control name -> <input> or <select>
  cards: new Map(),  // run id -> card
};

function randomId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function api(path) {
  return `${path}${path.includes("?") ? "&" : "?"}page=${pageId}`;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

async function request(path, options = {}) {
  const response = await fetch(api(path), options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
  return body;
}

const postJson = (path, body) =>
  request(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});

function say(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle("error", isError);
}

// --- images ---------------------------------------------------------------------------------

async function upload(file, errorBox) {
  say(errorBox, "");
  const limit = state.settings ? state.settings.max_upload_bytes : Infinity;
  if (file.size > limit) {
    say(errorBox, `${file.name}: the file is larger than this server takes (${(limit / 1048576).toFixed(0)} MB at most)`, true);
    return null;
  }
  state.uploading += 1;
  updateButton();
  try {
    const type = file.type.startsWith("image/") ? file.type : "application/octet-stream";
    return await request("/api/images", {method: "POST", headers: {"Content-Type": type}, body: file});
  } catch (error) {
    say(errorBox, `${file.name}: ${error.message}`, true);
    return null;
  } finally {
    state.uploading -= 1;
    updateButton();
  }
}

function thumbnail(file, image, onRemove) {
  const url = URL.createObjectURL(file);
  const remove = el("button", {type: "button", class: "remove", title: "Remove", "aria-label": `Remove ${file.name}`, text: "×"});
  remove.addEventListener("click", onRemove);
  const figure = el("figure", {class: "thumb"},
    el("img", {src: url, alt: file.name}),
    el("figcaption", {text: `${file.name} · ${image.width}×${image.height}`}),
    remove);
  figure.dataset.url = url;
  return figure;
}

function drop(figure) {
  URL.revokeObjectURL(figure.dataset.url);
  figure.remove();
}

async function addPhoto(file) {
  const image = await upload(file, document.getElementById("photo-error"));
  if (!image) return;
  const box = document.getElementById("photo");
  box.querySelectorAll("figure").forEach(drop);
  const figure = thumbnail(file, image, () => { drop(figure); state.photo = null; updateButton(); });
  box.append(figure);
  state.photo = {id: image.id, name: file.name, width: image.width, height: image.height};
  updateButton();
}

async function addStyles(files) {
  for (const file of files) {
    const image = await upload(file, document.getElementById("style-error"));
    if (!image) continue;
    const weight = el("input", {type: "number", class: "weight", min: "0", step: "any", value: "1",
                                 "aria-label": `Weight of ${file.name}`});
    const style = {id: image.id, name: file.name, weight};
    const figure = thumbnail(file, image, () => {
      drop(figure);
      state.styles = state.styles.filter((s) => s !== style);
      updateStyles();
    });
    // A painting an instant style learned: alone, its run shows that style's picture at once.
    if (image.instant) figure.querySelector("figcaption").append(el("span", {class: "learned", text: " · instant preview"}));
    figure.append(el("label", {class: "weight-label"}, "weight ", weight));
    style.figure = figure;
    document.getElementById("styles").append(figure);
    state.styles.push(style);
  }
  updateStyles();
}

function updateStyles() {
  const several = state.styles.length > 1;
  document.getElementById("blend-hint").hidden = !several;
  for (const style of state.styles) style.figure.classList.toggle("blended", several);
  updateButton();
}

function dropZone(zone, input, take) {
  input.addEventListener("change", () => { take([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    take([...event.dataTransfer.files]);
  });
}

// --- settings -------------------------------------------------------------------------------

// Settings shown as a slider from subtle to strong rather than as their raw number: the slider
// moves the number on a log scale around the preset's value (10^-DECADES to 10^DECADES times it);
// the number itself stays under "details".
const SLIDERS = {style_weight: {decades: 2, low: "subtle", high: "strong"}};
const PRESET_SUMMARY = "Ready-made settings: “default” makes a clearly painted picture quickly; the others follow the papers.";

function more(text) {
  // The config's own help (formulas, papers' names), one click away from the plain summary.
  return el("details", {class: "more"}, el("summary", {text: "more"}), el("p", {text}));
}

function buildControls(settings) {
  const box = document.getElementById("controls");
  box.replaceChildren();
  const presetNote = el("p");
  const presetSelect = el("select", {id: "control-preset"},
    ...settings.presets.map((p) => el("option", {value: p.name, text: p.name})));
  presetSelect.value = settings.default_preset;
  box.append(el("div", {class: "control"}, el("label", {for: "control-preset", text: "Preset"}), presetSelect,
    el("p", {class: "help", text: PRESET_SUMMARY}),
    el("details", {class: "more"}, el("summary", {text: "more"}), presetNote)));
  state.inputs.set("preset", presetSelect);
  const sliders = [];

  for (const control of settings.controls) {
    const id = `control-${control.name}`;
    let input;
    if (control.kind === "choice") {
      input = el("select", {id}, ...control.choices.map((c) => el("option", {value: c, text: c || "off"})));
    } else {
      input = el("input", {id, type: "number", required: true, step: control.kind === "int" ? "1" : "any",
                           min: control.min ?? false, max: control.max ?? false});
    }
    state.inputs.set(control.name, input);
    const field = el("div", {class: "field"}, input);
    if (control.unit) field.append(el("span", {class: "unit", text: control.unit}));
    const help = [el("p", {class: "help", text: control.summary || control.help})];
    if (control.summary) help.push(more(control.help));
    if (SLIDERS[control.name]) {
      const slider = logSlider(control, input, SLIDERS[control.name]);
      sliders.push(slider);
      box.append(el("div", {class: "control"}, el("label", {for: slider.range.id, text: control.label}), slider.row,
        ...help, el("details", {class: "raw"}, el("summary", {text: "details"}), field, slider.note)));
    } else {
      box.append(el("div", {class: "control"}, el("label", {for: id, text: control.label}), field, ...help));
    }
  }

  const usePreset = () => {
    const preset = settings.presets.find((p) => p.name === presetSelect.value);
    presetNote.textContent = `${preset.name}: ${preset.note}`;
    for (const [name, value] of Object.entries(preset.values)) state.inputs.get(name).value = value;
    for (const slider of sliders) slider.reset(preset.values[slider.name]);
  };
  presetSelect.addEventListener("change", usePreset);
  usePreset();
}

function logSlider(control, number, {decades, low, high}) {
  // A range input from -decades to +decades: the number is the preset's value times 10^position.
  const range = el("input", {id: `${number.id}-slider`, type: "range", min: -decades, max: decades, step: "0.05",
                             value: "0", "aria-valuetext": "as the preset"});
  const note = el("p", {class: "hint"});
  let base = 1;
  const describe = () => {
    const factor = Number(number.value) / base;
    const words = !(factor > 0) ? "none" : Math.abs(Math.log10(factor)) < 0.01 ? "the preset's" :
      factor > 1 ? `${factor.toPrecision(2)}× the preset's` : `1/${(1 / factor).toPrecision(2)} of the preset's`;
    note.textContent = `${control.label.toLowerCase()} b = ${Number(number.value).toPrecision(3)}: ${words}`;
    range.setAttribute("aria-valuetext", words);
  };
  range.addEventListener("input", () => {
    number.value = Number((base * 10 ** Number(range.value)).toPrecision(3));
    describe();
  });
  number.addEventListener("input", () => {
    const position = Number(number.value) > 0 ? Math.log10(Number(number.value) / base) : -decades;
    range.value = String(Math.max(-decades, Math.min(decades, position)));
    describe();
  });
  const row = el("div", {class: "slider"}, el("span", {class: "end", text: low}), range, el("span", {class: "end", text: high}));
  return {name: control.name, range, row, note, reset: (value) => { base = value > 0 ? value : 1; range.value = "0"; describe(); }};
}

function readSettings() {
  const settings = {};
  for (const [name, input] of state.inputs) {
    if (!input.checkValidity()) {
      input.reportValidity();
      return null;
    }
    const control = state.settings.controls.find((c) => c.name === name);
    settings[name] = !control || control.kind === "choice" ? input.value : Number(input.value);
  }
  return settings;
}

// --- instant styles -------------------------------------------------------------------------

function buildInstant(styles) {
  // No instant styles on this server: the section and its button stay hidden, the page as without them.
  if (!styles || !styles.length) return;
  const row = document.getElementById("instant-styles");
  for (const style of styles) {
    const picture = style.thumbnail ? el("img", {src: style.thumbnail, alt: ""})
      : el("span", {class: "initial", "aria-hidden": "true", text: style.label.charAt(0)});
    const tile = el("button", {type: "button", class: "instant-style", "aria-pressed": "false", "data-model": style.name},
      picture, el("span", {class: "label", text: style.label}));
    tile.addEventListener("click", () => chooseInstant(state.instant === style.name ? null : style.name));
    row.append(tile);
  }
  document.getElementById("instant").hidden = false;
  document.getElementById("instant-go").hidden = false;
}

function chooseInstant(name) {
  // One style at a time; pressing the chosen one again un-chooses it.
  state.instant = name;
  for (const tile of document.querySelectorAll(".instant-style")) tile.setAttribute("aria-pressed", String(tile.dataset.model === name));
  document.getElementById("instant-start-label").hidden = !name;
  updateButton();
}

async function instantPicture() {
  const status = document.getElementById("status");
  const size = state.inputs.get("image_size");
  if (!size.checkValidity()) {
    size.reportValidity();
    return;
  }
  say(status, "");
  state.making = true;
  updateButton();
  try {
    // Made beside the queue: it never waits for a Stylize run.
    const run = await postJson("/api/fast", {content: state.photo.id, model: state.instant, image_size: Number(size.value)});
    card(run, [state.photo.name, `${run.instant.label} (instant)`], state.photo);
    update(run);
  } catch (error) {
    say(status, error.message, true);
  } finally {
    state.making = false;
    updateButton();
  }
}

// --- runs -----------------------------------------------------------------------------------

function updateButton() {
  const ready = state.settings && state.photo && state.uploading === 0;
  document.getElementById("stylize").disabled = !ready || state.styles.length === 0;
  document.getElementById("instant-go").disabled = !ready || !state.instant || state.making;
}

async function stylize() {
  const status = document.getElementById("status");
  const settings = readSettings();
  if (!settings) return;
  const weights = state.styles.map((s) => Number(s.weight.value));
  // Start from the chosen instant style's picture, when asked (else the server shows it first only
  // where that style learned the painting).
  const fromInstant = state.instant && document.getElementById("instant-start").checked;
  say(status, "");
  try {
    // kind "image": the one job there is; a video job (when tfstyle has a video command) would send its own
    // kind here, with its own inputs, and show its progress in the same cards (tfstyle/webpage/runs.py JOBS).
    const run = await postJson("/api/runs", {
      kind: "image",
      content: state.photo.id,
      styles: state.styles.map((s, i) => ({image: s.id, weight: weights[i]})),
      settings,
      instant: fromInstant ? {model: state.instant, start: true} : null,
    });
    const names = [state.photo.name, ...state.styles.map((s, i) => state.styles.length > 1 ? `${s.name} ×${weights[i]}` : s.name)];
    card(run, names, state.photo);
    update(run);
  } catch (error) {
    say(status, error.message, true);
  }
}

function card(run, names = null, photo = null) {
  let card = state.cards.get(run.id);
  if (card) {
    if (names) {
      card.article.querySelector(".names").textContent = names.join(" + ");
      card.article.querySelector(".summary").textContent = summary(run);
    }
    return card;
  }
  const picture = el("img", {class: "picture", alt: `Result ${run.number}`});
  const placeholder = el("p", {class: "placeholder"});
  const frame = el("div", {class: "frame"}, picture, placeholder);
  // Until there is a picture, the frame has the photo's shape, so the card does not jump when it comes.
  if (photo && photo.width && photo.height) frame.style.aspectRatio = `${photo.width} / ${photo.height}`;
  const stop = el("button", {type: "button", class: "stop", text: "Stop"});
  const download = el("a", {class: "download button", hidden: true, text: "Download PNG"});
  const article = el("article", {class: "run", id: `run-${run.id}`},
    el("header", {}, el("h3", {text: `Result ${run.number}`}), el("span", {class: "state"})),
    frame,
    el("progress", {max: run.iterations, value: 0}),
    el("p", {class: "numbers"}),
    el("p", {class: "names", text: names ? names.join(" + ") : ""}),
    el("p", {class: "instant-note"}),
    el("details", {class: "details"}, el("summary", {text: "details"}),
      el("p", {class: "losses"}), el("p", {class: "summary", text: summary(run)})),
    el("div", {class: "buttons"}, stop, download));
  article.dataset.previews = "0";
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try { update(await postJson(`/api/runs/${run.id}/stop`, {})); } catch (error) { say(article.querySelector(".state"), error.message, true); }
  });
  card = {article, frame, picture, placeholder, stop, download, previews: 0, instant: false, result: false, previewUrl: null};
  state.cards.set(run.id, card);
  document.getElementById("runs").prepend(article);
  document.getElementById("no-results").hidden = true;
  return card;
}

function summary(run) {
  const settings = run.settings;
  if (run.kind === "fast") return `instant style ${run.instant.label} · output size ${settings.image_size} px`;
  const parts = [`preset ${settings.preset}`];
  for (const control of state.settings.controls) {
    let value = settings[control.name];
    if (value === null || value === "") value = "off";
    parts.push(`${control.label.toLowerCase()} ${value}${control.unit === "pixels" ? " px" : ""}`);
  }
  return parts.join(" · ");
}

function ordinal(n) {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : {1: "st", 2: "nd", 3: "rd"}[n % 10] || "th";
  return `${n}${suffix}`;
}

function duration(seconds) {
  return seconds < 90 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;
}

function stateText(run) {
  switch (run.state) {
    case "queued": return `waiting: ${ordinal(run.position)} in the queue`;
    case "running": return run.stopping ? "stopping…" : run.iteration ? "painting…" : "starting (preparing the network)…";
    case "done": return run.kind === "fast" ? `instant: ${run.seconds.toFixed(2)} s` : `done in ${duration(run.seconds)}`;
    default: return `${run.state}${run.message ? ": " + run.message : ""}`;
  }
}

function waitingText(run) {
  // What the frame says while it has no picture yet.
  switch (run.state) {
    case "queued": return run.position > 1
      ? `Waiting for its turn: ${run.position - 1} ${run.position > 2 ? "runs go" : "run goes"} first.`
      : "Waiting for its turn: it starts when the run before it is done.";
    case "running": return run.stopping ? "Stopping…" : "Starting: preparing the network…";
    default: return "";  // a run that ended without a picture shows only its message (style.css)
  }
}

function update(run) {
  const c = card(run);
  const article = c.article;
  article.dataset.state = run.state;
  article.dataset.kind = run.kind;
  article.querySelector(".instant-note").textContent = instantNote(run);
  say(article.querySelector(".state"), stateText(run), run.state === "failed");
  c.placeholder.textContent = waitingText(run);
  const bar = article.querySelector("progress");
  bar.max = run.iterations;
  bar.value = run.iteration;
  const numbers = [`iteration ${run.iteration} of ${run.iterations}`];
  if (run.seconds_left !== null) numbers.push(`about ${duration(run.seconds_left)} left`);
  article.querySelector(".numbers").textContent = run.iteration ? numbers.join(" · ") : "";
  const losses = Object.entries(run.losses).map(([name, value]) => `${name} ${value.toPrecision(3)}`);
  article.querySelector(".losses").textContent = losses.length ? `losses: ${losses.join(" · ")}` : "";
  c.stop.hidden = FINISHED.includes(run.state);
  if (run.result && !c.result) {
    c.result = true;
    const url = api(`/api/runs/${run.id}/result.png`);
    c.picture.onload = () => { article.dataset.shown = "result"; };
    c.picture.src = url;
    c.picture.dataset.kind = "result";
    c.frame.style.aspectRatio = "";
    c.download.href = url;
    c.download.download = `tfstyle-${run.number}.png`;
    c.download.hidden = false;
    if (c.previewUrl) URL.revokeObjectURL(c.previewUrl);
  } else if (!c.result && run.previews > c.previews) {
    c.previews = run.previews;
    showPreview(run, c);
  } else if (!c.result && !c.previews && run.instant && !c.instant) {
    c.instant = true;
    showPicture(run, c, `/api/runs/${run.id}/instant.jpg`, "instant");
  }
}

function instantNote(run) {
  if (!run.instant || run.kind === "fast") return "";
  return run.instant.start
    ? `Started from the instant picture of ${run.instant.label}; each step refines it.`
    : `Shown first: the instant picture of ${run.instant.label}, until the painting forms from your photo.`;
}

function showPreview(run, c) {
  return showPicture(run, c, `/api/runs/${run.id}/preview?v=${run.previews}`, "preview");
}

async function showPicture(run, c, path, kind) {
  // Fetched as a blob and swapped in when it has arrived, so the picture never blanks between previews.
  const response = await fetch(api(path));
  if (!response.ok || c.result || (kind === "instant" && c.previews)) return;
  const url = URL.createObjectURL(await response.blob());
  if (c.result || (kind === "instant" && c.previews)) { URL.revokeObjectURL(url); return; }
  const count = kind === "preview" ? "previews" : "instants";
  c.picture.onload = () => { c.article.dataset[count] = String(Number(c.article.dataset[count] || 0) + 1); };
  c.picture.src = url;
  c.picture.dataset.kind = kind;
  c.frame.style.aspectRatio = "";
  if (c.previewUrl) URL.revokeObjectURL(c.previewUrl);
  c.previewUrl = url;
}

function listen() {
  const status = document.getElementById("status");
  const source = new EventSource(api("/api/events"));
  source.onopen = () => { if (status.dataset.lost) { say(status, ""); delete status.dataset.lost; } };
  source.onerror = () => { status.dataset.lost = "1"; say(status, "lost the connection to the server; trying again…", true); };
  source.onmessage = (event) => {
    const view = JSON.parse(event.data);
    for (const run of view.runs) update(run);
    const queue = document.getElementById("queue");
    queue.textContent = view.busy ? `the server is busy${view.waiting ? `, ${view.waiting} waiting` : ""}` : "";
  };
}

async function start() {
  dropZone(document.getElementById("photo-drop"), document.getElementById("photo-input"), (files) => files[0] && addPhoto(files[0]));
  dropZone(document.getElementById("style-drop"), document.getElementById("style-input"), addStyles);
  document.getElementById("stylize").addEventListener("click", stylize);
  document.getElementById("instant-go").addEventListener("click", instantPicture);
  listen();
  try {
    state.settings = await request("/api/settings");
    buildControls(state.settings);
    buildInstant(state.settings.instant_styles);
  } catch (error) {
    say(document.getElementById("controls"), `could not load the settings: ${error.message}`, true);
  }
  updateButton();
}

start();
