/*
 * The playground talks to the public API exactly as a client would: small files through
 * POST /v1/convert, larger ones through POST /v1/documents and its status URL, with the API key
 * (when one is given) as Authorization: Bearer. Nothing here is private to the page.
 */
(function () {
  "use strict";

  var POLL_INTERVAL_MS = 700;
  var KEY_STORAGE = "ilios.playground.apiKey";

  var root = document.getElementById("playground");
  var syncLimit = Number(root.dataset.syncLimit);
  var form = document.getElementById("convert-form");
  var fileInput = document.getElementById("file-input");
  var dropZone = document.getElementById("drop-zone");
  var dropText = document.getElementById("drop-text");
  var engineSelect = document.getElementById("engine");
  var apiKeyInput = document.getElementById("api-key");
  var convertButton = document.getElementById("convert-button");
  var progress = document.getElementById("progress");
  var progressBar = document.getElementById("progress-bar");
  var progressText = document.getElementById("progress-text");
  var errorBox = document.getElementById("error");
  var result = document.getElementById("result");
  var resultMeta = document.getElementById("result-meta");
  var rendered = document.getElementById("rendered");
  var raw = document.getElementById("raw");
  var current = { markdown: "", fileName: "" };

  apiKeyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  apiKeyInput.addEventListener("change", function () {
    sessionStorage.setItem(KEY_STORAGE, apiKeyInput.value.trim());
  });

  function chosenFile() {
    return fileInput.files && fileInput.files[0];
  }

  function describeFile() {
    var file = chosenFile();
    dropText.textContent = file
      ? file.name + " (" + formatSize(file.size) + ")"
      : "Drop a PDF or image here, or click to choose one";
  }

  function formatSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  fileInput.addEventListener("change", describeFile);
  ["dragenter", "dragover"].forEach(function (name) {
    dropZone.addEventListener(name, function (event) {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropZone.addEventListener(name, function () { dropZone.classList.remove("dragging"); });
  });
  dropZone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      fileInput.files = event.dataTransfer.files;
      describeFile();
    }
  });

  /* One API call; XMLHttpRequest rather than fetch because only it reports upload progress. */
  function call(method, url, body, onUpload) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      var key = apiKeyInput.value.trim();
      if (key) xhr.setRequestHeader("Authorization", "Bearer " + key);
      xhr.setRequestHeader("Accept", "application/json");
      if (onUpload) {
        xhr.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) onUpload(event.loaded / event.total);
        });
      }
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (ignored) { data = null; }
        resolve({ status: xhr.status, data: data });
      };
      xhr.onerror = function () { reject(new Error("the server could not be reached")); };
      xhr.send(body);
    });
  }

  function apiError(response) {
    var message = response.data && response.data.error && response.data.error.message;
    if (response.status === 401) {
      return new Error("This server needs an API key: paste one in the API key field. " +
        (message || ""));
    }
    return new Error(message || "the server answered " + response.status);
  }

  function showProgress(text, fraction) {
    progress.hidden = false;
    progressText.textContent = text;
    if (fraction === undefined) {
      progressBar.removeAttribute("value");
    } else {
      progressBar.value = Math.round(fraction * 100);
    }
  }

  function uploadProgress(fraction) {
    showProgress("Uploading… " + Math.round(fraction * 100) + " %", fraction);
  }

  function formData(file, extra) {
    var data = new FormData();
    data.append("file", file);
    if (engineSelect.value) data.append("engine", engineSelect.value);
    Object.keys(extra).forEach(function (name) { data.append(name, extra[name]); });
    return data;
  }

  function convertNow(file) {
    showProgress("Uploading…", 0);
    return call("POST", "/v1/convert", formData(file, { format: "json" }), function (fraction) {
      if (fraction < 1) uploadProgress(fraction);
      else showProgress("Converting…");
    }).then(function (response) {
      if (response.status !== 200) throw apiError(response);
      return response.data;
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function submitAndFollow(file) {
    var started = Date.now();
    showProgress("Uploading…", 0);
    return call("POST", "/v1/documents", formData(file, {}), uploadProgress)
      .then(function (response) {
        if (response.status !== 202) throw apiError(response);
        return follow(response.data.id, response.data.statusUrl, started);
      });
  }

  function follow(id, statusUrl, started) {
    return call("GET", statusUrl).then(function (response) {
      if (response.status !== 200) throw apiError(response);
      var state = response.data.status;
      var seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (state === "completed") {
        showProgress("Completed, fetching the Markdown…", 1);
        return call("GET", "/v1/documents/" + encodeURIComponent(id) + "?format=json")
          .then(function (content) {
            if (content.status !== 200) throw apiError(content);
            return content.data;
          });
      }
      if (state === "pending" || state === "processing") {
        showProgress((state === "pending" ? "Queued" : "Converting") + "… " + seconds + " s");
        return sleep(POLL_INTERVAL_MS).then(function () { return follow(id, statusUrl, started); });
      }
      throw new Error("The document is " + state +
        (response.data.error ? ": " + response.data.error : "."));
    });
  }

  function showResult(document_, fileName) {
    var metadata = document_.metadata || {};
    current = { markdown: document_.content || "", fileName: fileName };
    rendered.innerHTML = window.IliosMarkdown.render(current.markdown);
    raw.textContent = current.markdown;
    var facts = [fileName];
    if (metadata.extractedPages !== undefined) facts.push(metadata.extractedPages + " page(s)");
    if (metadata.processingTimeMs !== undefined) facts.push(metadata.processingTimeMs + " ms");
    if (metadata.engine) facts.push("engine " + metadata.engine);
    facts.push("document " + document_.id);
    resultMeta.textContent = facts.join(" · ");
    result.hidden = false;
    progress.hidden = true;
  }

  function showError(error) {
    progress.hidden = true;
    errorBox.textContent = error.message;
    errorBox.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = chosenFile();
    errorBox.hidden = true;
    if (!file) {
      showError(new Error("Choose or drop a file first."));
      return;
    }
    result.hidden = true;
    convertButton.disabled = true;
    var conversion = file.size < syncLimit ? convertNow(file) : submitAndFollow(file);
    conversion
      .then(function (document_) { showResult(document_, file.name); })
      .catch(showError)
      .then(function () { convertButton.disabled = false; });
  });

  function showTab(renderedShown) {
    rendered.hidden = !renderedShown;
    raw.hidden = renderedShown;
    document.getElementById("show-rendered").setAttribute("aria-pressed", String(renderedShown));
    document.getElementById("show-raw").setAttribute("aria-pressed", String(!renderedShown));
  }

  document.getElementById("show-rendered").addEventListener("click", function () { showTab(true); });
  document.getElementById("show-raw").addEventListener("click", function () { showTab(false); });

  document.getElementById("copy-button").addEventListener("click", function (event) {
    var button = event.currentTarget;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(current.markdown).then(done, copyBySelection);
    } else {
      copyBySelection();
      done();
    }
  });

  /* Plain-HTTP pages have no clipboard API; a selected textarea still copies. */
  function copyBySelection() {
    var area = document.createElement("textarea");
    area.value = current.markdown;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  document.getElementById("download-button").addEventListener("click", function () {
    var blob = new Blob([current.markdown], { type: "text/markdown;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = current.fileName.replace(/\.[^.]+$/, "") + ".md";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  });
})();
