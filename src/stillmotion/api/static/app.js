// The page's behaviour: key, image intake, create, progress, result and history. No framework, no build step.
"use strict";

(() => {
  const GENERATION_PATH = "/v2/generate/video/minimax/generation";
  const HISTORY_PATH = "/v1/videos";
  const HISTORY_PAGE = 20;
  const KEY_STORAGE = "stillmotion.apiKey";
  const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
  const POLL_MS = 1000;
  const RETRY_MS = 2000;

  const $ = (id) => document.getElementById(id);
  const el = {
    keyForm: $("key-form"), keyInput: $("api-key"), forgetKey: $("forget-key"), keyState: $("key-state"),
    createForm: $("create-form"), dropZone: $("drop-zone"), fileInput: $("image-file"), preview: $("preview"),
    imageName: $("image-name"), imageError: $("image-error"), model: $("model"), prompt: $("prompt"),
    optimizer: $("prompt-optimizer"), loop: $("loop"), duration: $("duration"), fps: $("fps"), seed: $("seed"),
    generate: $("generate"), formError: $("form-error"),
    resultEmpty: $("result-empty"), progressBox: $("progress-box"), progress: $("progress"),
    progressText: $("progress-text"), elapsed: $("elapsed"), cancel: $("cancel"), resultError: $("result-error"),
    player: $("player"), video: $("video"), caption: $("video-caption"), download: $("download"),
    runFacts: $("run-facts"), took: $("took"), seedBox: $("seed-box"), seedUsed: $("seed-used"),
    useSeed: $("use-seed"),
    plan: $("plan"), planDrawn: $("plan-drawn"), planMissed: $("plan-missed"), planNotes: $("plan-notes"),
    historyList: $("history-list"), historyState: $("history-state"), loadMore: $("load-more"),
    refreshHistory: $("refresh-history"),
  };

  // ---- small helpers -------------------------------------------------------------------------------------

  function show(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  function storedKey() {
    try {
      return localStorage.getItem(KEY_STORAGE) || "";
    } catch (_) {
      return ""; // storage disabled: the key then lives in the input only
    }
  }

  function currentKey() {
    return el.keyInput.value.trim() || storedKey();
  }

  function errorMessage(body, status) {
    if (body && typeof body === "object") {
      if (typeof body.message === "string" && body.message) return body.message;
      if (body.error && typeof body.error.message === "string") return body.error.message;
      if (body.base_resp && typeof body.base_resp.status_msg === "string") return body.base_resp.status_msg;
    }
    return `the server answered HTTP ${status}`;
  }

  // One request with the key; never throws: network failures come back as status 0.
  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${currentKey()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      return { ok: false, status: 0, body: null, message: "the server cannot be reached" };
    }
    let parsed = null;
    try {
      parsed = await response.json();
    } catch (_) {
      parsed = null;
    }
    return {
      ok: response.ok, status: response.status, body: parsed,
      message: response.ok ? "" : errorMessage(parsed, response.status),
    };
  }

  function formatBytes(bytes) {
    return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
  }

  // ---- API key -------------------------------------------------------------------------------------------

  function renderKeyState() {
    const saved = storedKey();
    el.forgetKey.hidden = !saved;
    el.keyState.textContent = saved ? "A key is saved in this browser." : "No key saved yet.";
  }

  function saveKey(key) {
    try {
      localStorage.setItem(KEY_STORAGE, key);
    } catch (_) {
      // private mode without storage: keep working with the key in the input
    }
    renderKeyState();
  }

  el.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = el.keyInput.value.trim();
    if (!key) {
      el.keyState.textContent = "Enter a key first.";
      el.keyInput.focus();
      return;
    }
    saveKey(key);
    loadHistory(true);
  });

  el.forgetKey.addEventListener("click", () => {
    try {
      localStorage.removeItem(KEY_STORAGE);
    } catch (_) {
      // nothing stored
    }
    el.keyInput.value = "";
    renderKeyState();
    el.historyList.replaceChildren();
    el.loadMore.hidden = true;
    el.historyState.textContent = "Enter a key to see past generations.";
    el.keyInput.focus();
  });

  // ---- image intake --------------------------------------------------------------------------------------

  // The chosen first frame: `dataUri` once read, `problem` when it breaks a rule (then no submit).
  const image = { dataUri: null, problem: null, objectUrl: null };

  async function sniffType(file) {
    const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    if (head.length >= 8 && png.every((byte, i) => head[i] === byte)) return "image/png";
    if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
    return null;
  }

  function readDataUri(file, mime) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => {
        const text = String(reader.result);
        // The browser labels the data by the file name; the bytes decide, as on the server.
        resolve(`data:${mime};base64,${text.slice(text.indexOf(",") + 1)}`);
      };
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  function clearImage(problem) {
    if (image.objectUrl) URL.revokeObjectURL(image.objectUrl);
    image.dataUri = null;
    image.objectUrl = null;
    image.problem = problem;
    el.preview.hidden = true;
    el.preview.removeAttribute("src");
    el.dropZone.classList.remove("has-image");
    show(el.imageError, problem);
  }

  async function acceptFile(file) {
    show(el.formError, "");
    const name = file.name || "pasted image";
    el.imageName.textContent = `${name} · ${formatBytes(file.size)}`;
    if (file.size > MAX_IMAGE_BYTES) {
      clearImage(`${name} is ${formatBytes(file.size)}; the image must be at most 20 MB.`);
      return;
    }
    const mime = await sniffType(file);
    if (!mime) {
      clearImage(`${name} is not a JPG or PNG image; only JPG and PNG are accepted.`);
      return;
    }
    clearImage(null);
    image.objectUrl = URL.createObjectURL(file);
    el.preview.src = image.objectUrl;
    el.preview.hidden = false;
    el.dropZone.classList.add("has-image");
    try {
      image.dataUri = await readDataUri(file, mime);
    } catch (_) {
      clearImage(`${name} could not be read.`);
    }
  }

  // The server's size rules, checked as soon as the preview knows the picture's size.
  el.preview.addEventListener("load", () => {
    const width = el.preview.naturalWidth;
    const height = el.preview.naturalHeight;
    const ratio = width / height;
    let problem = null;
    if (Math.min(width, height) <= 300) {
      problem = `The image is ${width}×${height}; its shorter side must be over 300 px.`;
    } else if (ratio <= 2 / 5 || ratio >= 5 / 2) {
      problem = `The image's aspect ratio ${ratio.toFixed(2)} is outside 2:5 .. 5:2.`;
    }
    image.problem = problem;
    show(el.imageError, problem);
    el.imageName.textContent += ` · ${width}×${height}`;
  });

  el.preview.addEventListener("error", () => {
    if (el.preview.getAttribute("src")) clearImage("The browser cannot decode this image.");
  });

  el.fileInput.addEventListener("change", () => {
    const file = el.fileInput.files && el.fileInput.files[0];
    if (file) acceptFile(file);
  });

  el.dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    el.dropZone.classList.add("dragging");
  });
  el.dropZone.addEventListener("dragleave", () => el.dropZone.classList.remove("dragging"));
  el.dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    el.dropZone.classList.remove("dragging");
    const file = event.dataTransfer.files && event.dataTransfer.files[0];
    if (file) acceptFile(file);
  });
  // A drop that misses the zone must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  document.addEventListener("paste", (event) => {
    const items = event.clipboardData ? Array.from(event.clipboardData.items) : [];
    const item = items.find((entry) => entry.kind === "file" && entry.type.startsWith("image/"));
    if (!item) return; // text pastes go where they were going
    const file = item.getAsFile();
    if (!file) return;
    event.preventDefault();
    acceptFile(file);
  });

  // ---- create --------------------------------------------------------------------------------------------

  // The optional number fields: the body's key, the input (its min and max are the server's bounds), whether it
  // takes whole numbers only, and the rule a bad value breaks, naming the field.
  const NUMBER_FIELDS = [
    { key: "duration", input: el.duration, whole: false,
      rule: (min, max) => `Duration must be a number of seconds from ${min} to ${max}.` },
    { key: "fps", input: el.fps, whole: true,
      rule: (min, max) => `Frame rate (fps) must be a whole number of frames per second from ${min} to ${max}.` },
    { key: "seed", input: el.seed, whole: true,
      rule: (min, max) => `Seed must be a whole number from ${min} to ${max}.` },
  ];

  // One number field: `value` (undefined when left empty: the server's default applies) or `problem`.
  function readNumber({ input, whole, rule }) {
    const min = Number(input.min);
    const max = Number(input.max);
    const refused = { problem: rule(min, max), field: input };
    if (input.validity.badInput) return refused; // typed, but not a number: the browser reports the value as ""
    const text = input.value.trim();
    if (text === "") return { value: undefined };
    const value = Number(text);
    const fits = (whole ? Number.isInteger(value) : Number.isFinite(value)) && value >= min && value <= max;
    return fits ? { value } : refused;
  }

  function readOptions() {
    const options = { loop: el.loop.checked };
    for (const field of NUMBER_FIELDS) {
      const read = readNumber(field);
      if (read.problem) return read;
      if (read.value !== undefined) options[field.key] = read.value;
    }
    return { options };
  }

  el.createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(el.formError, "");
    const fail = (message, field) => {
      show(el.formError, message);
      if (field) field.focus();
    };
    const key = currentKey();
    if (!key) return fail("Enter your API key first.", el.keyInput);
    if (key !== storedKey()) saveKey(key);
    if (image.problem) return fail(image.problem, el.fileInput);
    if (!image.dataUri) return fail("Choose a first-frame image (JPG or PNG).", el.fileInput);
    const prompt = el.prompt.value;
    if (!prompt.trim()) return fail("Write a prompt: what should happen in the video?", el.prompt);
    const read = readOptions();
    if (read.problem) return fail(read.problem, read.field);

    const body = {
      model: el.model.value,
      prompt,
      prompt_optimizer: el.optimizer.checked,
      first_frame_image: image.dataUri,
      ...read.options,
    };
    el.generate.disabled = true;
    el.generate.textContent = "Sending…";
    const created = await api("POST", GENERATION_PATH, body);
    el.generate.disabled = false;
    el.generate.textContent = "Generate video";
    if (!created.ok) return fail(created.message);
    watch(created.body.generation_id, prompt);
    loadHistory(true);
  });

  // ---- progress and result -------------------------------------------------------------------------------

  // Only the latest watched generation may touch the result panel; older polls see a changed token and stop.
  let watchToken = 0;
  let watchTimer = null;
  let watchedId = null;
  let watchedPrompt = "";

  // The shown generation's run: when it started and ended (ms since the epoch: the server's times where a history
  // entry gave them, else this page's clock from when it started watching), and the timer showing the time elapsed.
  const run = { startedMs: null, finishedMs: null, timer: null };

  // m:ss of a span in milliseconds (past an hour the minutes go on counting).
  function formatSpan(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function startClock(startedMs) {
    stopClock();
    run.startedMs = startedMs;
    run.finishedMs = null;
    const tick = () => show(el.elapsed, `Elapsed ${formatSpan(Date.now() - run.startedMs)}`);
    tick();
    run.timer = setInterval(tick, 1000);
  }

  // Stops the elapsed time; a clock that was running notes the end (when this page saw the generation finish).
  function stopClock() {
    if (!run.timer) return;
    clearInterval(run.timer);
    run.timer = null;
    run.finishedMs = Date.now();
  }

  function stopWatching() {
    watchToken += 1;
    if (watchTimer) clearTimeout(watchTimer);
    watchTimer = null;
    stopClock();
  }

  function resetResult(id, prompt, times) {
    watchedId = id;
    watchedPrompt = prompt || "";
    run.startedMs = times ? times.startedMs : null;
    run.finishedMs = times ? times.finishedMs : null;
    el.resultEmpty.hidden = true;
    show(el.resultError, "");
    el.player.hidden = true;
    el.video.removeAttribute("src");
    el.video.load();
    el.progressBox.hidden = true;
    show(el.elapsed, "");
    el.runFacts.hidden = true;
    el.plan.hidden = true;
    markCurrentHistoryItem();
  }

  function listItems(list, lines) {
    list.replaceChildren(...lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
  }

  // What the engine drew and what it could not (the `motion_plan` extension), under the video.
  function renderPlan(plan) {
    if (!plan || !Array.isArray(plan.tracks)) {
      el.plan.hidden = true;
      return;
    }
    const drawn = [];
    for (const track of plan.tracks) {
      const name = `${track.part} ${track.action}${track.direction ? " " + track.direction : ""}`;
      const added = track.source && track.source !== "prompt" ? ` (added: ${track.source})` : "";
      const line = name + added;
      if (!drawn.includes(line)) drawn.push(line);
    }
    listItems(el.planDrawn, drawn.length ? drawn : ["nothing: a still clip"]);
    const notes = Array.isArray(plan.notes) ? plan.notes.map(String) : [];
    listItems(el.planNotes, notes);
    el.planMissed.hidden = notes.length === 0;
    el.plan.hidden = false;
  }

  // How long it took (when both ends are known) and the seed it was rendered with (the `seed` extension), with a
  // button that puts that seed in the form, so that a liked clip can be made again.
  function renderRunFacts(seed) {
    const timed = run.startedMs !== null && run.finishedMs !== null;
    show(el.took, timed ? `Took ${formatSpan(run.finishedMs - run.startedMs)}` : "");
    const known = Number.isInteger(seed);
    el.seedUsed.textContent = known ? `Seed ${seed}` : "";
    el.useSeed.dataset.seed = known ? String(seed) : "";
    el.seedBox.hidden = !known;
    el.runFacts.hidden = !timed && !known;
  }

  el.useSeed.addEventListener("click", () => {
    el.seed.value = el.useSeed.dataset.seed;
    el.seed.focus();
  });

  function renderProgress(generation) {
    el.progressBox.hidden = false;
    el.cancel.disabled = false;
    const status = generation.status || "queued";
    const percent = Number.isInteger(generation.progress) ? Math.max(0, Math.min(100, generation.progress)) : null;
    if (percent === null) {
      el.progress.removeAttribute("value"); // indeterminate: the server does not report progress
      el.progressText.textContent = status;
    } else {
      el.progress.value = percent;
      el.progressText.textContent = `${status} · ${percent}%`;
    }
  }

  function showVideo(id, url) {
    el.progressBox.hidden = true;
    el.video.src = url;
    el.download.href = url;
    el.download.setAttribute("download", `stillmotion-${id}.mp4`);
    el.caption.textContent = watchedPrompt || `Generation ${id}`;
    el.player.hidden = false;
    const playing = el.video.play();
    if (playing && playing.catch) playing.catch(() => { /* autoplay refused: the controls remain */ });
  }

  // Show one generation's state; returns true when it is final.
  function renderGeneration(id, generation) {
    if (generation.status === "completed") {
      stopClock();
      renderRunFacts(generation.seed);
      renderPlan(generation.motion_plan);
      if (generation.video && generation.video.url) {
        showVideo(id, generation.video.url);
      } else {
        el.progressBox.hidden = true;
        show(el.resultError, "The generation completed but its video is no longer available.");
      }
      return true;
    }
    if (generation.status === "error") {
      stopClock();
      el.progressBox.hidden = true;
      const error = generation.error || {};
      const reason = error.message || error.name || "the generation failed";
      show(el.resultError, error.name === "cancelled" ? "Cancelled." : `Failed: ${reason}`);
      return true;
    }
    renderProgress(generation);
    return false;
  }

  // Polls a generation until it is final; `startedMs` is when it started (default: now, as this page sees it).
  function watch(id, prompt, startedMs) {
    stopWatching();
    resetResult(id, prompt);
    const token = watchToken;
    startClock(startedMs ?? Date.now());
    renderProgress({ status: "queued" });

    const poll = async () => {
      const polled = await api("GET", `${GENERATION_PATH}?generation_id=${encodeURIComponent(id)}`);
      if (token !== watchToken) return;
      if (!polled.ok) {
        if (polled.status === 0 || polled.status >= 500 || polled.status === 429) {
          el.progressText.textContent = `waiting for the server (${polled.message})…`;
          watchTimer = setTimeout(poll, RETRY_MS);
          return;
        }
        stopClock();
        el.progressBox.hidden = true;
        show(el.resultError, polled.message);
        return;
      }
      if (renderGeneration(id, polled.body)) {
        watchTimer = null;
        loadHistory(true);
        return;
      }
      watchTimer = setTimeout(poll, POLL_MS);
    };
    poll();
  }

  el.cancel.addEventListener("click", async () => {
    if (!watchedId) return;
    el.cancel.disabled = true;
    const answer = await api("DELETE", `${GENERATION_PATH}?generation_id=${encodeURIComponent(watchedId)}`);
    if (!answer.ok) {
      el.cancel.disabled = false;
      show(el.resultError, `Cancel failed: ${answer.message}`);
      return;
    }
    el.progressText.textContent = "cancelling…"; // the next poll shows the final state
  });

  // ---- history -------------------------------------------------------------------------------------------

  const history = { lastId: null, loading: false };

  function jobIdOf(videoId) {
    return String(videoId).replace(/^video_/, "");
  }

  function formatTime(value) {
    if (value === undefined || value === null) return "";
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
  }

  // A history entry's times as the server recorded them (Unix seconds), in ms; null where not (yet) known.
  function serverTimes(video) {
    const ms = (seconds) => (Number.isFinite(seconds) ? seconds * 1000 : null);
    return { startedMs: ms(video.created_at), finishedMs: ms(video.completed_at) };
  }

  function markCurrentHistoryItem() {
    for (const button of el.historyList.querySelectorAll("button[data-job-id]")) {
      if (button.dataset.jobId === watchedId) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  // A finished video's first frame, fetched with the key (an <img src> cannot send it), as a blob: URL.
  async function thumbnailUrl(videoId) {
    let response;
    try {
      response = await fetch(`${HISTORY_PATH}/${encodeURIComponent(videoId)}/content?variant=thumbnail`, {
        headers: { Authorization: `Bearer ${currentKey()}` },
      });
    } catch (_) {
      return null;
    }
    return response.ok ? URL.createObjectURL(await response.blob()) : null;
  }

  // Deletes a video and its input for good, after asking; the history and, if it is shown, the result forget it.
  async function deleteVideo(video, item) {
    const id = jobIdOf(video.id);
    const name = video.prompt ? `"${video.prompt}"` : `generation ${id}`;
    if (!window.confirm(`Delete ${name}? Its video and input image are removed for good.`)) return;
    const deleted = await api("DELETE", `${HISTORY_PATH}/${encodeURIComponent(video.id)}`);
    if (!deleted.ok) {
      el.historyState.textContent = `Not deleted: ${deleted.message}`;
      return;
    }
    if (watchedId === id) {
      stopWatching();
      resetResult(null, "");
      el.resultEmpty.hidden = false;
    }
    const thumb = item.querySelector("img");
    if (thumb && thumb.src.startsWith("blob:")) URL.revokeObjectURL(thumb.src);
    item.remove();
    el.historyState.textContent = el.historyList.children.length ? "" : "No generations yet.";
  }

  function historyItem(video) {
    const id = jobIdOf(video.id);
    const item = document.createElement("li");
    item.className = "history-entry";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "history-item";
    button.dataset.jobId = id;
    const prompt = document.createElement("span");
    prompt.className = "history-prompt";
    prompt.textContent = video.prompt || `Generation ${id}`;
    const meta = document.createElement("span");
    meta.className = "history-meta";
    const badge = document.createElement("span");
    badge.className = `badge status-${video.status}`;
    badge.textContent = video.status === "in_progress" && Number.isInteger(video.progress)
      ? `in progress · ${video.progress}%`
      : String(video.status || "").replace("_", " ");
    const when = document.createElement("time");
    when.textContent = formatTime(video.created_at);
    meta.append(badge, when);
    if (video.status === "completed") {
      const thumb = document.createElement("img");
      thumb.className = "history-thumb";
      thumb.alt = "";
      thumb.hidden = true;
      button.append(thumb);
      thumbnailUrl(video.id).then((url) => {
        if (!url) return;
        thumb.src = url;
        thumb.hidden = false;
      });
    }
    button.append(prompt, meta);
    button.addEventListener("click", () => openJob(id, video.prompt, serverTimes(video)));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary small history-delete";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${video.prompt || `generation ${id}`}`);
    remove.addEventListener("click", () => deleteVideo(video, item));
    item.append(button, remove);
    return item;
  }

  async function loadHistory(reset) {
    if (history.loading || !currentKey()) return;
    history.loading = true;
    const after = reset ? null : history.lastId;
    const query = `limit=${HISTORY_PAGE}${after ? `&after=${encodeURIComponent(after)}` : ""}`;
    el.historyState.textContent = "Loading…";
    const listed = await api("GET", `${HISTORY_PATH}?${query}`);
    history.loading = false;
    if (!listed.ok) {
      el.historyState.textContent = `Past generations cannot be listed: ${listed.message}`;
      return;
    }
    const videos = Array.isArray(listed.body && listed.body.data) ? listed.body.data : [];
    if (reset) el.historyList.replaceChildren();
    el.historyList.append(...videos.map(historyItem));
    history.lastId = listed.body.last_id || (videos.length ? videos[videos.length - 1].id : history.lastId);
    el.loadMore.hidden = !listed.body.has_more;
    el.historyState.textContent = el.historyList.children.length ? "" : "No generations yet.";
    markCurrentHistoryItem();
  }

  // Shows a history entry's generation; `times` are the server's (`serverTimes`).
  async function openJob(id, prompt, times) {
    stopWatching();
    resetResult(id, prompt, times);
    const token = watchToken;
    el.progressBox.hidden = false;
    el.progress.removeAttribute("value");
    el.progressText.textContent = "loading…";
    const polled = await api("GET", `${GENERATION_PATH}?generation_id=${encodeURIComponent(id)}`);
    if (token !== watchToken) return;
    if (!polled.ok) {
      el.progressBox.hidden = true;
      show(el.resultError, polled.message);
      return;
    }
    if (!renderGeneration(id, polled.body)) watch(id, prompt, times.startedMs);
  }

  el.loadMore.addEventListener("click", () => loadHistory(false));
  el.refreshHistory.addEventListener("click", () => loadHistory(true));

  // ---- start ---------------------------------------------------------------------------------------------

  el.keyInput.value = storedKey();
  renderKeyState();
  if (currentKey()) loadHistory(true);
  else el.historyState.textContent = "Enter a key to see past generations.";
})();
